"""Booting is the product: every entry of a sik stick, under SeaBIOS and under OVMF, chosen
with `sik boot-once` and proven by its marker on the serial console."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.vm.qemu import BootResult, boot_until
from tests.boot.conftest import (
    IPXE_NO_UEFI_MESSAGE,
    STICK_NAMES,
    UNKNOWN_ISO_NAME,
    UNKNOWN_VOLUME_ID,
    BootStick,
    copy_of,
)
from tests.clirun import sik

pytestmark = pytest.mark.boot

TIMEOUT = {
    "live_boot": 240, "dracut_live": 240, "loopback": 240, "memtest": 120,
    "kiwi_live": 300, "grub_image": 120, "ipxe": 120, "ipxe_bios_only": 120,
}  # fmt: skip
# Combinations that cannot boot: the entry must say why on the console instead (its own test).
CANNOT_BOOT = {("ipxe_bios_only", Firmware.uefi): IPXE_NO_UEFI_MESSAGE}
# Entries whose program writes to the BIOS screen only: SeaBIOS copies it to the serial port.
BIOS_SCREEN_ONLY = frozenset({"ipxe", "ipxe_bios_only"})
BOOTABLE = [
    (kind, firmware)
    for kind in STICK_NAMES
    for firmware in Firmware
    if (kind, firmware) not in CANNOT_BOOT
]


def _boot(
    boot_stick: BootStick, kind: str, firmware: Firmware, marker: str, tmp_path: Path
) -> BootResult:
    image = copy_of(boot_stick.image, tmp_path)
    sik("boot-once", STICK_NAMES[kind], "--image", image)
    result = boot_until(
        image,
        firmware,
        marker,
        timeout=TIMEOUT[kind],
        log_path=tmp_path / "serial.log",
        sercon=kind in BIOS_SCREEN_ONLY,
    )
    print(f"{kind} under {firmware}: {result.seconds:.0f} s to {marker!r}")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s; serial log:\n{result.log[-3000:]}"
    return result


@pytest.mark.parametrize(("kind", "firmware"), BOOTABLE)
def test_entry_boots(boot_stick: BootStick, kind: str, firmware: Firmware, tmp_path: Path) -> None:
    _boot(boot_stick, kind, firmware, boot_stick.markers[kind], tmp_path)


@pytest.mark.parametrize(("kind", "firmware"), sorted(CANNOT_BOOT))
def test_entry_that_cannot_boot_says_why(
    boot_stick: BootStick, kind: str, firmware: Firmware, tmp_path: Path
) -> None:
    """Not a boot: the entry stays on GRUB's screen with a reason, and nothing starts."""
    result = _boot(boot_stick, kind, firmware, CANNOT_BOOT[(kind, firmware)], tmp_path)
    assert boot_stick.markers[kind] not in result.log


def test_bad_files_are_listed_with_reasons_and_get_no_entry(boot_stick: BootStick) -> None:
    listed = sik("list", "--image", boot_stick.image, "--json")
    rows = {row["file"]: row for row in json.loads(listed.stdout)}
    assert rows["x.iso"]["notes"] == ["not an ISO 9660 image (no volume descriptor at sector 16)"]
    assert rows["truncated.iso"]["notes"][0].startswith("truncated ISO image (614400 of ")
    assert rows[UNKNOWN_ISO_NAME]["notes"][0].startswith(
        f"no detector recognises this ISO (volume label {UNKNOWN_VOLUME_ID!r}"
    )
    assert all(rows[name]["entry"] is None for name in ("x.iso", "truncated.iso", UNKNOWN_ISO_NAME))
    assert all(rows[name]["status"] == "ok" for name in STICK_NAMES.values())
