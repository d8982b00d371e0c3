"""KIWI live persistence (`sik persist` for a kiwi-live ISO), proven by booting: the KIWI
fixture boots twice from its own stick, first under SeaBIOS and then under OVMF.

Each boot, sik's initrd copies the stick's /boot/customize/overlay into the root KIWI set up,
whose writes go to KIWI's cow file (/live_system.cow, which kiwi-live mounts as the overlay's
upper layer when the ISO is loop-booted through iso-scan). The first boot's overlay brings
one file to /etc, the second boot's another. Afterwards the cow file holds both: the second
boot's root was stacked on the same store, which kept the first boot's change. KIWI neither
recreated the cow file nor touched the stick's partition table (its other way to persist, a
new partition on the boot disk).

The fixture's busybox init cannot be asked what /etc holds: /boot/customize/init does not run
there (a systemd initramfs ignores the launcher sik offers non-systemd roots), hence the look
into the cow file.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.core.run import run
from sik.drive.open_stick import open_stick
from sik.vm.qemu import BootResult, boot_until
from tests.boot.conftest import SERIAL_MENU, STICK_NAMES
from tests.clirun import sik
from tests.fixtures.liveisos import build_fixture_isos

pytestmark = pytest.mark.boot

# The machine is shared and QEMU runs under TCG; a KIWI boot took about 85 s at a low load.
TIMEOUT = 900
NAME = STICK_NAMES["kiwi_live"]
SIZE = 64 * 2**20
ETC = {"first": "from-the-first-boot", "second": "from-the-second-boot"}


def _partition_table(image: Path) -> str:
    return run(["sfdisk", "--dump", image], capture=True).stdout.decode()


def _boot(image: Path, firmware: Firmware, marker: str, log: Path) -> BootResult:
    chosen = sik("boot-once", NAME, "--image", image)
    assert chosen.exit_code == 0, chosen.output
    # Not a snapshot: the second boot must see what the first one wrote. The fixture syncs and
    # powers off after its marker; stopping QEMU earlier would lose the cow file's last writes
    # (no sync runs in between here: KIWI's initramfs has no sync program, and
    # /boot/customize/init, which could run one, needs a systemd root under KIWI).
    result = boot_until(
        image, firmware, marker, timeout=TIMEOUT, log_path=log, snapshot=False, poweroff_grace=60
    )
    print(f"kiwi-live under {firmware}: {result.seconds:.0f} s")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s; serial log:\n{result.log[-4000:]}"
    return result


def _overlay_etc(image: Path, boot: str) -> None:
    """What a user copies on by hand: this boot's file, and no other, in the overlay's /etc."""
    with open_stick(image, None) as stick:
        etc = stick.root / "boot/customize/overlay/etc"
        etc.mkdir(parents=True, exist_ok=True)
        for other in etc.iterdir():
            other.unlink()
        (etc / ETC[boot]).write_text(f"written in the {boot} boot\n")


def _upper_file(cow: Path, name: str) -> str:
    """A file of the overlay's upper layer, read from the cow file's ext4 with debugfs."""
    return run(["debugfs", "-R", f"cat /rw/etc/{name}", cow], capture=True).stdout.decode()


def test_kiwi_persistence_keeps_etc_across_boots(tmp_path: Path) -> None:
    isos = build_fixture_isos()
    source = tmp_path / NAME
    source.symlink_to(isos.kiwi_live)
    image = tmp_path / "kiwi.img"
    sik("install", "--image", image, "--size", "1G", "--fs", "ext4")
    sik("generate", "--image", image, *SERIAL_MENU)
    sik("add", "--image", image, source)
    sik("persist", NAME, "--size", "64M", "--image", image)
    table = _partition_table(image)
    marker = isos.markers["kiwi_live"]
    # kiwi-live's persistent overlay: the cow file on a loop device, the root's upper layer on it.
    kept = ("/run/overlay/overlayfs ext4 rw", "upperdir=/run/overlay/overlayfs/rw")

    _overlay_etc(image, "first")
    sik("generate", "--image", image)
    first = _boot(image, Firmware.bios, marker, tmp_path / "first.log").log
    assert all(k in first for k in kept), first[-4000:]
    _overlay_etc(image, "second")
    second = _boot(image, Firmware.uefi, marker, tmp_path / "second.log").log
    assert all(k in second for k in kept), second[-4000:]

    assert _partition_table(image) == table
    with tempfile.TemporaryDirectory(dir=tmp_path) as out:
        with open_stick(image, None) as stick:
            cow = stick.root / "live_system.cow"
            assert cow.stat().st_size == SIZE
            copy = Path(out, cow.name)
            run(["cp", "--sparse=always", cow, copy])
        # The last boot's changes may still sit in the ext4 journal, which the next mount
        # replays and debugfs does not: replay it as that mount would.
        replayed = subprocess.run(["e2fsck", "-y", "-E", "journal_only", copy], capture_output=True)
        assert replayed.returncode in (0, 1), replayed.stderr
        assert _upper_file(copy, ETC["first"]) == "written in the first boot\n"
        assert _upper_file(copy, ETC["second"]) == "written in the second boot\n"
