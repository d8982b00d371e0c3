"""--image FILE / --stick DIR -> a mounted Stick, for as long as a command needs it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sik.errors import StickError, ToolError
from sik.model import FsType
from sik.run import run
from sik.stick import Stick

DEFAULT_IMAGE = Path("sik.img")

_FINDMNT_TYPES = {"ext4": FsType.ext4, "exfat": FsType.exfat, "vfat": FsType.fat32}


@contextlib.contextmanager
def open_stick(image: Path | None, stick: Path | None) -> Iterator[Stick]:
    if image is not None and stick is not None:
        raise StickError("give either --image or --stick, not both")
    if stick is not None:
        yield Stick(root=stick, fs=_mounted_fs(stick), uuid=_mounted_uuid(stick))
        return
    target = image if image is not None else DEFAULT_IMAGE
    if not target.exists():
        raise StickError(
            f"{target} does not exist",
            hint="run `sik install` to make it, or pass --image FILE or --stick DIR",
        )
    from sik.drive import read_layout
    from sik.mount import mounted_data_partition

    layout = read_layout(target)
    with mounted_data_partition(layout) as root:
        yield Stick(root=root, fs=layout.data_fs, uuid=layout.data_uuid)


def _mounted_fs(directory: Path) -> FsType | None:
    """The filesystem of a mounted directory, when findmnt can tell (FUSE mounts can't)."""
    return _FINDMNT_TYPES.get(_findmnt(directory, "FSTYPE") or "")


def _mounted_uuid(directory: Path) -> str | None:
    """The filesystem UUID of the mount holding ``directory``: findmnt's answer, else udev's
    /dev/disk/by-uuid link to the mounted device."""
    uuid = _findmnt(directory, "UUID")
    source = _findmnt(directory, "SOURCE")
    by_uuid = Path("/dev/disk/by-uuid")
    if uuid or not source or not source.startswith("/dev/") or not by_uuid.is_dir():
        return uuid
    device = Path(source).resolve()
    return next((link.name for link in sorted(by_uuid.iterdir()) if link.resolve() == device), None)


def _findmnt(directory: Path, column: str) -> str | None:
    try:
        out = run(["findmnt", "-n", "-o", column, "--target", directory], capture=True).stdout
    except ToolError:  # findmnt missing, or the path is not mounted: the value stays unknown
        return None
    return out.decode().strip() or None
