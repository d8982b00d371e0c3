#!/usr/bin/env bash
# Set everything up, then build a demo multiboot disk image, ./sik.img (or $1), from ISOs
# made of Debian's own boot code plus memtest86+'s ISO, and show how to boot it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
