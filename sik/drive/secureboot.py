"""The UEFI side of a stick: a boot chain that starts with Secure Boot on, as PCs ship.

On the ESP, when this computer has a distribution's signed boot loaders (Debian's shim-signed,
grub-efi-amd64-signed and shim-helpers-amd64-signed, or Fedora's, Ubuntu's):

    EFI/BOOT/BOOTX64.EFI   shim, signed by Microsoft's UEFI CA: every PC's firmware starts it
    EFI/BOOT/grubx64.efi   the distribution's GRUB, signed by the distribution: shim starts it
    EFI/BOOT/mmx64.efi     MokManager, for enrolling keys ("Enroll key from disk")
    EFI/<prefix>/grub.cfg  the stub that GRUB reads (its built-in prefix, e.g. /EFI/debian)
    EFI/sik/grubx64.efi    sik's own GRUB: every module sik's menu uses, exFAT included
    EFI/sik/keys/*.cer     certificates waiting to be enrolled (`sik secureboot enroll`)

The stub finds the data partition by its filesystem UUID, never by a file another medium could
also hold. With Secure Boot off it hands over to sik's own GRUB (exactly the GRUB of a stick
without Secure Boot). With Secure Boot on, the signed GRUB reads sik's menu itself when it can
read the data partition (ext4, FAT32); it has no exFAT driver and lockdown forbids loading one,
so on an exFAT stick it chainloads sik's GRUB, which shim accepts only once it is signed with a
key the user enrolled (`sik secureboot enroll`). Kernels are verified by shim in every case:
nothing here turns verification off (grub-mkimage's --disable-shim-lock is never used).

Without signed boot loaders on this computer, sik's own GRUB is BOOTX64.EFI, as before: the
stick starts with Secure Boot off only, and `sik install` says so.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives import serialization

from sik.core.errors import DriveError
from sik.core.model import FsType
from sik.core.staged import write_file
from sik.core.stick import ESP_KEYS_DIR, ESP_MOKMANAGER, Stick
from sik.detection.authenticode import common_name, signatures, vendor_certificates
from sik.detection.pe import PeImage, parse_pe, reader_of, sbat_generations, sbat_text, section_data
from sik.drive import esp
from sik.drive.layout import DriveLayout
from sik.drive.sbkeys import UserKey, sign_efi, signer_names
from sik.menu.render import grub_quote

log = logging.getLogger("sik.drive.secureboot")

EFI_BOOT = PurePosixPath("/EFI/BOOT")
SHIM_PATH = EFI_BOOT / "BOOTX64.EFI"
SIGNED_GRUB_PATH = EFI_BOOT / "grubx64.efi"
MOKMANAGER_PATH = ESP_MOKMANAGER
SIK_EFI_DIR = PurePosixPath("/EFI/sik")
SIK_GRUB_PATH = SIK_EFI_DIR / "grubx64.efi"
KEYS_DIR = ESP_KEYS_DIR

# Where distributions install their signed boot loaders: (shim, GRUB, MokManager). Ubuntu's
# ".latest" shim is the one its own installer uses.
_CHAIN_CANDIDATES = (
    (
        ("/usr/lib/shim/shimx64.efi.signed.latest", "/usr/lib/shim/shimx64.efi.signed"),
        ("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",),
        ("/usr/lib/shim/mmx64.efi.signed",),
    ),
    (
        ("/boot/efi/EFI/fedora/shimx64.efi",),
        ("/boot/efi/EFI/fedora/grubx64.efi",),
        ("/boot/efi/EFI/fedora/mmx64.efi",),
    ),
)
CHAIN_PACKAGES = "shim-signed grub-efi-amd64-signed shim-helpers-amd64-signed"

# grub-mkimage's module info ("mimg" header at the start of the mods section, then typed
# objects): include/grub/kernel.h, OBJ_TYPE_PREFIX = 3.
_MODULE_INFO = struct.Struct("<IIQQ")
_MODULE_INFO_MAGIC = 0x676D696D
_OBJ_PREFIX = 3


@dataclass(frozen=True)
class SignedChain:
    """A distribution's signed shim, GRUB and MokManager on this computer."""

    shim: Path
    grub: Path
    mokmanager: Path
    prefix: PurePosixPath  # the signed GRUB's built-in prefix, where it reads its config

    def stub_path(self) -> PurePosixPath:
        return self.prefix / "grub.cfg"


