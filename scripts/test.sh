#!/usr/bin/env bash
# Set everything up, then run the whole test suite: unit tests, drive tests and QEMU boot
# tests under SeaBIOS and OVMF. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Fixture ISOs are built once from Debian's packages and cached (~/.cache/sik-tests).
.venv/bin/python -m tests.fixtures.liveisos >&2
exec .venv/bin/python -m pytest -n "${SIK_TEST_JOBS:-2}" --durations=15 "$@"
