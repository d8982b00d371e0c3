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

    def kernel_modules(self) -> tuple[str, ...]:
        """The Linux modules that read this filesystem, in load order, for an initramfs that
        lacks them. Only exFAT's: every boot method that reads no exFAT reads ext4 and FAT32
        (BootMethod.readable_filesystems), and exfat.ko depends on no other module."""
        return ("exfat",) if self is FsType.exfat else ()


_ALL_FS = frozenset(FsType)


class BootMethod(StrEnum):
    """How a booted ISO finds itself: the initrd mechanism, not the distribution's name."""

    live_boot = "live-boot"
    dracut_live = "dracut-live"
    memtest = "memtest86+"
    loopback_cfg = "loopback.cfg"
    # A kernel and initrds in the ISO with whatever parameters the detector gives: the method
    # for a third-party detector whose initrd fits none of the mechanisms above.
    linux = "linux"
    casper = "casper"
    anaconda = "anaconda"
    archiso = "archiso"
    miso = "miso"
    linuxrc = "linuxrc"
    nixos = "nixos"
    antix = "antix"
    slax = "slax"
    genkernel = "genkernel"
    # Initrds that cannot boot from an ISO file: recognised, listed, given no entry.
    debian_installer = "debian-installer"
    mkinitfs = "mkinitfs"
    puppy = "puppy"
    proxmox = "proxmox"
    kiwi_live = "kiwi-live"
    ipxe = "ipxe"
    grub_image = "grub-image"

    def readable_filesystems(self) -> frozenset[FsType]:
        """Data-partition filesystems this method's initrd can mount to find the ISO file.

        Debian 12's live-boot initramfs hook copies no exfat module; casper's initrd cannot
        mount exFAT (GLIM's README, MultiOS-USB's support table), nor can NixOS's stage 1 or
        Slax's livekit (same table); linuxrc and genkernel are unverified for exFAT, so they
        are not promised it. dracut, anaconda (dracut), archiso/miso (mkinitcpio's
        filesystems hook) and antiX read exFAT. memtest and the loopback.cfg hand-over are
        read by GRUB alone (whose exfat, fat and ext2 drivers we ship), though what a
        loopback.cfg boots next may have its own limits.
        """
        if self in _NO_EXFAT:
            return frozenset({FsType.ext4, FsType.fat32})
        return _ALL_FS


_NO_EXFAT = frozenset(
    {
        BootMethod.live_boot,
        BootMethod.casper,
        BootMethod.nixos,
        BootMethod.slax,
        BootMethod.linuxrc,
        BootMethod.genkernel,
    }
)


class Medium(StrEnum):
    """How a booted system finds its ISO: the per-ISO medium strategy, chosen at plan time from
    the detection and the stick's filesystem, and shown by `sik list` (DESIGN.md, step 6)."""

    # The distribution's own parameter (findiso=, iso-scan/filename=, ...): its initramfs reads
    # the stick's filesystem and loop-mounts the file.
    iso_file = "ISO file"
    # The same, after sik's initrd loads that filesystem's module, taken from the ISO itself.
    iso_file_fsmod = "ISO file + filesystem module from the ISO"
    # The ISO as a read-only block device carrying its own label (loop at the file's offset,
    # or dm-linear over its extents), for initramfs that only look for a CD.
    virtual_cd = "virtual CD"
    # Small ISOs loaded whole by GRUB (newc: initrd) and attached in RAM.
    in_ram = "in RAM"
    # GRUB itself reads all the entry needs: memtest86+, iPXE, GRUB images, loopback.cfg.
    grub = "GRUB"


class SecureBoot(StrEnum):
    """Whether an ISO's entry starts with Secure Boot on, read from the Authenticode signature
    of the program GRUB hands to shim for checking (the kernel, memtest86+'s or iPXE's EFI
    program), never from a table of distribution names."""

    # Signed by a key the stick's shim trusts (Debian's, for Debian's shim): nothing to enrol.
    trusted = "trusted"
    # Signed by a distribution's CA that the user enrols once (`sik secureboot enroll`).
    enrol = "enrol"
    # Not signed (or not an EFI program at all): starts only with Secure Boot off.
    unsigned = "unsigned"
    # GRUB runs the ISO's own menu (loopback.cfg, GRUB images), whose kernels shim checks when
    # they start; or the program could not be read.
    unknown = "unknown"


