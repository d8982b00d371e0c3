#!/usr/bin/env bash
# Set up everything sik needs on a Debian 12 machine: system packages (as root, only the
# missing ones) and a virtual environment in .venv with sik installed in editable mode.
# apt and pip are quiet: their output is shown only when they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# Run a command with its output kept aside; show it, and fail, only if the command fails.
quietly() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "setup failed: $*" >&2
        return 1
    fi
    rm -f "$log"
}

wanted=$(grep -v '^#' scripts/system-packages.txt | grep -v '^$')
missing=()
for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "sik needs these Debian packages: ${missing[*]}" >&2
        echo "run: sudo apt-get install ${missing[*]}   (or rerun this script as root)" >&2
        exit 1
    fi
    echo "installing Debian packages: ${missing[*]}" >&2
    quietly apt-get update
    quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Reinstall only when the project's metadata changed since the last install.
stamp=.venv/.sik-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing sik and its Python dependencies into .venv" >&2
    quietly .venv/bin/pip install --upgrade pip
    quietly .venv/bin/pip install -e '.[test]'
    touch "$stamp"
fi
