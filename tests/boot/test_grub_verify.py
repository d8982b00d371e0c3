"""The "Verify stick" menu entry: GRUB itself checks each ISO against the SHA-256 sums sik
recorded (`hashsum --check`), and says which ISO is damaged; under SeaBIOS and OVMF."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.drive.open_stick import open_stick
from sik.menu.grubenv import update_env
from sik.vm.qemu import boot_until
from tests.boot.conftest import SERIAL_MENU, STICK_NAMES
from tests.clirun import sik
from tests.fixtures.liveisos import FixtureIsos
from tests.isobuilder import LOOPBACK, build_iso

pytestmark = pytest.mark.boot


@pytest.fixture(scope="module")
def verify_stick(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stick with memtest86+ intact and another ISO with one bit flipped after `sik add`,
    set to boot the "Verify stick" entry."""
    work = tmp_path_factory.mktemp("grub-verify")
    image = work / "sik.img"
    memtest = work / STICK_NAMES["memtest"]
    memtest.symlink_to(fixture_isos.memtest)
    other = build_iso(work / "other.iso", LOOPBACK | {"pad": os.urandom(2 * 2**20)})
    sik("install", "--image", image, "--size", "300M")
    sik("generate", "--image", image, *SERIAL_MENU)
    sik("add", "--image", image, memtest, other)
    with open_stick(image, None) as stick:
        assert "menuentry 'Verify stick" in stick.grub_cfg.read_text()
        with (stick.iso_dir / "other.iso").open("r+b") as f:  # one flipped bit, in the padding
            f.seek(other.stat().st_size - 1000)
            byte = f.read(1)[0]
            f.seek(-1, 1)
            f.write(bytes([byte ^ 1]))
        update_env(stick.grubenv, next_entry="sik-verify")
    return image


@pytest.mark.parametrize("firmware", list(Firmware))
def test_verify_entry_reports_intact_and_damaged_isos(
    verify_stick: Path, firmware: Firmware, tmp_path: Path
) -> None:
    # QEMU runs with snapshot=on: the boot's save_env does not reach the image.
    result = boot_until(
        verify_stick, firmware, "Press Escape to go back", timeout=240, log_path=tmp_path / "serial.log"
    )
    assert result.found, result.log[-3000:]
    assert f"boot/iso/{STICK_NAMES['memtest']}: OK" in result.log
    assert "boot/iso/other.iso: HASH MISMATCH" in result.log
    assert "Verify stick: some ISOs are damaged" in result.log
