"""The one map of a stick's data partition: where every file sik reads or writes lives, as the
host sees it (a ``Stick``'s properties, under its mount point) and as GRUB and a booted system
name it (the ``ON_STICK`` paths, absolute on the partition). No other module spells a path on
the stick.

A folder is a sik stick only when sik made it: `sik install` writes an identity file, and
every command that writes refuses a folder without one (``Stick.claim``). A stick made by a
release before the identity existed is recognised by its layout and gets one on first write.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sik.core.errors import StickError
from sik.core.model import Firmware, FsType
from sik.core.staged import write_file

# Where things are on the data partition, as GRUB and a booted system name them.
ISO_DIR = PurePosixPath("/boot/iso")
GRUB_DIR = PurePosixPath("/boot/grub")
SIK_DIR = PurePosixPath("/boot/sik")
EXTENSION_DIR = PurePosixPath("/boot/extensions")
EXTENSION_SUFFIX = ".ExtensionImage"
CUSTOMIZE_DIR = PurePosixPath("/boot/customize")
INITRD_DIR = SIK_DIR / "initrd"
# One empty file per ISO the menu was made from, named as the ISO: GRUB tells an ISO copied on
# since by the missing file (grub-templates/new-isos.j2).
KNOWN_ISOS_DIR = SIK_DIR / "known-isos"
PERSIST_DIR = SIK_DIR / "persist"
HOME_IMAGE = PurePosixPath("/home.img")
# kiwi-live 9.24 (Debian 12) keeps a loop-booted ISO's persistence in this one file at the root
# of the ISO's partition (sik/customize/hooks.py says more).
KIWI_COW_FILE = PurePosixPath("/live_system.cow")
APPS_DIR = PurePosixPath("/apps")
# Directories every stick has; `sik install` creates them.
LAYOUT_DIRS = (GRUB_DIR, ISO_DIR, EXTENSION_DIR, CUSTOMIZE_DIR / "overlay", SIK_DIR, APPS_DIR)

# sik's files GRUB reads at boot (grub-templates/), as it names them.
CUSTOM_CFG = SIK_DIR / "custom.cfg"
SUMS_FILE = SIK_DIR / "SHA256SUMS"

# On the EFI System Partition (sik/drive/secureboot.py), as GRUB names them there: MokManager,
# and the certificates `sik secureboot enroll` leaves for its "Enroll key from disk".
ESP_MOKMANAGER = PurePosixPath("/EFI/BOOT/mmx64.efi")
ESP_KEYS_DIR = PurePosixPath("/EFI/sik/keys")

IDENTITY_FORMAT = 1
# The first line of every grub.cfg sik writes (grub-templates/grub.cfg.j2): how a stick of the
# release before the identity file is told from a host's /boot.
GRUB_CFG_HEADER = b"# Written by sik "


# Virtual CDs (sik/customize/vcd.py): one initrd per entry, and the bundles they share.
VCD_INITRD_DIR = INITRD_DIR / "vcd"
VCD_BUSYBOX_INITRD = INITRD_DIR / "vcd-busybox.cpio"
VCD_DMSETUP_INITRD = INITRD_DIR / "vcd-dmsetup.cpio"


def vcd_initrd_on_stick(entry_id: str) -> PurePosixPath:
    """One entry's virtual-CD initrd (its extents, identity, hook and patched files)."""
    return VCD_INITRD_DIR / f"{entry_id}.cpio"


def ram_header_on_stick(entry_id: str) -> PurePosixPath:
    """The newc header GRUB loads before an ISO booted in RAM (sik/customize/vcd.py)."""
    return VCD_INITRD_DIR / f"{entry_id}.ram"


def initrd_on_stick(flavour: str) -> PurePosixPath:
    """sik's secondary initrd for one hook flavour (sik/customize/hooks.py)."""
    return INITRD_DIR / f"{flavour}.cpio"


def fsmod_initrd_on_stick(key: str) -> PurePosixPath:
    """The secondary initrd carrying filesystem modules taken from one ISO (sik/menu/fsmods.py);
    ``key`` names what it holds."""
    return INITRD_DIR / f"{FSMOD_INITRD_PREFIX}{key}.cpio"


FSMOD_INITRD_PREFIX = "fsmod-"


def iso_stem(iso_name: str) -> str:
    """An ISO's name without its .iso suffix, whatever its case."""
    return iso_name[:-4] if iso_name.lower().endswith(".iso") else iso_name


def persist_dir_on_stick(iso_name: str) -> PurePosixPath:
    """Where one ISO's own persistence store lives (`sik persist`)."""
    return PERSIST_DIR / iso_stem(iso_name)