@dataclass(frozen=True)
class SecureBootFacts:
    """What the scan read of one ISO's signature (kept in the scan cache)."""

    verdict: SecureBoot = SecureBoot.unknown
    program: PurePosixPath | None = None  # the EFI program inside the ISO
    signer: str | None = None  # the signing certificate's name
    # The CA the signature chains to: the stick's shim's (trusted), else the ISO's own shim's.
    authority: str | None = None
    authority_sha256: str | None = None  # that CA's certificate fingerprint
    kind: str = "kernel"  # what the program is, in words: "kernel", "EFI program"

    def summary(self) -> str:
        """One line for `sik list` and `sik secureboot status`."""
        if self.verdict is SecureBoot.trusted:
            return f"boots: signed by {self.signer} ({self.authority}, trusted by the stick's shim)"
        if self.verdict is SecureBoot.enrol and self.authority_sha256:
            return (
                f"signed by {self.signer} ({self.authority}): enrol that CA once with "
                "`sik secureboot enroll`"
            )
        if self.verdict is SecureBoot.enrol:
            return (
                f"signed by {self.signer}, whose CA sik did not find on the ISO: enrol your "
                "distribution's CA by hand, or turn Secure Boot off"
            )
        if self.verdict is SecureBoot.unsigned:
            return f"{self.kind} not signed: turn Secure Boot off to boot this one"
        if self.program is not None:
            return f"{self.program} is not an EFI program: sik cannot tell"
        return "GRUB runs the ISO's own menu: its kernels are checked by shim when they start"

    def short(self) -> str:
        """A few words for `sik list`'s column."""
        if self.verdict is SecureBoot.trusted:
            return f"yes ({self.authority})"
        if self.verdict is SecureBoot.enrol:
            return f"after enrolling {self.authority}"
        if self.verdict is SecureBoot.unsigned:
            return "no: not signed"
        return "—" if self.program is None else "unknown"

    def refusal(self) -> str:
        """The line the menu entry prints when Secure Boot refuses it (grub-templates/)."""
        if self.verdict is SecureBoot.enrol:
            return (
                f"Secure Boot refused this {self.kind} (signed by {self.authority}): enrol that CA "
                "with sik secureboot enroll, or turn Secure Boot off."
            )
        return f"Secure Boot is on and this {self.kind} is not signed: turn Secure Boot off to boot it."

    def mark(self) -> str:
        """What the menu adds to the entry's title when Secure Boot may refuse it."""
        return {SecureBoot.unsigned: " [not signed]", SecureBoot.enrol: " [needs enrolled CA]"}.get(
            self.verdict, ""
        )


@dataclass(frozen=True)
class FsModule:
    """A filesystem driver found in an ISO's own module tree (its root squashfs), which sik's
    secondary initrd loads before the distribution's initramfs looks for its ISO file: the
    distribution's own signed module, for the kernel it boots (Medium.iso_file_fsmod)."""

    fs: FsType
    release: str  # the kernel's release (uname -r) the modules were built for
    squashfs: PurePosixPath  # the squashfs inside the ISO that holds them
    members: tuple[PurePosixPath, ...]  # their paths inside that squashfs, in load order
    initrd: PurePosixPath  # sik's secondary initrd that carries them, on the data partition


@dataclass(frozen=True)
class Detection:
    """What a detector learned about one ISO: enough to plan a menu entry, plus evidence."""

    detector: str
    method: BootMethod
    distro: str
    pretty_name: str
    version: str | None = None
    arch: str | None = None
    # A flavour within one release, e.g. "Desktop", "Server", "KDE": part of the title, and
    # ISOs of one distro and edition share a submenu.
    edition: str | None = None
    kernel: PurePosixPath | None = None
    initrds: tuple[PurePosixPath, ...] = ()
    # Kernel parameters; "{iso}" stands for the ISO's path on the data partition, which the
    # planner fills in, because a detector does not know where the ISO lives.
    cmdline: tuple[str, ...] = ()
    # A kernel to use instead of ``kernel`` under UEFI (memtest86+ ships one per firmware).
    efi_kernel: PurePosixPath | None = None
    grub_class: str = "linux"
    evidence: tuple[str, ...] = ()
    # The distribution's own persistence mechanism, one of PERSISTENCE_KINDS, or None.
    persistence: str | None = None
    # Why this recognised ISO cannot boot from a file; the planner lists it with no entry.
    blocker: str | None = None


# Keys of Detection.persistence: "live-boot" (persistence + persistence.conf), "casper"
# (persistent + casper-rw), "dracut" (rd.live.overlay=), "kiwi" (rd.live.overlay.persistent),
# "archiso" (cow_label= / cow_device=).
PERSISTENCE_KINDS = frozenset({"live-boot", "casper", "dracut", "kiwi", "archiso"})


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
    secure_boot: SecureBootFacts = SecureBootFacts()

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
    medium: Medium = Medium.iso_file
    secure_boot: SecureBootFacts = SecureBootFacts()


@dataclass(frozen=True)
class MenuOptions:
    """The stick-wide choices that shape grub.cfg (stored in /boot/sik/sik.toml)."""

    timeout: int = 5
    kernel_args: tuple[str, ...] = ()
    serial: bool = False


@dataclass(frozen=True)
class Submenu:
    """Several versions of one distribution, newest first, under one GRUB submenu."""

    id: str  # GRUB's submenu --id; an entry inside is chosen as "<this id>><entry id>"
    title: str
    entries: tuple[BootEntry, ...]
    grub_class: str = "linux"


@dataclass(frozen=True)
class Plan:
    # The menu as GRUB shows it: entries, and submenus of entries, in order.
    items: tuple[BootEntry | Submenu, ...]
    options: MenuOptions = field(default_factory=MenuOptions)
    data_uuid: str | None = None
    # The names of every file in /boot/iso this plan was made from, with an entry or without:
    # GRUB lists the others, copied onto the stick since, in a "New ISOs" submenu.
    known_isos: tuple[str, ...] = ()

    @property
    def entries(self) -> tuple[BootEntry, ...]:
        """Every entry, in menu order, those in submenus included."""
        return tuple(
            e for item in self.items for e in (item.entries if isinstance(item, Submenu) else (item,))
        )

    def grub_path(self, entry_id: str) -> str:
        """What GRUB's ``default``/``next_entry`` needs to name the entry: its id, prefixed by
        its submenu's id and ">" when it sits in one."""
        submenu = self.submenu_of(entry_id)
        return f"{submenu.id}>{entry_id}" if submenu else entry_id

    def submenu_of(self, entry_id: str) -> Submenu | None:
        """The submenu holding the entry, or None when it sits at the menu's top level."""
        for item in self.items:
            if isinstance(item, Submenu) and any(e.id == entry_id for e in item.entries):
                return item
        return None
