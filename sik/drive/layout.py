"""The disk layout of a sik stick: GPT, partitions and filesystems, on an image file or a device.

One code path serves both: partitions are reached through loop devices attached at an offset
of the whole target (``losetup --offset --sizelimit``), never through ``/dev/sdX3`` or
``losetup -P``, because partition nodes are not created everywhere (containers, some CI
kernels) and the same offsets work on a regular file and on a block device.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import parted  # pyparted ships no type hints

from sik.core.errors import DriveError, StickError, ToolError
from sik.core.model import FsType
from sik.core.run import find_tool, run, signals_held, while_failing

log = logging.getLogger("sik.drive.layout")

MIB = 1024**2
# Partitions start and end on 1 MiB boundaries, as parted, fdisk and Windows place them: a
# multiple of flash pages and of most erase blocks and RAID stripes.
ALIGNMENT = MIB
BIOS_BOOT_SIZE = 1 * MIB
# 100 MiB is the smallest ESP that Windows' own tools create and accept on 512-byte-sector
# disks, so firmware that is fussy about ESP sizes has seen it; it is far above FAT32's minimum
# (65,525 clusters, about 33 MiB with 512-byte clusters), and leaves room next to our ~200 KiB
# BOOTX64.EFI for a signed shim, memtest86+'s EFI image or a firmware update later on.
ESP_SIZE = 100 * MIB
MIN_DATA_SIZE = 64 * MIB
# The 1 MiB gap before partition 1 (the GPT), the three partitions, and the last MiB, where the
# backup GPT lives (the data partition ends on the MiB boundary before it).
MIN_DISK_SIZE = ALIGNMENT + BIOS_BOOT_SIZE + ESP_SIZE + MIN_DATA_SIZE + ALIGNMENT

ESP_LABEL = "SIK-EFI"
BIOS_SECTOR = 512  # GRUB_DISK_SECTOR_SIZE

# pyparted's exceptions share no base class; these are the ones its calls here can raise.
_PARTED_ERRORS = (
    parted.IOException,
    parted.DeviceException,
    parted.DiskException,
    parted.DiskLabelException,
    parted.PartitionException,
    parted.ConstraintException,
    parted.GeometryException,
    parted.CreateException,
    parted.PartedException,
)

# The longest volume label each filesystem stores: FAT 11 bytes in the boot sector, exFAT 11
# UTF-16 characters in its volume label entry, ext4 16 bytes in the superblock.
_LABEL_MAX = {FsType.ext4: 16, FsType.exfat: 11, FsType.fat32: 11}


class Role(StrEnum):
    """The three partitions of a sik disk, valued by their GPT partition name."""

    bios_boot = "BIOS boot"
    esp = "SIK-EFI"
    data = "SIK-DATA"

    def flags(self) -> tuple[str, ...]:
        """libparted flag names; on GPT they select the partition type GUID.

        bios_grub gives 21686148-…-"Hah!IdontNeedEFI", where GRUB's core image may live;
        boot+esp give C12A7328-… (EFI System). The data partition's type is set by ``format``,
        because it depends on the filesystem.
        """
        return {Role.bios_boot: ("bios_grub",), Role.esp: ("boot", "esp"), Role.data: ()}[self]


@dataclass(frozen=True)
class PartitionSpan:
    """Where one partition lies on the target, in bytes."""

    number: int
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class DriveLayout:
    target: Path
    bios_boot: PartitionSpan
    esp: PartitionSpan
    data: PartitionSpan
    data_fs: FsType | None = None
    data_uuid: str | None = None
    esp_uuid: str | None = None
    sector_size: int = 512  # the target's logical sector size, as libparted reads it


# --- image files -------------------------------------------------------------------------------


def create_image(path: Path, size: int, *, overwrite: bool = False) -> None:
    """Create a sparse disk image of ``size`` bytes, rounded down to a whole MiB.

    An existing non-empty file is kept unless ``overwrite`` is set: it may be a stick image
    full of ISOs.
    """
    size -= size % ALIGNMENT
    if size < MIN_DISK_SIZE:
        raise DriveError(
            f"an image of {size // MIB} MiB is too small for a sik disk",
            hint=f"use at least {MIN_DISK_SIZE // MIB} MiB",
        )
    if path.exists() and not path.is_file():
        raise StickError(f"{path} exists and is not a regular file", hint="pick another name")
    if path.exists() and path.stat().st_size > 0 and not overwrite:
        raise StickError(f"{path} already exists", hint="remove it or ask to overwrite it")
    with path.open("wb") as image:
        image.truncate(size)


# --- partitions --------------------------------------------------------------------------------


def _flag(name: str) -> int:
    # Looked up by name in libparted's own table: pyparted exports no constant for some flags
    # (esp, msftdata), and the numbers are libparted's, not ours.
    numbers = {flag_name: number for number, flag_name in parted.partitionFlag.items()}
    if name not in numbers:
        raise DriveError(f"libparted does not know the partition flag {name!r}", hint="upgrade parted")
    return int(numbers[name])


@contextmanager
def _parted_device(target: Path) -> Iterator[parted.Device]:
    try:
        device = parted.getDevice(os.fspath(target))
    except _PARTED_ERRORS as exc:
        raise StickError(f"cannot open {target}: {exc}") from exc
    try:
        yield device
    finally:
        # libparted caches devices by path, with their size: a later call on a re-created image
        # of another size would otherwise see the old one.
        device.removeFromCache()


def _wipe_ends(target: Path) -> None:
    """Zero the first and last MiB, so no old GPT backup, MBR code or hybrid-ISO signature in
    the gap before partition 1 survives to confuse blkid, firmware or a later ``read_layout``."""
    fd = os.open(target, os.O_WRONLY)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        zeros = bytes(min(MIB, size))
        for offset in (0, size - len(zeros)):
            if os.pwrite(fd, zeros, offset) != len(zeros):
                raise DriveError(f"short write to {target} at {offset}")
        os.fsync(fd)
    finally:
        os.close(fd)


def check_sector_size(target: Path, sector_size: int) -> None:
    """GRUB's BIOS boot code (boot.img, diskboot) addresses the disk in 512-byte LBAs: on a
    drive with larger logical sectors (a 4Kn USB-SATA bridge) it would load the wrong bytes and
    the stick would not boot under BIOS, without a word. Refused instead."""
    if sector_size != BIOS_SECTOR:
        raise DriveError(
            f"{target} has {sector_size}-byte logical sectors; GRUB's BIOS boot code needs "
            f"{BIOS_SECTOR}-byte sectors",
            hint="use a drive with 512-byte sectors (most USB flash drives have them)",
        )


def _add_partition(disk: parted.Disk, role: Role, start: int, length: int) -> None:
    """Add one partition at exactly ``start`` for ``length`` sectors, named and flagged."""
    geometry = parted.Geometry(disk.device, start=start, length=length)
    fs = parted.FileSystem(type="fat32", geometry=geometry) if role is Role.esp else None
    partition = parted.Partition(disk=disk, type=parted.PARTITION_NORMAL, fs=fs, geometry=geometry)
    disk.addPartition(partition, constraint=parted.Constraint(exactGeom=geometry))
    partition.set_name(str(role))
    for flag in role.flags():
        partition.setFlag(_flag(flag))


def _data_end(disk: parted.Disk, unit: int) -> int:
    """The last sector of the data partition: the end of the usable area (before the backup
    GPT), rounded down so the partition ends on an alignment boundary."""
    last_usable = int(max(region.end for region in disk.getFreeSpaceRegions()))
    return (last_usable + 1) // unit * unit - 1


def partition(target: Path) -> DriveLayout:
    """Write a fresh GPT to ``target``: BIOS boot, ESP and data partition, 1 MiB aligned.

    Everything on ``target`` is lost. The data partition has no filesystem yet; see
    :func:`format`.
    """
    with _parted_device(target) as device:
        sector = device.sectorSize
        check_sector_size(target, sector)  # before the first byte is written
        _wipe_ends(target)
        unit = ALIGNMENT // sector
        try:
            disk = parted.freshDisk(device, "gpt")
            esp_start = unit + BIOS_BOOT_SIZE // sector
            data_start = esp_start + ESP_SIZE // sector
            data_end = _data_end(disk, unit)
            if (data_end + 1 - data_start) * sector < MIN_DATA_SIZE:
                raise DriveError(
                    f"{target} is too small for a sik disk ({device.getLength() * sector // MIB} MiB)",
                    hint=f"use at least {MIN_DISK_SIZE // MIB} MiB",
                )
            _add_partition(disk, Role.bios_boot, unit, BIOS_BOOT_SIZE // sector)
            _add_partition(disk, Role.esp, esp_start, ESP_SIZE // sector)
            _add_partition(disk, Role.data, data_start, data_end + 1 - data_start)
            disk.commit()
        except _PARTED_ERRORS as exc:
            raise DriveError(f"cannot partition {target}: {exc}") from exc
        return _layout_of(target, disk)


def _span(disk: parted.Disk, role: Role) -> PartitionSpan:
    for candidate in disk.partitions:
        if candidate.name == str(role):
            sector = disk.device.sectorSize
            geometry = candidate.geometry
            return PartitionSpan(candidate.number, geometry.start * sector, geometry.length * sector)
    raise StickError(
        f"{disk.device.path} is not a sik disk: it has no partition named {str(role)!r}",
        hint="make one with `sik install`, or name the right device or image",
    )


def _layout_of(target: Path, disk: parted.Disk) -> DriveLayout:
    return DriveLayout(
        target=target,
        bios_boot=_span(disk, Role.bios_boot),
        esp=_span(disk, Role.esp),
        data=_span(disk, Role.data),
        sector_size=int(disk.device.sectorSize),
    )


@contextmanager
def _opened_disk(target: Path) -> Iterator[parted.Disk]:
    with _parted_device(target) as device:
        try:
            disk = parted.newDisk(device)
        except _PARTED_ERRORS as exc:
            raise StickError(
                f"{target} is not a sik disk: no partition table ({exc})",
                hint="make one with `sik install`, or name the right device or image",
            ) from exc
        if disk.type != "gpt":
            raise StickError(
                f"{target} is not a sik disk: its partition table is {disk.type}, not GPT",
                hint="make one with `sik install`, or name the right device or image",
            )
        yield disk


def _partition_numbered(disk: parted.Disk, number: int) -> parted.Partition:
    # By number, not by path: libparted names partitions of /dev/nvme0n1 "…p1", of a file "…1".
    return next(part for part in disk.partitions if part.number == number)


def _check_flags(disk: parted.Disk, role: Role) -> None:
    part = _partition_numbered(disk, _span(disk, role).number)
    missing = [flag for flag in role.flags() if not part.getFlag(_flag(flag))]
    if missing:
        raise StickError(
            f"{disk.device.path} is not a sik disk: partition {str(role)!r} lacks {', '.join(missing)}",
            hint="repartition it with `sik install`",
        )


# --- filesystems -------------------------------------------------------------------------------


def _require_root(action: str) -> None:
    # Loop devices and mounts need root; say so before losetup says something obscure.
    if os.geteuid() != 0:
        raise DriveError(f"{action} needs root (loop devices and mounts)", hint="rerun with sudo")


def _drop_stale_partitions(device: Path) -> None:
    """Forget partitions the kernel still lists for a loop device we just attached.

    libparted, run on a whole-disk loop device, registers its partitions with the kernel
    (BLKPG), and they outlive the detach unless the device was set up with partition scanning;
    the next user of that loop device then sees them, and mkfs.fat refuses it ("Partitions or
    virtual mappings on device"). Our loop devices hold one partition each, never a table.
    """
    if any((Path("/sys/class/block") / device.name).glob(f"{device.name}p*")):
        run(["partx", "--delete", device])


@contextmanager
def attached(target: Path, span: PartitionSpan, *, read_only: bool = False) -> Iterator[Path]:
    """Attach one partition of ``target`` as a loop device; detach it on the way out.
    ``read_only``: the kernel refuses every write to the device, a mount's included."""
    _require_root(f"reaching partition {span.number} of {target}")
    argv = ["losetup", "--find", "--show", "--offset", str(span.start), "--sizelimit", str(span.size)]
    if read_only:
        argv.append("--read-only")
    with signals_held() as release:
        device = Path(run([*argv, target], capture=True).stdout.decode().strip())
        try:
            release()
            _drop_stale_partitions(device)
            yield device
        except BaseException:
            with while_failing(f"detaching {device}"):
                # A short wait: after a failure the device may stay mounted (a busy unmount),
                # and the user should read the error now, not in ten seconds; but an unmount
                # that did happen releases the device within a moment, and then it is gone.
                _detach(device, timeout=3.0)
            raise
    _detach(device)


def _detach(device: Path, *, timeout: float = 10.0) -> None:
    # If something still holds the device, the kernel defers the detach to the last close
    # instead of failing, so this never strands the device.
    run(["losetup", "--detach", device])
    _wait_until_detached(device, timeout)


def _wait_until_detached(device: Path, timeout: float) -> None:
    """Give a deferred detach a moment to happen, so the device is gone when we return.

    Recent kernels release a block device shortly after umount returns, not before; until
    then ``losetup --detach`` only marks it to go away. Data is already written by then, so
    on timeout we go on and let the kernel finish the detach by itself.
    """
    backing = Path("/sys/class/block") / device.name / "loop" / "backing_file"
    deadline = time.monotonic() + timeout
    while backing.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if backing.exists():
        log.debug("%s is still attached after %.0f s; the kernel will detach it", device, timeout)


def _blkid(*args: str | os.PathLike[str]) -> dict[str, str]:
    """Probe a superblock (``-p``: ignore the blkid cache, which may describe the old disk)."""
    out = run(["blkid", "--probe", "--output", "export", *args], capture=True).stdout.decode()
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def probe_fs(target: Path, span: PartitionSpan) -> dict[str, str]:
    """blkid's view (TYPE, UUID, LABEL, …) of the filesystem in ``span``; empty if there is none.

    Probes at an offset of the target, so it needs neither root nor a loop device.
    """
    find_tool("blkid", reason="identify filesystems", hint="install util-linux")
    try:
        return _blkid("--offset", str(span.start), "--size", str(span.size), target)
    except ToolError:
        # blkid exits 2 when it recognises nothing (an unformatted partition) and 4 when two
        # signatures disagree; either way there is no filesystem we could use.
        return {}


def _check_label(fs: FsType, label: str) -> None:
    limit = _LABEL_MAX[fs]
    if not label or len(label.encode()) > limit or not re.fullmatch(r"[A-Za-z0-9_ .-]+", label):
        raise DriveError(
            f"{label!r} cannot be a {fs} label",
            hint=f"use up to {limit} letters, digits, '-', '_' or '.'",
        )


# The program that makes each filesystem, and the Debian package that has it.
MKFS = {
    FsType.ext4: ("mkfs.ext4", "e2fsprogs"),
    FsType.exfat: ("mkfs.exfat", "exfatprogs"),
    FsType.fat32: ("mkfs.fat", "dosfstools"),
}


def _mkfs_argv(fs: FsType, label: str) -> list[str]:
    if fs is FsType.ext4:
        # -m 0: the 5 % reserved for root is pointless on a data stick and costs gigabytes.
        return [os.fspath(_mkfs_tool(*MKFS[fs])), "-F", "-q", "-m", "0", "-L", label]
    if fs is FsType.exfat:
        return [os.fspath(_mkfs_tool(*MKFS[fs])), "-L", label]
    # FAT labels are upper case by convention; mkfs.fat warns on lower case.
    return [os.fspath(_mkfs_tool(*MKFS[fs])), "-F", "32", "-n", label.upper()]


def _mkfs_tool(name: str, package: str) -> Path:
    return find_tool(name, reason=f"create a filesystem with {name}", hint=f"install {package}")


def _make_fs(target: Path, span: PartitionSpan, fs: FsType, label: str) -> str:
    """mkfs one partition through a loop device; return the new filesystem's UUID."""
    with attached(target, span) as device:
        # Remove every old signature first: mkfs.fat and mkfs.exfat leave, say, an old ISO 9660
        # or btrfs superblock further in, and blkid would then report the partition ambivalent.
        run(["wipefs", "--all", "--quiet", device])
        # Captured: mkfs.exfat and mke2fs chatter on stdout; their stderr still makes the error.
        run([*_mkfs_argv(fs, label), device], capture=True)
        found = _blkid(device)
    if found.get("TYPE") != fs.blkid_type() or not found.get("UUID"):
        raise DriveError(f"mkfs made no {fs} filesystem on partition {span.number} of {target}")
    return found["UUID"]


def _set_data_type(target: Path, layout: DriveLayout, fs: FsType) -> None:
    """Give the data partition the GPT type that suits its filesystem.

    exFAT and FAT32 get Microsoft basic data, the only type Windows and macOS mount; ext4 gets
    Linux filesystem data, so Windows ignores it instead of offering to format it.
    """
    with _opened_disk(target) as disk:
        part = _partition_numbered(disk, layout.data.number)
        try:
            if fs is FsType.ext4:
                part.unsetFlag(_flag("msftdata"))
            else:
                part.setFlag(_flag("msftdata"))
            disk.commit()
        except _PARTED_ERRORS as exc:
            raise DriveError(f"cannot set the data partition's type on {target}: {exc}") from exc


def format_partitions(layout: DriveLayout, fs: FsType, label: str = "SIK") -> DriveLayout:
    """Create FAT32 on the ESP and ``fs`` on the data partition; return the layout with UUIDs."""
    _require_root(f"formatting {layout.target}")
    _check_label(fs, label)
    esp_uuid = _make_fs(layout.target, layout.esp, FsType.fat32, ESP_LABEL)
    data_uuid = _make_fs(layout.target, layout.data, fs, label)
    _set_data_type(layout.target, layout, fs)
    return replace(layout, data_fs=fs, data_uuid=data_uuid, esp_uuid=esp_uuid)


_FS_BY_BLKID = {fs.blkid_type(): fs for fs in FsType}


def read_layout(target: Path) -> DriveLayout:
    """The layout of an existing sik disk: partitions by GPT name, filesystems by blkid.

    Raises StickError when ``target`` is not a sik disk.
    """
    with _opened_disk(target) as disk:
        layout = _layout_of(target, disk)
        _check_flags(disk, Role.bios_boot)
        _check_flags(disk, Role.esp)
    data = probe_fs(target, layout.data)
    esp = probe_fs(target, layout.esp)
    return replace(
        layout,
        data_fs=_FS_BY_BLKID.get(data.get("TYPE", "")),
        data_uuid=data.get("UUID"),
        esp_uuid=esp.get("UUID") if esp.get("TYPE") == "vfat" else None,
    )
