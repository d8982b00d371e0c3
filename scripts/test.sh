#!/usr/bin/env bash
# Set everything up, then run the whole test suite: unit tests, drive tests and QEMU boot
# tests under SeaBIOS and OVMF. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Fixture ISOs are built once from Debian's packages and cached (~/.cache/sik-tests).
.venv/bin/python -m tests.fixtures.liveisos >&2
# worksteal: a worker that runs out of tests takes pending ones from the other, so a queue of
# long boot tests never runs on one core while the other sits idle at the end.
exec .venv/bin/python -m pytest -n "${SIK_TEST_JOBS:-2}" --dist worksteal --durations=25 "$@"
