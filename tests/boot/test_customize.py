"""sik's secondary initrds, proven inside booted systems: each fixture ISO boots twice from one
customised stick, under one firmware and then the other (so every scenario runs under SeaBIOS
and OVMF), and the serial console shows what the booted system saw.

First boot: /boot/customize/init ran, the overlay file is in the root, the ExtensionImage's
program runs, the stick is reachable and writable at /run/sik/stick, the corrupt ExtensionImage
and the failing init script each cost one "sik: ..." line, and the system still boots.
Second boot: what the first wrote to $HOME (/home.img) and to /etc (the distribution's own
persistence, `sik persist`) is still there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.vm.qemu import BootResult, boot_until
from tests.boot.conftest import copy_of
from tests.boot.customize_stick import NAMES, OVERLAY_TEXT, CustomStick, custom_stick
from tests.clirun import sik

pytestmark = pytest.mark.boot
__all__ = ["custom_stick"]  # the fixture, imported so pytest finds it here

# The machine is shared and QEMU runs under TCG. A live-boot boot with its persistence store took
# about 380 s at a load of 4-8 (docs/testing.md: where the time goes); the margin is for busier days.
TIMEOUT = 900
ORDER = {
    "live_boot": (Firmware.bios, Firmware.uefi),
    "dracut_live": (Firmware.uefi, Firmware.bios),
}
KEYS = {"live_boot": "live-boot", "dracut_live": "dracut"}


def _boot(image: Path, kind: str, firmware: Firmware, marker: str, log: Path) -> BootResult:
    sik("boot-once", NAMES[kind], "--image", image)
    # Not a snapshot: the second boot must see what the first one wrote.
    result = boot_until(image, firmware, marker, timeout=TIMEOUT, log_path=log, snapshot=False)
    print(f"{kind} under {firmware}: {result.seconds:.0f} s")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s; serial log:\n{result.log[-4000:]}"
    return result


def _lines(log: str) -> list[str]:
    return [line.strip() for line in log.splitlines() if "SIK-TEST" in line or "sik: " in line]


@pytest.mark.parametrize("kind", list(ORDER))
def test_customised_system_boots_twice(custom_stick: CustomStick, kind: str, tmp_path: Path) -> None:
    image = copy_of(custom_stick.image, tmp_path)
    key, (first_fw, second_fw) = KEYS[kind], ORDER[kind]
    marker = custom_stick.markers[kind]

    first = _lines(_boot(image, kind, first_fw, marker, tmp_path / "first.log").log)
    expected = [
        f"SIK-TEST init ran in {key}",
        f"SIK-TEST overlay: {OVERLAY_TEXT}",
        "SIK-TEST extension program ran",
        f"SIK-TEST stick: {' '.join(sorted(NAMES.values()))}",
        "SIK-TEST stick writable",
        "SIK-TEST home written",
        "SIK-TEST etc written",
        "sik: skipped ExtensionImage broken: not a squashfs image",
        "sik: /boot/customize/init failed (exit status 3)",
    ]
    for line in expected:
        assert any(line in seen for seen in first), f"{line!r} missing; saw:\n" + "\n".join(first)

    second = _lines(_boot(image, kind, second_fw, marker, tmp_path / "second.log").log)
    for line in (
        f"SIK-TEST init ran in {key}",
        "SIK-TEST home kept: an earlier boot",
        "SIK-TEST etc kept: an earlier boot",
    ):
        assert any(line in seen for seen in second), f"{line!r} missing; saw:\n" + "\n".join(second)
