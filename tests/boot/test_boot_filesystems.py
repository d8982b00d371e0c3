"""Every ISO boots from its file on the data filesystems sik makes: exFAT (the default) and
FAT32, the stick attached as USB storage. One stick per filesystem holds the fixtures; each
boot is chosen with `sik boot-once` (or, for entries GRUB makes at boot time, a one-time
default in grubenv) and proven by its marker on the serial console.

Each boot proves what no other boot test does (the suite's time budget): GRUB under SeaBIOS
reads exFAT and FAT32 in test_boot_once_fs.py, under OVMF in the boots here; a firmware is not
repeated for a mechanism that does not depend on it.

- Debian live whose initramfs has no exfat driver, as Debian's own: on exFAT it boots through
  the exfat.ko sik took from the ISO's root squashfs (Medium.iso_file_fsmod), with the kernel
  in lockdown (lockdown=integrity, module.sig_enforce=1), so only the distribution's signed
  module can load. sik's initrd is the same under SeaBIOS and OVMF: booted under OVMF only.
- dracut (dmsquash-live with iso-scan) and KIWI read exFAT themselves (Medium.iso_file), and
  dracut FAT32.
- "New ISOs": files copied onto the stick after `sik generate`, listed by GRUB at boot time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from sik.core.model import Firmware, FsType
from sik.drive.layout import read_layout
from sik.drive.open_stick import open_stick
from sik.menu.grubenv import update_env
from sik.vm.qemu import boot_until
from tests.boot.conftest import copy_of
from tests.clirun import sik
from tests.fixtures.fsmodiso import MARKER as FSMOD_MARKER
from tests.fixtures.fsmodiso import build_fsmod_iso
from tests.fixtures.liveisos import FixtureIsos
from tests.isobuilder import build_iso

pytestmark = pytest.mark.boot

NAMES = {
    "live_fsmod": "debian-live-12.11.0-amd64-standard.iso",
    "dracut_live": "Fedora-Sik-Live-x86_64-40.iso",
    "kiwi_live": "openSUSE-Tumbleweed-KDE-Live-x86_64-Snapshot20250101-Media.iso",
}
# Copied onto the exFAT stick by hand after `sik generate`: GRUB finds them at boot time.
NEW_LOOPBACK = "sikdemo-1.1.iso"
NEW_UNKNOWN = "copied later (1).iso"
# Lockdown as under Secure Boot, without its firmware: unsigned modules are refused.
KERNEL_ARGS = "console=ttyS0,115200 lockdown=integrity module.sig_enforce=1"
LOCKED = "Kernel is locked down from command line"
TIMEOUT = {"live_fsmod": 300, "dracut_live": 300, "kiwi_live": 360, "loopback": 300}


@dataclass(frozen=True)
class FsStick:
    image: Path
    markers: dict[str, str]


def _make(tmp: Path, fixture_isos: FixtureIsos, keys: tuple[str, ...], fs: FsType | None) -> FsStick:
    sources = []
    for key in keys:
        link = tmp / NAMES[key]
        target = build_fsmod_iso(fixture_isos) if key == "live_fsmod" else getattr(fixture_isos, key)
        link.symlink_to(target)
        sources.append(link)
    image = tmp / "sik.img"
    sik("install", "--image", image, "--size", "400M", *(("--fs", str(fs)) if fs else ()))
    sik("generate", "--image", image, "--kernel-args", KERNEL_ARGS, "--serial", "--timeout", "1")
    sik("add", "--image", image, *sources)
    markers = dict(fixture_isos.markers) | {"live_fsmod": FSMOD_MARKER}
    return FsStick(image, markers)


@pytest.fixture(scope="module")
def exfat_stick(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> FsStick:
    stick = _make(
        tmp_path_factory.mktemp("exfat"), fixture_isos, ("live_fsmod", "dracut_live", "kiwi_live"), None
    )
    with open_stick(stick.image, None) as mounted:  # as another OS would copy them
        (mounted.iso_dir / NEW_LOOPBACK).write_bytes(fixture_isos.loopback.read_bytes())
        build_iso(mounted.iso_dir / NEW_UNKNOWN, {"README.TXT": "no loopback.cfg\n"}, volume_id="LATER")
    return stick


@pytest.fixture(scope="module")
def fat32_stick(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> FsStick:
    return _make(
        tmp_path_factory.mktemp("fat32"), fixture_isos, ("live_fsmod", "dracut_live"), FsType.fat32
    )


def _media(stick: FsStick) -> dict[str, str | None]:
    rows = json.loads(sik("list", "--image", stick.image, "--json").stdout)
    return {row["file"]: row["medium"] for row in rows}


def test_exfat_is_the_default_and_each_iso_has_its_medium(
    exfat_stick: FsStick, fat32_stick: FsStick
) -> None:
    assert read_layout(exfat_stick.image).data_fs is FsType.exfat  # `sik install` without --fs
    assert read_layout(fat32_stick.image).data_fs is FsType.fat32
    exfat = _media(exfat_stick)
    assert exfat[NAMES["live_fsmod"]] == "ISO file + filesystem module from the ISO"
    assert exfat[NAMES["dracut_live"]] == exfat[NAMES["kiwi_live"]] == "ISO file"
    # Copied after generate: `sik list` scans /boot/iso itself, so it sees them.
    assert exfat[NEW_LOOPBACK] == "GRUB"
    assert exfat[NEW_UNKNOWN] is None
    assert set(_media(fat32_stick).values()) == {"ISO file"}


# (stick, fixture, firmware, filesystem type the booted system shows for the ISO's partition)
BOOTS = [
    ("exfat", "live_fsmod", Firmware.uefi, "exfat"),
    ("exfat", "dracut_live", Firmware.uefi, "exfat"),
    ("exfat", "kiwi_live", Firmware.bios, "exfat"),
    ("fat32", "dracut_live", Firmware.uefi, "vfat"),
]
# Where each initramfs mounted the partition holding the ISO file.
ISO_PARTITION_MOUNT = {
    "live_fsmod": "/run/live/findiso",
    "dracut_live": "/run/initramfs/isoscan",
    "kiwi_live": "/run/initramfs/isoscan",
}


@pytest.mark.parametrize(("fs", "kind", "firmware", "fstype"), BOOTS)
def test_iso_boots_from_its_file(
    request: pytest.FixtureRequest, fs: str, kind: str, firmware: Firmware, fstype: str, tmp_path: Path
) -> None:
    stick: FsStick = request.getfixturevalue(f"{fs}_stick")
    image = copy_of(stick.image, tmp_path)
    sik("boot-once", NAMES[kind], "--image", image)
    marker = stick.markers[kind]
    result = boot_until(
        image, firmware, marker, timeout=TIMEOUT[kind], log_path=tmp_path / "serial.log", bus="usb"
    )
    print(f"{kind} from {fs} under {firmware}: {result.seconds:.0f} s")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s; log:\n{result.log[-3000:]}"
    mounts = [line for line in result.log.splitlines() if "sik-fixture: mount:" in line]
    where = ISO_PARTITION_MOUNT[kind]
    assert any(f" {where} {fstype} " in line for line in mounts), "\n".join(mounts)
    assert LOCKED in result.log


def _boot_new(stick: FsStick, name: str, firmware: Firmware, marker: str, tmp_path: Path) -> str:
    image = copy_of(stick.image, tmp_path)
    with open_stick(image, None) as mounted:
        update_env(mounted.grubenv, next_entry=f"sik-new-isos>new:{name}")
    result = boot_until(
        image, firmware, marker, timeout=TIMEOUT["loopback"], log_path=tmp_path / "serial.log", bus="usb"
    )
    print(f"new ISO {name} under {firmware}: {result.seconds:.0f} s")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s; log:\n{result.log[-3000:]}"
    return result.log


def test_new_iso_boots_through_its_loopback_cfg(exfat_stick: FsStick, tmp_path: Path) -> None:
    log = _boot_new(exfat_stick, NEW_LOOPBACK, Firmware.uefi, exfat_stick.markers["loopback"], tmp_path)
    assert f"findiso=/boot/iso/{NEW_LOOPBACK}" in log


def test_new_iso_without_loopback_cfg_says_run_sik_generate(
    exfat_stick: FsStick, tmp_path: Path
) -> None:
    # One short line each: GRUB wraps its console at 80 columns.
    message = "sik: run sik generate on this stick to give it a menu entry."
    log = _boot_new(exfat_stick, NEW_UNKNOWN, Firmware.bios, message, tmp_path)
    lines = rf"sik: /boot/iso/{re.escape(NEW_UNKNOWN)}\r?\n\r?sik: was copied onto the stick after"
    assert re.search(lines, log), log[-2000:]
