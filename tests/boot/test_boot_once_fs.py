"""`sik boot-once` on FAT32 and exFAT sticks (issue 13, item 20): GRUB boots the chosen entry
and its `save_env` clears next_entry on the data partition, through GRUB's fat and exfat
drivers, so the boot after it shows the menu again. Memtest86+ is the quickest entry to boot."""

from __future__ import annotations

from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.drive.open_stick import open_stick
from sik.menu.grubenv import read_env
from sik.vm.qemu import boot_until
from tests.boot.conftest import MEMTEST_MARKER, SERIAL_MENU, STICK_NAMES
from tests.clirun import sik
from tests.fixtures.liveisos import FixtureIsos

pytestmark = pytest.mark.boot


@pytest.mark.parametrize("fs", ["fat32", "exfat"])
def test_boot_once_clears_itself_on_fat32_and_exfat(
    fixture_isos: FixtureIsos, tmp_path: Path, fs: str
) -> None:
    image = tmp_path / "sik.img"
    memtest = tmp_path / STICK_NAMES["memtest"]
    memtest.symlink_to(fixture_isos.memtest)
    sik("install", "--image", image, "--size", "300M", "--fs", fs)
    sik("generate", "--image", image, *SERIAL_MENU)
    sik("add", "--image", image, memtest)
    sik("boot-once", memtest.name, "--image", image)
    with open_stick(image, None) as stick:
        chosen = read_env(stick.grubenv)["next_entry"]
        assert chosen.startswith("iso-memtest")
    # Not a snapshot: what GRUB's save_env writes must land in the image.
    result = boot_until(
        image,
        Firmware.bios,
        MEMTEST_MARKER,
        timeout=240,
        log_path=tmp_path / "serial.log",
        snapshot=False,
    )
    assert result.found, f"no {MEMTEST_MARKER!r} after {result.seconds:.0f} s:\n{result.log[-3000:]}"
    with open_stick(image, None) as stick:
        assert read_env(stick.grubenv).get("next_entry", "") == ""