def find_signed_chain() -> SignedChain | None:
    """The first complete set of signed boot loaders installed here, or None."""
    for shims, grubs, managers in _CHAIN_CANDIDATES:
        found = [
            next((Path(p) for p in group if Path(p).is_file()), None)
            for group in (shims, grubs, managers)
        ]
        shim, grub, manager = found
        if shim is None or grub is None or manager is None:
            continue
        prefix = grub_prefix(grub.read_bytes())
        if prefix is None:
            log.debug("%s has no built-in prefix: not a GRUB image sik can configure", grub)
            continue
        return SignedChain(shim, grub, manager, prefix)
    return None


def grub_prefix(image: bytes) -> PurePosixPath | None:
    """The prefix grub-mkimage built into a GRUB EFI image (-p), e.g. /EFI/debian."""
    read = reader_of(image)
    pe = parse_pe(read)
    mods = section_data(read, pe, "mods", limit=64 * 1024 * 1024) if pe else None
    if not mods or len(mods) < _MODULE_INFO.size:
        return None
    magic, _, offset, size = _MODULE_INFO.unpack_from(mods, 0)
    if magic != _MODULE_INFO_MAGIC:
        return None
    pos, end = offset, min(size, len(mods))
    while pos + 8 <= end:
        kind, length = struct.unpack_from("<II", mods, pos)
        if length < 8:
            return None
        if kind == _OBJ_PREFIX:
            text = mods[pos + 8 : pos + length].split(b"\0", 1)[0].decode("ascii", "replace")
            # A prefix may name a device, "(hd0,gpt1)/EFI/x": the ESP path is what follows it.
            path = text.rsplit(")", 1)[-1]
            return PurePosixPath(path) if path.startswith("/") else None
        pos += length
    return None


# --- sik's own GRUB ---------------------------------------------------------------------------

# Everything built into sik's EFI GRUB, since under Secure Boot GRUB loads no module from disk:
# what sik's menus use, the filesystems a stick or an ISO can hold, and what ISOs' own
# loopback.cfg and grub.cfg files commonly load. Modules this GRUB build lacks are left out.
SIK_EFI_MODULES = (
    # disks and partitions
    "part_gpt", "part_msdos", "part_apple", "disk", "diskfilter", "lvm", "mdraid09", "mdraid1x",
    # filesystems: the data partition's, an ISO's, and what ISOs' configs search
    "fat", "exfat", "ext2", "iso9660", "udf", "ntfs", "ntfscomp", "btrfs", "xfs", "f2fs",
    "hfsplus", "squash4", "loopback",
    "gzio", "xzio", "lzopio", "zstd",
    # loaders
    "linux", "linuxefi", "chain", "boot",
    # the script and the commands sik's menu and ISOs' menus use
    "normal", "configfile", "echo", "test", "true", "regexp", "sleep", "halt", "reboot",
    "search", "search_fs_uuid", "search_fs_file", "search_label", "probe", "loadenv", "cat",
    "ls", "minicmd", "help", "keystatus", "cpuid", "smbios", "efifwsetup", "read", "hashsum",
    "gcry_sha256", "gcry_sha512", "gcry_sha1", "gcry_md5", "tpm",
    # screens: serial console, text and graphical terminals, themes' images and fonts
    "serial", "terminal", "terminfo", "all_video", "efi_gop", "efi_uga", "video", "video_fb",
    "gfxterm", "gfxterm_background", "gfxmenu", "font", "png", "jpeg", "bitmap", "bitmap_scale",
    "gettext", "play",
)  # fmt: skip


def sik_grub_modules(lib_dir: Path) -> tuple[str, ...]:
    """SIK_EFI_MODULES that this GRUB build has (linuxefi is Debian's, for one)."""
    return tuple(m for m in SIK_EFI_MODULES if (lib_dir / f"{m}.mod").is_file())


def sik_sbat(signed_grub: bytes | None, version: str) -> str:
    """The .sbat of sik's GRUB: the GRUB generations of the distribution's signed GRUB, which
    is built from the same source as the modules sik uses (so the same fixes are in), and a
    line of sik's own, so that sik's builds can be revoked without revoking GRUB's.

    Shim refuses an image whose generation for a component is below its SbatLevel, so a
    stick stays bootable only while these numbers are current: `sik install --update` takes
    them from the distribution's latest signed GRUB each time. Without a signed GRUB on this
    computer there is no shim on the stick either, and the image is never checked."""
    lines = ["sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md"]
    if signed_grub is not None:
        read = reader_of(signed_grub)
        pe = parse_pe(read)
        text = sbat_text(read, pe) if pe else ""
        lines += [line for line in text.splitlines() if line.startswith("grub")]
    # SBAT wants a URL for each line; sik has no web site, so its package name stands there.
    lines.append(f"sik,1,sik,sik-grub,{version},sik")
    return "\n".join(lines) + "\n"