@dataclass(frozen=True)
class Stick:
    """A mounted data partition: an image's (mounted by sik) or a real drive's (by the user)."""

    root: Path
    fs: FsType | None = None
    uuid: str | None = None  # the data partition's filesystem UUID, when known

    def host(self, on_stick: PurePosixPath) -> Path:
        """The host's path of a file named by its absolute path on the partition."""
        return self.root / on_stick.relative_to("/")

    def on_stick(self, path: Path) -> PurePosixPath:
        """The absolute path GRUB and the booted initrd see for a file on this partition."""
        return PurePosixPath("/") / path.relative_to(self.root).as_posix()

    # --- the menu and GRUB
    @property
    def iso_dir(self) -> Path:
        return self.host(ISO_DIR)

    @property
    def grub_dir(self) -> Path:
        return self.host(GRUB_DIR)

    @property
    def grub_cfg(self) -> Path:
        return self.grub_dir / "grub.cfg"

    @property
    def grub_cfg_old(self) -> Path:
        return self.grub_dir / "grub.cfg.old"

    @property
    def grubenv(self) -> Path:
        return self.grub_dir / "grubenv"

    def grub_modules_dir(self, firmware: Firmware) -> Path:
        """GRUB's modules for one platform, e.g. /boot/grub/x86_64-efi."""
        return self.grub_dir / firmware.grub_target()

    # --- sik's own state
    @property
    def sik_dir(self) -> Path:
        return self.host(SIK_DIR)

    @property
    def identity_file(self) -> Path:
        return self.sik_dir / "stick.toml"

    @property
    def options_file(self) -> Path:
        return self.sik_dir / "sik.toml"

    @property
    def custom_cfg(self) -> Path:
        return self.host(CUSTOM_CFG)

    @property
    def templates_dir(self) -> Path:
        return self.sik_dir / "templates"

    @property
    def manifest_file(self) -> Path:
        return self.sik_dir / "manifest.json"

    @property
    def sums_file(self) -> Path:
        return self.host(SUMS_FILE)

    @property
    def replace_journal(self) -> Path:
        """What `sik replace` is doing, while it does it (sik/files/replace.py)."""
        return self.sik_dir / "replace.json"

    @property
    def scan_cache_file(self) -> Path:
        return self.sik_dir / "scan-cache.json"

    @property
    def menu_cache_file(self) -> Path:
        return self.sik_dir / "menu-cache.json"

    @property
    def medium_cache_file(self) -> Path:
        """What sik read in ISOs' initrds for their medium (sik/menu/mediumfacts.py)."""
        return self.sik_dir / "medium-cache.json"

    @property
    def vcd_initrd_dir(self) -> Path:
        return self.host(VCD_INITRD_DIR)

    @property
    def shim_trust_dir(self) -> Path:
        """The certificates the stick's shim trusts (DER, *.cer), copied there by `sik install`
        from the shim it put on the ESP: what a scan checks kernels' signatures against."""
        return self.sik_dir / "shim-trusts"

    def initrd_file(self, flavour: str) -> Path:
        return self.host(initrd_on_stick(flavour))

    @property
    def initrd_dir(self) -> Path:
        return self.host(INITRD_DIR)

    @property
    def known_isos_dir(self) -> Path:
        return self.host(KNOWN_ISOS_DIR)

    @property
    def fsmod_cache_file(self) -> Path:
        """Which filesystem modules each ISO offers (sik/menu/fsmods.py)."""
        return self.sik_dir / "fsmod-cache.json"

    # --- customisations
    @property
    def extension_dir(self) -> Path:
        return self.host(EXTENSION_DIR)

    def extension_file(self, name: str) -> Path:
        return self.extension_dir / f"{name}{EXTENSION_SUFFIX}"

    @property
    def customize_init(self) -> Path:
        return self.host(CUSTOMIZE_DIR / "init")

    @property
    def customize_overlay(self) -> Path:
        return self.host(CUSTOMIZE_DIR / "overlay")

    @property
    def persist_root(self) -> Path:
        return self.host(PERSIST_DIR)

    def persist_dir(self, iso_name: str) -> Path:
        return self.host(persist_dir_on_stick(iso_name))

    @property
    def home_image(self) -> Path:
        return self.host(HOME_IMAGE)

    @property
    def kiwi_cow_file(self) -> Path:
        return self.host(KIWI_COW_FILE)

    # --- is it a sik stick?
    def check(self) -> None:
        """Refuse a folder that is not a sik stick's data partition (reading commands)."""
        if not self.root.is_dir():
            raise StickError(f"{self.root} is not a directory", hint="mount the stick's data partition")
        if not self.identity_file.is_file() and not self._made_by_an_earlier_sik():
            raise StickError(
                f"{self.root} is not a sik stick (no {SIK_DIR / 'stick.toml'})",
                hint="sik writes only to sticks it made: make one with `sik install`, or pass the "
                "mount point of a sik stick's data partition",
            )

    def claim(self) -> None:
        """``check`` before a command writes; a stick made by a release without the identity
        file gets one now."""
        self.check()
        if not self.identity_file.is_file():
            write_identity(self)

    def _made_by_an_earlier_sik(self) -> bool:
        """The layout every sik release wrote: /boot/sik/, and a grub.cfg sik wrote."""
        try:
            with open(self.grub_cfg, "rb") as cfg:
                header = cfg.read(len(GRUB_CFG_HEADER))
        except OSError:
            return False
        return self.sik_dir.is_dir() and header == GRUB_CFG_HEADER

    def initialise(self) -> None:
        """What `sik install` makes of a new data partition (and `--update` of an old one):
        every directory of the layout, and the identity (its stick id kept if it has one)."""
        for directory in LAYOUT_DIRS:
            self.host(directory).mkdir(parents=True, exist_ok=True)
        write_identity(self)


_IDENTITY = re.compile(r'^id = "([0-9a-f]{32})"$', re.MULTILINE)


def write_identity(stick: Stick) -> str:
    """Mark ``stick`` as made by sik; returns its stick id (kept when it already has one)."""
    try:
        found = _IDENTITY.search(stick.identity_file.read_text(errors="replace"))
    except OSError:
        found = None
    stick_id = found.group(1) if found else uuidlib.uuid4().hex
    text = (
        "# This filesystem is the data partition of a sik stick (written by `sik install`).\n"
        f"format = {IDENTITY_FORMAT}\n"
        f'id = "{stick_id}"\n'
    )
    write_file(stick.identity_file, text.encode())
    return stick_id
