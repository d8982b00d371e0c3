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
    # Initrds that cannot boot from an ISO file by a parameter of their own: virtual CD.
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
        Slax's livekit (same table); linuxrc, genkernel and Puppy's kernels are unverified
        for exFAT, so they are not promised it. dracut, anaconda (dracut), archiso/miso (mkinitcpio's
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
        BootMethod.puppy,
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
class IsoIdentity:
    """What the boot-time check compares before a virtual CD is shown to anyone: an ISO
    replaced, moved or defragmented after `sik generate` differs in one of these."""

    size: int
    volume_id: str
    head_sha256: str  # of the first 64 KiB (the system area and the volume descriptors)
    tail_sha256: str  # of the last 64 KiB (or the whole file when it is smaller)


@dataclass(frozen=True)
class ModuleFile:
    """A kernel module found in an ISO outside its initrd, for the ISO's own kernel: in a
    squashfs (Alpine's modloop, a live root) or an installer udeb (sik/detection/modules.py)."""

    name: str  # as the kernel names it, "dm_mod"
    container: PurePosixPath  # the file in the ISO that holds it
    path: str  # inside that container
    depends: tuple[str, ...] = ()  # module names it needs loaded first (its modules.dep)


@dataclass(frozen=True)
class VirtualCd:
    """How sik's initrd presents one ISO as a read-only block device with its own label, and
    how the distribution's initramfs is led to it; the plan decides, the writer packs
    (sik/customize/vcd.py), overlays/vcd/ runs it at boot."""

    backing: str  # "loop" (one extent), "dm" (several), or "ram" (the ISO in the initramfs)
    hook: str  # where sik's setup runs: "initramfs-tools", "dracut" or "init"
    identity: IsoIdentity
    # The file's runs on the data partition, (offset, length) in bytes from the partition's
    # start, in file order (sik/core/extents.py); empty for "ram": GRUB hands the file over.
    extents: tuple[tuple[int, int], ...] = ()
    # Where to find the data partition: bytes of its filesystem's serial/UUID at an offset.
    partition_probe: tuple[int, str] = (0, "")
    # Build-time patches of files of the ISO's own initrd (sik/customize/vcd.py PATCHES).
    patches: tuple[str, ...] = ()
    # Kernel modules sik ships because the initrd lacks them, in load order: taken from the
    # ISO itself at build time, never prebuilt (they carry the distribution's signature).
    modules: tuple[ModuleFile, ...] = ()
    # Programs from the host's Debian packages bundled into the initrd: "busybox", "dmsetup".
    tools: tuple[str, ...] = ("busybox",)
    # Where the hook also mounts the device in the booted root, and the systemd units that
    # would otherwise look for the CD themselves (Detection.cd_mount, Detection.cd_units).
    mount: PurePosixPath | None = None
    mask_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitrdFacts:
    """What sik read, at build time, in the initrd files an ISO's entry boots with
    (sik/detection/initrd.py): later archives over earlier ones, as the kernel unpacks them."""

    files: frozenset[str] = frozenset()  # paths without a leading "/", module files left out
    modules: frozenset[str] = frozenset()  # module names present or built in ("dm_mod")
    kernel_versions: tuple[str, ...] = ()  # lib/modules/<version> folders
    # The text of the few files sik's hooks and patches start from (TEXTS in initrd.py).
    texts: tuple[tuple[str, str], ...] = ()
    problem: str | None = None  # why the initrd could not be read (then the rest is empty)

    def text(self, path: str) -> str | None:
        return next((body for name, body in self.texts if name == path), None)

    def has(self, path: str) -> bool:
        return path in self.files


@dataclass(frozen=True)
class IsoFacts:
    """Build-time facts beyond the detection that the medium ladder (sik/menu/medium.py)
    weighs: where the file lies on the stick, what its initrd holds, what sik can bundle.
    Gathered by sik/menu/generate.py only for ISOs the ladder may take past "ISO file"."""

    identity: IsoIdentity | None = None
    extents: tuple[tuple[int, int], ...] | None = None  # see VirtualCd.extents
    extents_problem: str | None = None  # why the extents are unknown
    initrd: InitrdFacts | None = None
    kernel_version: str | None = None  # from the kernel's bzImage header
    # Modules sik may need (loop, dm_mod and what they depend on) found in the ISO outside
    # its initrd, for the ISO's kernel version.
    iso_modules: tuple[ModuleFile, ...] = ()
    # Programs sik can bundle from this host's Debian packages ("busybox", "dmsetup").
    tools: frozenset[str] = frozenset()
    tools_problem: str | None = None


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
    # Why this recognised ISO cannot boot from its file through a parameter of its own: the
    # medium ladder (sik/menu/medium.py) then tries a virtual CD, then RAM, and lists the ISO
    # with no entry, and this reason, when neither applies.
    blocker: str | None = None
    # Where the booted system looks for its CD's files by itself, after the initramfs (TrueNAS
    # SCALE's installer: /cdrom), and the systemd units that do the looking: sik's hook mounts
    # the ISO there and masks them.
    cd_mount: PurePosixPath | None = None
    cd_units: tuple[str, ...] = ()


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
    vcd: VirtualCd | None = None  # for Medium.virtual_cd and Medium.in_ram


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