def stub_config(data_uuid: str, fs: FsType) -> str:
    """EFI/<prefix>/grub.cfg: what the distribution's signed GRUB runs (it `source`s this file
    with $root on the ESP)."""
    readable = fs is not FsType.exfat  # the signed GRUBs have ext2 and fat drivers, not exfat
    lines = [
        "# Written by sik. The signed GRUB from EFI/BOOT reads this file; see docs/secure-boot.md.",
        'set sik_esp="($root)"',
        "export sik_esp",
        'if [ "$shim_lock" != y ]; then',
        "  # Secure Boot is off: sik's own GRUB, as on a stick without Secure Boot, runs the menu.",
        f'  if chainloader "${{sik_esp}}{SIK_GRUB_PATH}"; then boot; fi',
        "fi",
    ]
    if readable:
        lines += [
            f"search --no-floppy --fs-uuid --set=root {data_uuid}",
            "set prefix=($root)/boot/grub",
            "configfile $prefix/grub.cfg",
            f"echo {grub_quote(LOST_LINE.format(uuid=data_uuid))}",
        ]
    else:
        lines += [
            "# This GRUB cannot read exFAT: sik's own GRUB can, if Secure Boot accepts it.",
            f'if chainloader "${{sik_esp}}{SIK_GRUB_PATH}"; then boot; fi',
            f"echo {grub_quote(REFUSED_LINE)}",
        ]
    lines += [
        "sleep --interruptible 10",
        "set timeout=-1",
        "menuentry 'Enrol keys from this stick (MokManager: Enroll key from disk, EFI/sik/keys)' {",
        f'  chainloader "${{sik_esp}}{MOKMANAGER_PATH}"',
        "}",
        "menuentry 'Firmware setup (to turn Secure Boot off)' {",
        "  fwsetup",
        "}",
        "menuentry 'Reboot' {",
        "  reboot",
        "}",
    ]
    return "\n".join(lines) + "\n"


# What the stub prints when Secure Boot refuses sik's GRUB (an exFAT stick, nothing enrolled).
REFUSED_LINE = (
    "sik: Secure Boot refused sik's GRUB, which this exFAT stick needs: enrol your key (sik "
    "secureboot enroll, then MokManager below), or use an ext4 or FAT32 stick, or turn Secure Boot off."
)
# ... and when the data partition is not there at all.
LOST_LINE = "sik: no partition with UUID {uuid} on this drive: was it reformatted? Run sik install."


@dataclass(frozen=True)
class ProgramFacts:
    """What `sik secureboot status` shows of one boot program on the ESP."""

    path: PurePosixPath
    present: bool
    signers: tuple[str, ...] = ()
    sbat: dict[str, int] | None = None
    version: str | None = None


def program_facts(path: PurePosixPath, data: bytes | None) -> ProgramFacts:
    if data is None:
        return ProgramFacts(path, False)
    read = reader_of(data)
    pe = parse_pe(read)
    if pe is None:
        raise DriveError(f"ESP:{path} is not an EFI program", hint="refresh it: sik install --update")
    signers = tuple(common_name(s.signer.subject) for s in signatures(read, pe))
    return ProgramFacts(
        path, True, signers, sbat_generations(sbat_text(read, pe)), shim_version(read, pe)
    )


def shim_version(read: object, pe: PeImage) -> str | None:
    """Shim's version from its .data.ident section ("$Version: 16.1 $"), None for other programs."""
    assert callable(read)
    ident = section_data(read, pe, ".data.ident", limit=4096)
    if not ident:
        return None
    for line in ident.decode("ascii", "replace").splitlines():
        if line.startswith("$Version:"):
            return line.strip("$ ").split(":", 1)[1].strip(" $")
    return None


def sbat_level(shim: bytes) -> dict[str, int]:
    """The newest SBAT revocation level a shim carries (its .sbatlevel section: u32 version,
    then u32 offsets of the previous and latest levels, counted from byte 4): the level a PC
    that ran this shim enforces on every shim and GRUB after it."""
    read = reader_of(shim)
    pe = parse_pe(read)
    data = section_data(read, pe, ".sbatlevel", limit=64 * 1024) if pe else None
    if not data or len(data) < 12:
        return {}
    _version, _previous, latest = struct.unpack_from("<III", data, 0)
    text = data[4 + latest :].split(b"\0", 1)[0].decode("ascii", "replace")
    return sbat_generations(text)


