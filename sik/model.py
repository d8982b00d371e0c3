"""The vocabulary shared by every stage: enums that carry behaviour, and the frozen values
that flow one way, stick -> scan -> detect -> plan -> render -> write."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath

GIB = 1024**3


class Firmware(StrEnum):
    bios = "bios"
    uefi = "uefi"

    def grub_platform(self) -> str:
        """The value of GRUB's ``$grub_platform`` under this firmware."""
        return "pc" if self is Firmware.bios else "efi"

    def grub_target(self) -> str:
        return "i386-pc" if self is Firmware.bios else "x86_64-efi"


class FsType(StrEnum):
    """Filesystems sik can put on the stick's data partition."""

    ext4 = "ext4"
    exfat = "exfat"
    fat32 = "fat32"

    def max_file_size(self) -> int | None:
        # FAT32 stores file sizes in 32 bits: the largest file is 4 GiB minus one byte.
        return 4 * GIB - 1 if self is FsType.fat32 else None

    def fits(self, size: int) -> bool:
        limit = self.max_file_size()
        return limit is None or size <= limit

    def grub_module(self) -> str:
        return {FsType.ext4: "ext2", FsType.exfat: "exfat", FsType.fat32: "fat"}[self]

    def blkid_type(self) -> str:
        """The TYPE blkid reports for this filesystem."""
        return {FsType.ext4: "ext4", FsType.exfat: "exfat", FsType.fat32: "vfat"}[self]


_ALL_FS = frozenset(FsType)


class BootMethod(StrEnum):
    """How a booted ISO finds itself: the initrd mechanism, not the distribution's name."""

    live_boot = "live-boot"
    dracut_live = "dracut-live"
    memtest = "memtest86+"
    loopback_cfg = "loopback.cfg"
    kiwi_live = "kiwi-live"
    ipxe = "ipxe"
    grub_image = "grub-image"

    def readable_filesystems(self) -> frozenset[FsType]:
        """Data-partition filesystems this method's initrd can mount to find the ISO file.

        Debian 12's live-boot initramfs hook copies no exfat module; memtest and the
        loopback.cfg hand-over are read by GRUB alone (whose exfat, fat and ext2 drivers we
        ship), though what a loopback.cfg boots next may have its own limits.
        """
        if self is BootMethod.live_boot:
            return frozenset({FsType.ext4, FsType.fat32})
        return _ALL_FS


@dataclass(frozen=True)
class Detection:
    """What a detector learned about one ISO: enough to plan a menu entry, plus evidence."""

    detector: str
    method: BootMethod
    distro: str
    pretty_name: str
    version: str | None = None
    arch: str | None = None
    kernel: PurePosixPath | None = None
    initrds: tuple[PurePosixPath, ...] = ()
    # Kernel parameters; "{iso}" stands for the ISO's path on the data partition, which the
    # planner fills in, because a detector does not know where the ISO lives.
    cmdline: tuple[str, ...] = ()
    # A kernel to use instead of ``kernel`` under UEFI (memtest86+ ships one per firmware).
    efi_kernel: PurePosixPath | None = None
    grub_class: str = "linux"
    evidence: tuple[str, ...] = ()
    # The distribution's own persistence mechanism, by initrd family ("live-boot", "casper",
    # "dracut", "kiwi", "archiso"); None when it has none.
    persistence: str | None = None
    edition: str | None = None  # "KDE", "Workstation", "Desktop", ...


@dataclass(frozen=True)
class Unsupported:
    """An ISO that gets no menu entry, and why, in words a user can act on."""

    reason: str


@dataclass(frozen=True)
class IsoFile:
    """One file found in /boot/iso, as scanned: its path relative to the stick root."""

    path: PurePosixPath
    size: int
    volume_id: str | None = None


@dataclass(frozen=True)
class ScanResult:
    iso: IsoFile
    outcome: Detection | Unsupported
    warnings: tuple[str, ...] = ()

    @property
    def detection(self) -> Detection | None:
        return self.outcome if isinstance(self.outcome, Detection) else None


@dataclass(frozen=True)
class BootEntry:
    id: str  # stable, derived from the ISO file name; GRUB's menuentry --id
    title: str
    iso: PurePosixPath  # absolute path on the data partition, e.g. /boot/iso/x.iso
    method: BootMethod
    kernel: PurePosixPath | None  # inside the ISO
    efi_kernel: PurePosixPath | None
    initrds: tuple[PurePosixPath, ...]  # inside the ISO
    cmdline: tuple[str, ...]
    grub_class: str = "linux"
    extra_initrds: tuple[PurePosixPath, ...] = ()  # on the data partition (sik's own)


@dataclass(frozen=True)
class MenuOptions:
    """The stick-wide choices that shape grub.cfg (stored in /boot/sik/sik.toml)."""

    timeout: int = 5
    kernel_args: tuple[str, ...] = ()
    serial: bool = False


@dataclass(frozen=True)
class Plan:
    entries: tuple[BootEntry, ...]
    options: MenuOptions = field(default_factory=MenuOptions)
    data_uuid: str | None = None
