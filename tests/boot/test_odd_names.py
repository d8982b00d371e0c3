"""ISO names on the kernel command line, end to end (issue 13, item 10). A name with a quote
cannot go on live-boot's command line, so it boots as a virtual CD, which names no path
(sik/menu/medium.py; tests/boot/test_virtual_cd.py boots those); a name that is unusual but
allowed ($, ;, #, non-ASCII) boots from its file: live-boot's initramfs finds the ISO by the
path GRUB passed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.drive.open_stick import open_stick
from sik.vm.qemu import boot_until
from tests.boot.conftest import SERIAL_MENU
from tests.clirun import sik
from tests.fixtures.liveisos import FixtureIsos

pytestmark = pytest.mark.boot

ODD = "debian-live-$HOME;x#1-é.iso"
QUOTED = "debian-live-it's.iso"


def test_an_odd_name_boots_and_a_quoted_one_says_why(fixture_isos: FixtureIsos, tmp_path: Path) -> None:
    image = tmp_path / "sik.img"
    sources = [tmp_path / ODD, tmp_path / QUOTED]
    for source in sources:
        source.symlink_to(fixture_isos.live_boot)
    # ext4: the live_boot fixture's initrd cannot read exFAT and its squashfs holds no
    # exfat.ko to add (sik warns so); test_boot_filesystems.py boots the exFAT paths.
    sik("install", "--image", image, "--size", "600M", "--fs", "ext4")
    sik("generate", "--image", image, *SERIAL_MENU)
    sik("add", "--image", image, *sources)
    rows = {row["file"]: row for row in json.loads(sik("list", "--image", image, "--json").stdout)}
    assert rows[QUOTED]["entry"] is not None and rows[QUOTED]["medium"] == "virtual CD"
    with open_stick(image, None) as stick:
        assert "findiso=/boot/iso/debian-live-it" not in stick.grub_cfg.read_text()
    assert rows[ODD]["entry"] is not None and rows[ODD]["medium"] == "ISO file"
    sik("boot-once", ODD, "--image", image)
    marker = fixture_isos.markers["live_boot"]
    result = boot_until(image, Firmware.bios, marker, timeout=300, log_path=tmp_path / "serial.log")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s:\n{result.log[-3000:]}"
    assert f"findiso=/boot/iso/{ODD}" in result.log  # the kernel's command line, as booted
