"""--image FILE / --stick DIR -> a mounted Stick, for as long as a command needs it."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sik.core.errors import StickError, ToolError
from sik.core.model import FsType
from sik.core.run import run
from sik.core.stick import Stick

if TYPE_CHECKING:
    from sik.drive.guard import SystemView

DEFAULT_IMAGE = Path("sik.img")

_FINDMNT_TYPES = {"ext4": FsType.ext4, "exfat": FsType.exfat, "vfat": FsType.fat32}


@contextlib.contextmanager
def open_stick(image: Path | None, stick: Path | None) -> Iterator[Stick]:
    """The stick a command works on, checked to be a sik stick; commands that write also
    ``claim`` it (sik/core/stick.py)."""
    if image is not None and stick is not None:
        raise StickError("give either --image or --stick, not both")
    if stick is not None:
        mount = _findmnt(stick)
        fs = _FINDMNT_TYPES.get(mount.get("FSTYPE", ""))
        opened = Stick(root=stick, fs=fs, uuid=_mounted_uuid(mount))
        opened.check()
        yield opened
        return
    target = image if image is not None else DEFAULT_IMAGE
    from sik.drive.guard import is_block_device

    if is_block_device(target):
        with _device_stick(target) as opened:
            yield opened
        return
    if not target.exists():
        raise StickError(
            f"{target} does not exist",
            hint="run `sik install` to make it, or pass --image FILE or --stick DIR",
        )
    from sik.drive.layout import read_layout
    from sik.drive.mount import mounted_data_partition

    layout = read_layout(target)
    with mounted_data_partition(layout) as root:
        opened = Stick(root=root, fs=layout.data_fs, uuid=layout.data_uuid)
        opened.check()
        yield opened


@contextlib.contextmanager
def _device_stick(device: Path) -> Iterator[Stick]:
    """``--image /dev/sdX``: the guard rails of `sik install DEVICE` that apply to a stick kept,
    not erased (never the running system's disk, nothing built on it); then its data
    partition where it is already mounted (a desktop mounts sticks on its own), or mounted by
    sik while sik holds the drive exclusively. One filesystem is never mounted twice."""
    from sik.drive.guard import (
        DeviceRefused,
        SystemView,
        exclusive,
        mounts_on,
        refuse_system_disk,
    )
    from sik.drive.layout import read_layout
    from sik.drive.mount import mounted_data_partition

    view = SystemView.read()
    name = refuse_system_disk(view, device)
    layout = read_layout(device)
    where = data_mount(view, name, layout.data.start)
    if where is not None:
        with open_stick(None, Path(where)) as opened:
            yield opened
        return
    others = [m.mountpoint for m in mounts_on(view, name)]
    if others:  # the ESP, say: sik could not hold the drive exclusively
        raise DeviceRefused(
            f"{device} has mounted filesystems other than its data partition: {', '.join(others)}",
            hint="unmount them, or mount the data partition and pass --stick MOUNTPOINT",
        )
    with exclusive(device), mounted_data_partition(layout) as root:
        opened = Stick(root=root, fs=layout.data_fs, uuid=layout.data_uuid)
        opened.check()
        yield opened


def data_mount(view: SystemView, disk: str, data_start: int) -> str | None:
    """Where the data partition (starting ``data_start`` bytes into ``disk``) is mounted now:
    through its partition node or a loop device at its offset; None when it is not. A
    filesystem built on it (LUKS, LVM) is refused: sik cannot tell what is inside."""
    from sik.drive.guard import DeviceRefused, mounts_on, offset_on

    users = sorted(h for b in view.above(disk) for h in view.blocks[b].holders)
    if users:
        raise DeviceRefused(
            f"/dev/{disk} is in use by {', '.join(users)} (LVM, LUKS or RAID)",
            hint="a sik stick holds plain filesystems; name the right drive",
        )
    for mount in mounts_on(view, disk):
        block = view.by_devno(mount.devno)
        if block is not None and offset_on(view, block.name, disk) == data_start:
            return mount.mountpoint
    return None


@dataclass(frozen=True)
class StickDisk:
    """A stick opened to be booted as a whole disk: its mounted data partition, and the disk
    (image file or device) with the byte where that partition begins."""

    stick: Stick
    disk: Path
    data_start: int


@contextlib.contextmanager
def open_stick_disk(image: Path | None, stick: Path | None) -> Iterator[StickDisk]:
    """Like ``open_stick``, for reading only: an image's data partition is mounted through a
    read-only loop device, so the image keeps every byte; a mounted drive is synced so its
    device holds what its files say."""
    if image is not None and stick is not None:
        raise StickError("give either --image or --stick, not both")
    if stick is not None:
        mount = _findmnt(stick)
        disk, start = _disk_of(mount.get("SOURCE", ""), stick)
        os.sync()
        fs = _FINDMNT_TYPES.get(mount.get("FSTYPE", ""))
        opened = Stick(root=stick, fs=fs, uuid=_mounted_uuid(mount))
        opened.check()
        yield StickDisk(opened, disk, start)
        return
    target = image if image is not None else DEFAULT_IMAGE
    if not target.exists():
        raise StickError(f"{target} does not exist", hint="pass --image FILE or --stick DIR")
    from sik.drive.layout import read_layout
    from sik.drive.mount import mounted_data_partition

    layout = read_layout(target)
    from sik.drive.guard import SystemView, is_block_device, refuse_system_disk

    if is_block_device(target):
        # The guard rails of `--image /dev/sdX`; a data partition the desktop mounted is read
        # through that mount, never mounted a second time.
        view = SystemView.read()
        where = data_mount(view, refuse_system_disk(view, target), layout.data.start)
        if where is not None:
            os.sync()
            opened = Stick(root=Path(where), fs=layout.data_fs, uuid=layout.data_uuid)
            opened.check()
            yield StickDisk(opened, target, layout.data.start)
            return
    with mounted_data_partition(layout, read_only=True) as root:
        opened = Stick(root=root, fs=layout.data_fs, uuid=layout.data_uuid)
        opened.check()
        yield StickDisk(opened, target, layout.data.start)


def _disk_of(source: str, mountpoint: Path) -> tuple[Path, int]:
    """The whole disk behind a mounted partition and the partition's first byte: a partition
    of a drive (sysfs names its disk), or a loop device over part of an image file."""
    block = Path("/sys/class/block") / Path(source).name
    if source.startswith("/dev/") and (block / "partition").is_file():
        start = int((block / "start").read_text()) * 512
        return Path("/dev") / block.resolve().parent.name, start
    if source.startswith("/dev/loop") and (block / "loop" / "backing_file").is_file():
        backing = Path((block / "loop" / "backing_file").read_text().strip())
        return backing, int((block / "loop" / "offset").read_text())
    raise StickError(
        f"cannot tell which disk holds {mountpoint} (mounted from {source or 'nothing'})",
        hint="pass the stick's mount point, e.g. /media/usb, or --image FILE",
    )


def _mounted_uuid(mount: dict[str, str]) -> str | None:
    """The filesystem UUID of the mount, the one place sik reads it for --stick: findmnt's
    answer; for FUSE mounts (exfat-fuse, fusefat), which findmnt knows no UUID of, blkid on the
    mounted device, else udev's /dev/disk/by-uuid link to it."""
    uuid, source = mount.get("UUID"), mount.get("SOURCE")
    if uuid or not source or not source.startswith("/dev/"):
        return uuid
    try:
        probed = run(["blkid", "-o", "value", "-s", "UUID", source], capture=True).stdout
    except ToolError:  # blkid missing, or the device not readable by this user
        probed = b""
    if probed.strip():
        return probed.decode().strip()
    by_uuid = Path("/dev/disk/by-uuid")
    if not by_uuid.is_dir():
        return None
    device = Path(source).resolve()
    return next((link.name for link in sorted(by_uuid.iterdir()) if link.resolve() == device), None)


_PAIR = re.compile(rb'([A-Z]+)="([^"]*)"')
_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")  # how -P spells a quote, a space, ...


def _findmnt(directory: Path) -> dict[str, str]:
    """Filesystem type, UUID and device of the mount holding ``directory``, in one findmnt run;
    empty or missing values are left out (FUSE mounts have no UUID)."""
    argv: list[str | Path] = ["findmnt", "-n", "-P", "-o", "FSTYPE,UUID,SOURCE", "--target", directory]
    try:
        out = run(argv, capture=True).stdout
    except ToolError:  # findmnt missing, or the path is not mounted: the values stay unknown
        return {}
    return {
        key.decode(): _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), value).decode(
            "utf-8", "surrogateescape"
        )
        for key, value in _PAIR.findall(out.split(b"\n", 1)[0])
        if value
    }
