"""SIGTERM and SIGHUP unwind like Ctrl-C (issue 13, item 12): `sik` killed in the middle of a
command on an image leaves no mount and no loop device of that image behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sik.core.run import run
from tests.clirun import ROOT, sik
from tests.isobuilder import LOOPBACK, build_iso
from tests.loopdev import loops_backed_by

pytestmark = pytest.mark.root


def _mounts_of(loops: list[str]) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line.split(" ")[4] for line in lines for name in loops if f" /dev/{name} " in line]


def _leave_nothing(image: Path) -> None:
    """What the test's own cleanup must do when sik did not (before the fix)."""
    for mountpoint in _mounts_of(loops_backed_by(image)):
        run(["umount", mountpoint])
    for name in loops_backed_by(image):
        run(["losetup", "--detach", f"/dev/{name}"])


@pytest.mark.parametrize(
    ("signum", "when"),
    [(signal.SIGTERM, "attached"), (signal.SIGTERM, "mounted"), (signal.SIGHUP, "mounted")],
)
def test_a_killed_command_leaves_no_mount_and_no_loop_device(
    tmp_path: Path, signum: int, when: str
) -> None:
    """Killed as soon as its loop device exists (losetup or mount may still be running), or
    once the stick is mounted (in the middle of the copy)."""
    image = tmp_path / "sik.img"
    sik("install", "--image", image, "--size", "700M")
    big = build_iso(tmp_path / "big.iso", LOOPBACK)
    with big.open("r+b") as grow:  # room for a copy that lasts: zeros after the volume
        grow.truncate(400 * 2**20)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "sik", "add", "--image", image, big],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )

    def _mounted() -> list[str]:
        return _mounts_of(loops_backed_by(image))

    try:
        deadline = time.monotonic() + 60
        ready = (lambda: loops_backed_by(image)) if when == "attached" else _mounted
        while not ready():
            assert process.poll() is None and time.monotonic() < deadline, "sik never mounted"
            time.sleep(0.01)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 128 + signum, stderr
        assert f"interrupted ({signal.Signals(signum).name})" in stderr
        left = loops_backed_by(image)
        assert left == [], f"{left} left attached, mounted on {_mounted()}; sik said: {stderr}"
    finally:
        process.kill()
        process.wait()
        _leave_nothing(image)
