"""A stick made the way a user makes one (`sik install` + `sik add` + `sik generate`),
holding fixture ISOs built from Debian's real boot code; built once per test worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from sik.core.run import run
from sik.drive.open_stick import open_stick
from tests.clirun import SKIPPED, sik
from tests.fixtures.liveisos import FixtureIsos, build_fixture_isos
from tests.isobuilder import build_iso

# File names as users have them: the entry ids `sik boot-once` takes derive from these.
STICK_NAMES = {
    "live_boot": "debian-live-12.11.0-amd64-sik.iso",
    "dracut_live": "Fedora-Sik-Live-x86_64-40.iso",
    "loopback": "sikdemo-1.0.iso",
    "memtest": "memtest86+x64.iso",
    "kiwi_live": "openSUSE-Tumbleweed-KDE-Live-x86_64-Snapshot20250101-Media.iso",
    "grub_image": "sik-grub-rescue.iso",
    "ipxe": "ipxe.iso",
    "ipxe_bios_only": "ipxe-bios-only.iso",
}
MEMTEST_MARKER = "Memtest86+ v"
# `sik generate` options for a test stick: menu and kernels on the serial console QEMU logs.
SERIAL_MENU = ("--kernel-args", "console=ttyS0,115200", "--serial", "--timeout", "1")
# iPXE's banner, printed before it looks for network cards (there are none in the test VM).
IPXE_MARKER = "iPXE initialising devices"
IPXE_LKRN = Path("/usr/lib/ipxe/ipxe.lkrn")
# What the iPXE entry prints under UEFI when the ISO has no EFI program (grub-templates/ipxe.j2).
IPXE_NO_UEFI_MESSAGE = "This iPXE ISO has no UEFI program: boot it with legacy BIOS."
# An ISO of no known layout and without loopback.cfg: listed with a reason, no entry.
UNKNOWN_ISO_NAME = "mystery.iso"
UNKNOWN_VOLUME_ID = "MYSTERY_DISC"


@dataclass(frozen=True)
class BootStick:
    image: Path
    markers: dict[str, str]  # STICK_NAMES key -> marker on the serial console
    titles: dict[str, str]  # STICK_NAMES key -> the entry's title in the menu


@pytest.fixture(scope="session")
def fixture_isos() -> FixtureIsos:
    return build_fixture_isos()


@pytest.fixture(scope="session")
def boot_stick(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> BootStick:
    staging = tmp_path_factory.mktemp("isos")
    sources = []
    for key, name in STICK_NAMES.items():
        source = staging / name
        if key == "ipxe_bios_only":
            _bios_only_ipxe_iso(source)
        else:
            source.symlink_to(getattr(fixture_isos, key))
        sources.append(source)
    image = tmp_path_factory.mktemp("stick") / "sik.img"
    # ext4: the live_boot fixture's initrd cannot read exFAT and its squashfs holds no
    # exfat.ko to add (sik warns so); test_boot_filesystems.py boots the exFAT paths.
    sik("install", "--image", image, "--size", "1G", "--fs", "ext4")
    with open_stick(image, None) as stick:  # files a user copied on by hand
        _add_bad_files(stick.iso_dir, fixture_isos.memtest)
    # The serial console reaches the kernels only through the user-facing option. Exit 3: the
    # bad files get no entry.
    sik("generate", "--image", image, *SERIAL_MENU, code=SKIPPED)
    sik("add", "--image", image, *sources, code=SKIPPED)
    extra = {"memtest": MEMTEST_MARKER, "ipxe": IPXE_MARKER, "ipxe_bios_only": IPXE_MARKER}
    rows = json.loads(sik("list", "--image", image, "--json").stdout)
    titles = {row["file"]: row["title"] for row in rows}
    by_kind = {kind: titles[name] for kind, name in STICK_NAMES.items()}
    return BootStick(image, dict(fixture_isos.markers) | extra, by_kind)


def _bios_only_ipxe_iso(dest: Path) -> None:
    """An iPXE ISO of the older, BIOS-only kind: Debian's ipxe.lkrn and no EFI program."""
    config = "SAY iPXE ISO boot image\nDEFAULT ipxe.lkrn\nLABEL ipxe.lkrn\n KERNEL ipxe.lkrn\n"
    files: dict[str, bytes | str] = {"isolinux.cfg": config, "ipxe.lkrn": IPXE_LKRN.read_bytes()}
    build_iso(dest, files, volume_id="IPXE")


def _add_bad_files(iso_dir: Path, some_iso: Path) -> None:
    """What users also have in /boot/iso: the menu must still work for everything else."""
    (iso_dir / "x.iso").write_bytes(b"not an ISO, just a file named like one\n" * 1000)
    (iso_dir / "truncated.iso").write_bytes(some_iso.read_bytes()[: 600 * 1024])
    files: dict[str, bytes | str] = {"README.TXT": "Nothing here boots.\n", "data/blob.bin": bytes(4096)}
    build_iso(iso_dir / UNKNOWN_ISO_NAME, files, volume_id=UNKNOWN_VOLUME_ID)


def copy_of(image: Path, directory: Path) -> Path:
    """A private copy for one boot (sparse, so cheap), since `boot-once` writes to it."""
    target = directory / image.name
    run(["cp", "--sparse=always", image, target])
    return target
