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

pytestmark = pytest.mark.root


def _loops_of(image: Path) -> list[str]:
    names = []
    for backing in Path("/sys/class/block").glob("loop*/loop/backing_file"):
        if backing.read_text().strip() == os.fspath(image):
            names.append(backing.parents[1].name)
    return names


def _mounts_of(loops: list[str]) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line.split(" ")[4] for line in lines for name in loops if f" /dev/{name} " in line]


def _leave_nothing(image: Path) -> None:
    """What the test's own cleanup must do when sik did not (before the fix)."""
    for mountpoint in _mounts_of(_loops_of(image)):
        run(["umount", mountpoint])
    for name in _loops_of(image):
        run(["losetup", "--detach", f"/dev/{name}"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_killed_command_leaves_no_mount_and_no_loop_device(tmp_path: Path, signum: int) -> None:
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
    try:
        deadline = time.monotonic() + 60
        while not _mounts_of(_loops_of(image)):
            assert process.poll() is None and time.monotonic() < deadline, "sik never mounted"
            time.sleep(0.01)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 128 + signum, stderr
        assert f"interrupted ({signal.Signals(signum).name})" in stderr
        assert _loops_of(image) == []
    finally:
        process.kill()
        process.wait()
        _leave_nothing(image)
