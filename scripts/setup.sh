#!/usr/bin/env bash
# Set up everything sik needs on a Debian 12 machine: system packages (as root, only the
# missing ones) and a virtual environment in .venv with sik installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

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
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Reinstall only when the project's metadata changed since the last install.
stamp=.venv/.sik-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip >&2
    .venv/bin/pip install -q -e '.[test]' >&2
    touch "$stamp"
fi