# --- installing the chain on the ESP ----------------------------------------------------------


@dataclass(frozen=True)
class UefiSetup:
    """What `sik install` put on the ESP, in words it can print."""

    chain: SignedChain | None
    sik_grub: str  # how sik's GRUB stands: "signed with …", "not signed", "kept: …"
    notes: tuple[str, ...] = ()


def install_uefi(
    layout: DriveLayout, sik_grub: bytes, chain: SignedChain | None, key: UserKey | None
) -> UefiSetup:
    """Write the UEFI boot files to the ESP (module docstring): the signed chain and the stub
    when ``chain`` is given, else sik's GRUB as BOOTX64.EFI; sik's GRUB signed with ``key``."""
    if layout.data_uuid is None or layout.data_fs is None:
        raise DriveError(f"the data partition of {layout.target} is not formatted")
    files: dict[PurePosixPath, bytes] = {}
    notes: list[str] = []
    if key is not None:
        files[SIK_GRUB_PATH] = sign_efi(sik_grub, key)
        state = f"signed with your key ({key.name})"
    else:
        old = esp.read_file(layout, SIK_GRUB_PATH) if chain is not None else None
        old_signers = signer_names(old) if old is not None else ()
        if old_signers:
            # A GRUB signed with a key this computer does not hold: an unsigned one would stop
            # the stick on every PC where that key is enrolled.
            state = f"kept as it was: signed by {old_signers[0]}, a key not on this computer"
            notes.append(
                "sik's own GRUB was not refreshed: run `sik secureboot enroll` on the computer "
                "that holds your key to refresh and sign it"
            )
        else:
            files[SIK_GRUB_PATH] = sik_grub
            state = "not signed (Secure Boot accepts it after `sik secureboot enroll`)"
    if chain is None:
        files[SHIM_PATH] = sik_grub
        notes.append(
            "no signed shim and GRUB on this computer: the stick starts with Secure Boot off only "
            f"(install {CHAIN_PACKAGES}, then run `sik install --update`)"
        )
    else:
        files[SHIM_PATH] = chain.shim.read_bytes()
        files[SIGNED_GRUB_PATH] = chain.grub.read_bytes()
        files[MOKMANAGER_PATH] = chain.mokmanager.read_bytes()
        files[chain.stub_path()] = stub_config(layout.data_uuid, layout.data_fs).encode()
    esp.write_files(layout, files)
    return UefiSetup(chain, state, tuple(notes))


def shim_refresh_note(old: bytes | None, chain: SignedChain | None) -> str | None:
    """What `sik install --update` tells of the stick's shim it replaced: an older shim, and
    above all one that PCs which ran a newer shim now refuse (its generation is below their
    SBAT level), is why a stick stops starting under Secure Boot."""
    if old is None or chain is None:
        return None
    new = chain.shim.read_bytes()
    if old == new:
        return None
    old_facts, new_facts = program_facts(SHIM_PATH, old), program_facts(SHIM_PATH, new)
    if old_facts.version is None:
        return f"the stick now starts with Secure Boot on (shim {new_facts.version or '?'})"
    change = f"shim {old_facts.version} -> {new_facts.version or '?'}"
    if is_revoked(old_facts, sbat_level(new)):
        return f"{change}: the old shim is revoked on PCs that ran a newer one (SBAT); now current"
    return change


def is_revoked(program: ProgramFacts, level: dict[str, int]) -> bool:
    """Whether an SBAT level refuses ``program``: one of its components is below the level's
    generation for it ("sbat" itself is the format's version, not a component)."""
    generations = program.sbat or {}
    return any(
        name != "sbat" and name in level and generation < level[name]
        for name, generation in generations.items()
    )


def record_shim_trust(stick: Stick, chain: SignedChain | None) -> None:
    """Copy the certificates the ESP's shim trusts to the data partition, where every scan
    (`sik generate`, `sik list`) reads them without the ESP: /boot/sik/shim-trusts/."""
    directory = stick.shim_trust_dir
    wanted: dict[str, bytes] = {}
    if chain is not None:
        read = reader_of(chain.shim.read_bytes())
        pe = parse_pe(read)
        for index, cert in enumerate(vendor_certificates(read, pe) if pe else []):
            wanted[f"shim-vendor-{index}.cer"] = cert.public_bytes(serialization.Encoding.DER)
    if wanted:
        directory.mkdir(parents=True, exist_ok=True)
    for name, data in wanted.items():
        write_file(directory / name, data)
    for stale in directory.glob("*.cer") if directory.is_dir() else ():
        if stale.name not in wanted:
            stale.unlink()
