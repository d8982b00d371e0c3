"""Real loop devices for the device tests: attached for one test, detached after it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sik.core.run import run


@contextmanager
def loop_device(backing: Path, size: int, *, sparse: bool = True) -> Iterator[Path]:
    """A loop device over a new file of ``size`` bytes (allocated when not ``sparse``: swap
    refuses files with holes)."""
    with backing.open("wb") as image:
        if sparse:
            image.truncate(size)
        else:
            os.posix_fallocate(image.fileno(), 0, size)
    device = Path(run(["losetup", "--find", "--show", backing], capture=True).stdout.decode().strip())
    try:
        yield device
    finally:
        partitions = list(Path("/sys/class/block").glob(f"{device.name}p*"))
        if partitions:
            run(["partx", "--delete", device])
        run(["losetup", "--detach", device])


@contextmanager
def mounted_ext4(work: Path, size: int) -> Iterator[Path]:
    """A real ext4 filesystem of ``size`` bytes on a loop device, mounted on work/mnt."""
    mountpoint = work / "mnt"
    mountpoint.mkdir()
    with loop_device(work / "fs.img", size) as device:
        run(["mkfs.ext4", "-q", "-F", "-m", "0", device])
        run(["mount", device, mountpoint])
        try:
            yield mountpoint
        finally:
            run(["umount", mountpoint])


def loops_backed_by(backing: Path) -> list[str]:
    """The loop devices attached to ``backing`` now (sysfs loop/backing_file)."""
    found = []
    for entry in Path("/sys/class/block").glob("loop*/loop/backing_file"):
        if entry.read_text().strip() == os.fspath(backing):
            found.append(entry.parents[1].name)
    return found
