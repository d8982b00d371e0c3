"""Which drive ``sik install DEVICE`` may erase: every refusal is one line and a way out.

What the running system uses is read, not guessed: mounts from /proc/self/mountinfo
(proc(5)), active swap from /proc/swaps, and how block devices stack from sysfs — a partition's
parent directory, ``slaves/`` and ``holders/`` for device-mapper (LVM, LUKS) and md RAID
(Documentation/ABI/stable/sysfs-block), and ``loop/backing_file`` for a filesystem inside an
image file. From those, every disk that carries a mounted filesystem or swap is known, however
deep it sits. The inputs are a plain value (:class:`SystemView`) so tests can hand in their own.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sik.core.errors import SikError
from sik.drive.devices import Drive, human_size

# Mount points whose disk is the running system's: never erased, whatever the options. Besides
# an installed system's own, where live systems keep the medium they booted from: live-boot
# (/run/live/medium, /run/live/findiso), dracut's dmsquash-live and iso-scan
# (/run/initramfs/live, /run/initramfs/isoscan), casper (/cdrom, /isodevice), archiso
# (/run/archiso/bootmnt, /run/archiso/img_dev) and a system booted from a sik stick
# (/run/sik/stick, where sik's initrd hook mounts the data partition).
SYSTEM_MOUNTS = (
    "/",
    "/boot",
    "/boot/efi",
    "/efi",
    "/home",
    "/usr",
    "/var",
    "/run/live/medium",
    "/run/live/findiso",
    "/run/initramfs/live",
    "/run/initramfs/isoscan",
    "/cdrom",
    "/isodevice",
    "/run/archiso/bootmnt",
    "/run/archiso/img_dev",
    "/run/sik/stick",
)
# overlayfs options that name the directories an overlay is built from (overlayfs.rst).
_OVERLAY_DIRS = ("lowerdir", "upperdir", "workdir")


class DeviceRefused(SikError):
    """sik will not erase this device (or not without an explicit option)."""


@dataclass(frozen=True)
class Mount:
    devno: str  # "major:minor" of the mounted block device
    source: str
    mountpoint: str
    fstype: str = ""
    options: str = ""  # the superblock's options (mountinfo's last field): overlayfs' dirs

    def overlay_dirs(self) -> tuple[str, ...]:
        """The directories an overlayfs mount is made of (lower ones are ':'-separated)."""
        if self.fstype != "overlay":
            return ()
        dirs: list[str] = []
        for option in self.options.split(","):
            key, _, value = option.partition("=")
            if key in _OVERLAY_DIRS and value:
                dirs += value.split(":")
        return tuple(dirs)


@dataclass(frozen=True)
class BlockDev:
    name: str
    devno: str
    parent: str | None  # the disk a partition belongs to
    slaves: tuple[str, ...]  # devices a dm/md device is built on
    holders: tuple[str, ...]  # dm/md devices built on this one
    backing_devno: str | None  # a loop device's backing file's (or device's) block device
    start: int | None = None  # bytes into the device below: a partition's start, a loop's offset


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
        fstype, options = after[0], _unescape(after[2]) if len(after) > 2 else ""
        mounts.append(Mount(devno, source, _unescape(fields[4]), fstype, options))
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


def _start(sys_dir: Path) -> int | None:
    """Where the device begins on the one below it, in bytes: sysfs gives a partition's start
    in 512-byte units whatever the disk's sector size, and a loop device's offset in bytes."""
    for name, unit in (("start", 512), ("loop/offset", 1)):
        try:
            return int((sys_dir / name).read_text()) * unit
        except (OSError, ValueError):
            continue
    return None


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
            start=_start(sys_dir),
        )
    return blocks


@dataclass(frozen=True)
class Target:
    """A device that passed every check, and what was found on it."""

    drive: Drive
    mounted: tuple[str, ...]  # mount points to unmount first (with --unmount)


def is_block_device(path: Path) -> bool:
    try:
        return stat.S_ISBLK(path.stat().st_mode)
    except OSError:
        return False


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


def _mount_holding(view: SystemView, path: str) -> Mount | None:
    """The mount a path lies on: the one with the longest mount point above it."""
    above = [
        m for m in view.mounts if path == m.mountpoint or path.startswith(m.mountpoint.rstrip("/") + "/")
    ]
    return max(above, key=lambda m: len(m.mountpoint), default=None)


def _system_devnos(view: SystemView) -> dict[str, str]:
    """The device numbers behind every system mount, with the mount point each serves. An
    overlay root (a live system, a container) has no device of its own: the mounts holding its
    lower and upper directories stand for it, recursively."""
    found: dict[str, str] = {}
    todo = [(m, m.mountpoint) for m in view.mounts if m.mountpoint in SYSTEM_MOUNTS]
    seen: set[str] = set()
    while todo:
        mount, serves = todo.pop()
        if mount.mountpoint in seen and not mount.overlay_dirs():
            continue
        seen.add(mount.mountpoint)
        found.setdefault(mount.devno, serves)
        for directory in mount.overlay_dirs():
            holder = _mount_holding(view, directory)
            if holder is not None and holder is not mount and holder.mountpoint not in seen:
                todo.append((holder, serves))
    return found


def _system_disks(view: SystemView) -> dict[str, str]:
    """Every device below a system mount or active swap, with what it holds."""
    users: dict[str, str] = {}
    for devno, serves in _system_devnos(view).items():
        for name in view.below_devno(devno):
            users.setdefault(name, serves)
    for devno in view.swaps:
        for name in view.below_devno(devno):
            users.setdefault(name, "swap")
    return users


def _zfs_system(view: SystemView) -> str | None:
    """The system mount point a ZFS dataset serves, if any: a pool's devices are not in
    sysfs' holders, so any disk carrying a zfs_member partition is then taken for a member."""
    return next(
        (m.mountpoint for m in view.mounts if m.mountpoint in SYSTEM_MOUNTS and m.fstype == "zfs"), None
    )


