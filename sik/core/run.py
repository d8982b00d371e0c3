"""The one way sik runs external programs: argv lists, logged, clean environment, one error."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from sik.core.errors import SikError, ToolError

log = logging.getLogger("sik.core.run")

# Only these variables reach child programs, so a user's locale or GRUB_* settings cannot
# change what mkfs, grub-mkimage or xorriso write.
_PASSED_ENV = ("PATH", "HOME", "TMPDIR", "SOURCE_DATE_EPOCH", "USER", "LOGNAME", "TERM")

Arg = str | os.PathLike[str]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: os.environ[key] for key in _PASSED_ENV if key in os.environ}
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    for sbin in ("/usr/sbin", "/sbin"):
        if sbin not in env["PATH"].split(":"):
            env["PATH"] += ":" + sbin
    env.update(extra or {})
    return env


def run(
    argv: Sequence[Arg],
    *,
    capture: bool = False,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    interactive: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run a program; raise ToolError with its stderr and a pasteable command line on failure.

    Output goes to our stderr unless ``capture`` is set, in which case stdout is returned and
    stderr is kept for the error message. ``interactive`` leaves the program our terminal,
    for one that asks the user something (mokutil's password).
    """
    args = [os.fspath(a) for a in argv]
    command = shlex.join(args)
    log.debug("+ %s", command)
    try:
        result = subprocess.run(
            args,
            input=input,
            stdin=None if input is not None or interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None if interactive else 2,
            stderr=None if interactive else subprocess.PIPE,
            env=clean_env(env),
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolError(
            f"{args[0]} is not installed",
            hint='install the package that provides it (README.md, "Install", lists them)',
        ) from exc
    if result.returncode != 0:
        stderr = (result.stderr or b"").decode(errors="replace").strip()
        last = stderr.splitlines()[-1] if stderr else f"exit status {result.returncode}"
        log.debug("failed (%d): %s\n%s", result.returncode, command, stderr)
        raise ToolError(f"{Path(args[0]).name} failed: {last}", hint=f"command was: {command}")
    if not capture and result.stderr:
        log.debug("%s", result.stderr.decode(errors="replace").rstrip())
    return result


def find_tool(*names: str, reason: str, hint: str) -> Path:
    """Return the first of ``names`` found on PATH (sbin included), or explain what is missing."""
    search = clean_env()["PATH"]
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return Path(found)
    raise ToolError(f"cannot {reason}: none of {', '.join(names)} is installed", hint=hint)


@contextmanager
def while_failing(what: str) -> Iterator[None]:
    """Cleanup run while an error is already on its way up: a failure of the cleanup (a busy
    unmount) is a warning, and the error that caused it is the one the user reads."""
    try:
        yield
    except (SikError, OSError) as exc:
        log.warning("warning: %s failed too: %s", what, getattr(exc, "message", exc))


# The signals sik unwinds on (sik/__main__.py): held while a resource is being set up.
_UNWIND_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextmanager
def signals_held() -> Iterator[Callable[[], None]]:
    """Hold off Ctrl-C, SIGTERM and SIGHUP while a loop device is being set up, and
    yield ``release``, to be called first thing inside the ``try`` whose ``finally`` undoes it:
    a signal in between would leave the device behind with no one to undo it. A signal that
    came meanwhile is delivered at ``release``; leaving the block releases too. The program run
    meanwhile inherits the blocked signals: fine for one that exits (losetup), not for one that
    stays behind as a daemon (a FUSE driver)."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None  # signals only ever reach the main thread
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _UNWIND_SIGNALS)
    held = True

    def release() -> None:
        nonlocal held
        if held:
            held = False
            signal.pthread_sigmask(signal.SIG_SETMASK, before)

    try:
        yield release
    finally:
        release()
