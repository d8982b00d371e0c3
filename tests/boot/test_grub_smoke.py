"""GRUB's whole chain on a sik disk, booted in QEMU: under SeaBIOS the MBR loads core.img from
the BIOS boot partition; under OVMF the firmware loads EFI/BOOT/BOOTX64.EFI from the ESP. Both
then find the data partition by filesystem UUID and run its /boot/grub/grub.cfg, which prints
a marker on the serial console and halts the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from sik.core.model import Firmware, FsType
from sik.core.stick import Stick
from sik.drive import bootloader
from sik.drive import layout as drive
from sik.drive.layout import MIB
from sik.drive.mount import mounted_data_partition
from sik.vm.qemu import boot_until

MARKER = "SIK-GRUB-OK"
GRUB_CFG = f"""\
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
echo {MARKER}
halt
"""
# TCG boots GRUB in seconds (SeaBIOS ~1 s, OVMF ~5 s here); the margin is for a loaded machine.
TIMEOUT = 120.0

pytestmark = [pytest.mark.boot, pytest.mark.root]


@pytest.fixture(scope="module", params=list(FsType), ids=str)
def image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fs: FsType = request.param
    path = tmp_path_factory.mktemp(f"smoke-{fs}") / "disk.img"
    drive.create_image(path, 600 * MIB)
    layout = drive.format_partitions(drive.partition(path), fs)
    with mounted_data_partition(layout) as root:
        bootloader.install_grub(layout, Stick(root))
        (root / "boot" / "grub" / "grub.cfg").write_text(GRUB_CFG)
    return path


@pytest.mark.parametrize("firmware", list(Firmware), ids=str)
def test_grub_reaches_grub_cfg(image: Path, firmware: Firmware, tmp_path: Path) -> None:
    result = boot_until(image, firmware, MARKER, timeout=TIMEOUT, log_path=tmp_path / "serial.log")
    assert result.found, f"no {MARKER} after {result.seconds:.1f} s; serial log:\n{result.log}"
