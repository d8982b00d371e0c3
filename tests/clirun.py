"""One way for tests to run sik's commands, each asserting the exact exit code the command
should give: 0, 1 (refused), 2 (usage) or 3 (menu written, some ISOs skipped). A helper that
accepted "0 or 3" for every command would let a regression that skips the very ISO under test
pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from sik.cli import app

ROOT = Path(__file__).resolve().parents[1]
OK, REFUSED, USAGE, SKIPPED = 0, 1, 2, 3


def sik(*args: str | Path, code: int = OK, input: str | None = None) -> Result:
    """Run sik in this process (fast); ``code`` is the exit code the test expects."""
    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    assert result.exit_code == code, (
        f"sik {' '.join(map(str, args))}: exit {result.exit_code}, expected {code}: "
        f"{result.exception or ''} {result.output}"
    )
    return result


def run_sik(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run sik as a user does, as its own process (``python -m sik``); the caller checks the
    exit code (``sik_process`` does it for you)."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="400") | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "sik", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,  # a cyclic ISO must not hang sik
    )


def sik_process(
    *args: str | Path,
    code: int = OK,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``run_sik``, and check that it exits with ``code``."""
    result = run_sik(*args, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == code, (
        f"sik {' '.join(map(str, args))}: exit {result.returncode}, expected {code}:\n{result.stderr}"
    )
    return result
