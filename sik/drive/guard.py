"""Which drive ``sik install DEVICE`` may erase: every refusal is one line and a way out.

What the running system uses is read, not guessed: mounts from /proc/self/mountinfo
(proc(5)), active swap from /proc/swaps, and how block devices stack from sysfs — a partition's
parent directory, ``slaves/`` and ``holders/`` for device-mapper (LVM, LUKS) and md RAID
(Documentation/ABI/stable/sysfs-block), and ``loop/backing_file`` for a filesystem inside an
image file. From those, every disk that carries a mounted filesystem or swap is known, however
deep it sits. The inputs are a plain value (:class:`SystemView`) so tests can hand in their own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sik.core.errors import SikError
from sik.drive.devices import Drive, human_size

# Mount points whose disk is the running system's: never erased, whatever the options.
SYSTEM_MOUNTS = ("/", "/boot", "/boot/efi", "/efi", "/home", "/usr", "/var")


class DeviceRefused(SikError):
    """sik will not erase this device (or not without an explicit option)."""


@dataclass(frozen=True)
class Mount:
    devno: str  # "major:minor" of the mounted block device
    source: str
    mountpoint: str


@dataclass(frozen=True)
class BlockDev:
    name: str
    devno: str
    parent: str | None  # the disk a partition belongs to
    slaves: tuple[str, ...]  # devices a dm/md device is built on
    holders: tuple[str, ...]  # dm/md devices built on this one
    backing_devno: str | None  # a loop device's backing file's (or device's) block device


@dataclass(frozen=True)
class SystemView:
    mounts: tuple[Mount, ...]
    swaps: tuple[str, ...]  # devnos of the devices holding active swap (a partition, or a file's fs)
    blocks: Mapping[str, BlockDev]  # by kernel name

    @classmethod
    def read(
        cls,
        mountinfo: str | None = None,
        swaps: str | None = None,
        sys_block: Path = Path("/sys/class/block"),
    ) -> SystemView:
        """This machine as it is now; any of the inputs may be handed in instead."""
        # surrogateescape: a mount point's name need not be UTF-8.
        if mountinfo is None:
            mountinfo = Path("/proc/self/mountinfo").read_text(errors="surrogateescape")
        if swaps is None:
            swaps = Path("/proc/swaps").read_text(errors="surrogateescape")
        return cls(parse_mountinfo(mountinfo), parse_swaps(swaps), read_blocks(sys_block))

    def by_devno(self, devno: str) -> BlockDev | None:
        return next((b for b in self.blocks.values() if b.devno == devno), None)

    def below(self, name: str) -> set[str]:
        """``name`` and every device it is built on: its disk, dm/md members, a loop device's
        backing device, recursively."""
        found: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            block = self.blocks.get(current)
            if current in found or block is None:
                continue
            found.add(current)
            todo.extend(block.slaves)
            if block.parent:
                todo.append(block.parent)
            if block.backing_devno and (backing := self.by_devno(block.backing_devno)):
                todo.append(backing.name)
        return found

    def below_devno(self, devno: str) -> set[str]:
        block = self.by_devno(devno)
        return self.below(block.name) if block else set()

    def above(self, name: str) -> set[str]:
        """``name``, its partitions and everything built on them (the inverse of below)."""
        return {b for b in self.blocks if name in self.below(b)}


def _devno(st_dev: int) -> str:
    return f"{os.major(st_dev)}:{os.minor(st_dev)}"


def _unescape(field: str) -> str:
    # mountinfo and /proc/swaps escape space, tab, newline and backslash as \ooo.
    return field.encode("latin-1", "backslashreplace").decode("unicode_escape")


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) < 10 or "-" not in fields[6:]:
            continue
        after = fields[fields.index("-", 6) + 1 :]
        devno, source = fields[2], _unescape(after[1]) if len(after) > 1 else ""
        if devno.startswith("0:") and source.startswith("/dev/"):
            # btrfs and some others report an anonymous device number; the source names the disk.
            try:
                devno = _devno(os.stat(source).st_rdev)
            except OSError:
                pass
        mounts.append(Mount(devno, source, _unescape(fields[4])))
    return tuple(mounts)


def parse_swaps(text: str) -> tuple[str, ...]:
    devnos = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 2:
            continue
        try:
            info = os.stat(_unescape(fields[0]))
        except OSError:
            continue
        # A swap partition is the device itself; a swap file lives on its filesystem's device.
        devnos.append(_devno(info.st_rdev if stat.S_ISBLK(info.st_mode) else info.st_dev))
    return tuple(devnos)


def _listdir(path: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(p.name for p in path.iterdir()))
    except OSError:
        return ()


def _backing_devno(sys_dir: Path) -> str | None:
    try:
        backing = (sys_dir / "loop" / "backing_file").read_text().strip()
        info = os.stat(backing.removesuffix(" (deleted)"))
    except OSError:
        return None
    return _devno(info.st_rdev if stat.S_ISBLK(info.st_mode) else info.st_dev)


def read_blocks(sys_block: Path) -> dict[str, BlockDev]:
    blocks = {}
    for entry in _listdir(sys_block):
        sys_dir = sys_block / entry
        try:
            devno = (sys_dir / "dev").read_text().strip()
        except OSError:
            continue
        # A partition's sysfs directory sits inside its disk's (…/block/sda/sda1).
        parent = sys_dir.resolve().parent.name if (sys_dir / "partition").exists() else None
        blocks[entry] = BlockDev(
            name=entry,
            devno=devno,
            parent=parent,
            slaves=_listdir(sys_dir / "slaves"),
            holders=_listdir(sys_dir / "holders"),
            backing_devno=_backing_devno(sys_dir),
        )
    return blocks


@dataclass(frozen=True)
class Target:
    """A device that passed every check, and what was found on it."""

    drive: Drive
    mounted: tuple[str, ...]  # mount points to unmount first (with --unmount)


def block_name(view: SystemView, path: Path) -> str:
    """The kernel name of the block device at ``path`` (a /dev node or a symlink to one)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DeviceRefused(f"{path} does not exist", hint="see `sik devices` for the drives") from exc
    if not stat.S_ISBLK(info.st_mode):
        raise DeviceRefused(
            f"{path} is not a block device",
            hint="name a drive from `sik devices`, or an image file with --image FILE",
        )
    block = view.by_devno(_devno(info.st_rdev))
    if block is None:
        raise DeviceRefused(f"{path} is not known to the kernel (/sys/class/block)")
    return block.name


