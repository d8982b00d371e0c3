#!/bin/sh
# Build the benchmark's inputs once (cached in ~/.cache/sik-bench), measure sik against its
# peers, print the table and write benchmarks/RESULTS.md. Arguments go to `python -m benchmarks`.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m benchmarks "$@"