def is_fixed(drive: Drive) -> bool:
    """A disk that is not a removable flash drive: internal disks, and USB-attached hard disks
    (rotational, or not reporting removable media), the backup drive a wrong name would erase."""
    return drive.rotational or not drive.removable


def refuse_system_disk(view: SystemView, path: Path, drive: Drive | None = None) -> str:
    """The kernel name of the whole drive at ``path``; refused when the running system, its
    live medium or active swap lives on it, or when LVM, LUKS or RAID is built on it."""
    name = whole_disk(view, path)
    holds = _system_disks(view).get(name)
    zfs = _zfs_system(view)
    if holds is None and zfs and drive and any(p.fstype == "zfs_member" for p in drive.partitions):
        holds = zfs
    if holds:
        what = "active swap" if holds == "swap" else f"the running system's {holds}"
        raise DeviceRefused(
            f"{path} holds {what}; sik never erases the disk it runs from",
            hint="name the USB drive instead (see `sik devices`)",
        )
    return name


def mounts_on(view: SystemView, name: str) -> tuple[Mount, ...]:
    """Mounts of ``name`` itself, its partitions and anything built on them."""
    return tuple(m for m in view.mounts if name in view.below_devno(m.devno))


def offset_on(view: SystemView, device: str, disk: str) -> int | None:
    """Where ``device`` (a partition of ``disk``, a loop device over it or over one of its
    partitions) begins on ``disk``, in bytes; None when it is not on ``disk``."""
    total, current = 0, device
    while current != disk:
        block = view.blocks.get(current)
        if block is None or block.start is None:
            return None
        below = block.parent
        if below is None and block.backing_devno:
            backing = view.by_devno(block.backing_devno)
            below = backing.name if backing else None
        if below is None:
            return None
        total, current = total + block.start, below
    return total


def check_target(
    view: SystemView, path: Path, drive: Drive, *, needed: int, allow_fixed: bool, unmount: bool
) -> Target:
    """Refuse ``path`` unless it is a whole drive sik may erase; say why in one line."""
    name = refuse_system_disk(view, path, drive)
    mounted = tuple(m.mountpoint for m in mounts_on(view, name))
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
    if is_fixed(drive) and not allow_fixed:
        transport = drive.transport or "unknown transport"
        kind = "a hard disk" if drive.rotational else "not removable"
        raise DeviceRefused(
            f"{path} is a fixed disk ({transport}, {kind}); sik expects a USB flash drive",
            hint="pass --allow-fixed-disk if you really mean this disk",
        )
    if drive.size < needed:
        raise DeviceRefused(
            f"{path} is too small: {human_size(drive.size)}, a sik stick needs {human_size(needed)}",
            hint="use a bigger drive",
        )
    return Target(drive, mounted)


def identity(drive: Drive) -> tuple[str, int, str | None, str | None]:
    """What says a drive is still the one the user confirmed: device number, size, model and
    serial number."""
    return (drive.devno, drive.size, drive.model, drive.serial)


def check_unchanged(path: Path, confirmed: Drive, now: Drive) -> None:
    """Refuse when the drive at ``path`` is no longer the one shown at the prompt (a stick
    swapped, or another one plugged in and given the same name)."""
    if identity(now) != identity(confirmed):
        was = ", ".join(str(v) for v in identity(confirmed))
        is_now = ", ".join(str(v) for v in identity(now))
        raise DeviceRefused(
            f"{path} changed while you confirmed it (was {was}; now {is_now}): nothing was changed",
            hint="check which drive is which with `sik devices`, then run sik install again",
        )


@contextmanager
def exclusive(path: Path) -> Iterator[int]:
    """Hold ``path`` open with O_EXCL while sik writes to it: the kernel then refuses to mount
    it or any of its partitions meanwhile, and the open itself fails when something already
    has (in any mount namespace, which /proc/self/mountinfo would not show)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise DeviceRefused(
                f"{path} is in use: mounted (perhaps in another namespace) or held by a program",
                hint=f"unmount it and close what uses it (see `lsof {path}`), then try again",
            ) from exc
        raise DeviceRefused(f"cannot open {path}: {exc.strerror}") from exc
    try:
        yield fd
    finally:
        os.close(fd)