def whole_disk(view: SystemView, path: Path) -> str:
    """The kernel name of the drive at ``path``; a partition, a missing path or a file is refused."""
    name = block_name(view, path)
    parent = view.blocks[name].parent
    if parent:
        raise DeviceRefused(
            f"{path} is a partition of /dev/{parent}", hint=f"name the whole drive, /dev/{parent}"
        )
    return name


def _system_disks(view: SystemView) -> dict[str, str]:
    """Every device below a system mount or active swap, with what it holds."""
    users: dict[str, str] = {}
    for mount in view.mounts:
        if mount.mountpoint in SYSTEM_MOUNTS:
            for name in view.below_devno(mount.devno):
                users.setdefault(name, mount.mountpoint)
    for devno in view.swaps:
        for name in view.below_devno(devno):
            users.setdefault(name, "swap")
    return users


def check_target(
    view: SystemView, path: Path, drive: Drive, *, needed: int, force: bool, unmount: bool
) -> Target:
    """Refuse ``path`` unless it is a whole drive sik may erase; say why in one line."""
    name = whole_disk(view, path)
    holds = _system_disks(view).get(name)
    if holds:
        what = "active swap" if holds == "swap" else f"the running system's {holds}"
        raise DeviceRefused(
            f"{path} holds {what}; sik never erases the disk it runs from",
            hint="name the USB drive instead (see `sik devices`)",
        )
    mounted = tuple(m.mountpoint for m in view.mounts if name in view.below_devno(m.devno))
    if mounted and not unmount:
        raise DeviceRefused(
            f"{path} has mounted filesystems: {', '.join(mounted)}",
            hint="unmount them, or pass --unmount to let sik do it",
        )
    users = sorted(h for b in view.above(name) for h in view.blocks[b].holders)
    if users and not mounted:
        raise DeviceRefused(
            f"{path} is in use by {', '.join(users)} (LVM, LUKS or RAID)",
            hint="deactivate it first (vgchange -an, cryptsetup close, mdadm --stop)",
        )
    if not (drive.removable or drive.is_usb) and not force:
        transport = drive.transport or "unknown transport"
        raise DeviceRefused(
            f"{path} is a fixed disk ({transport}, not removable); sik expects a USB drive",
            hint="pass --force if you really mean this disk",
        )
    if drive.size < needed:
        raise DeviceRefused(
            f"{path} is too small: {human_size(drive.size)}, a sik stick needs {human_size(needed)}",
            hint="use a bigger drive",
        )
    return Target(drive, mounted)
