"""Virtual CDs, booted: ISOs whose initramfs can only find a CD, on ext4, exFAT and FAT32 sticks
made with the CLI, attached as USB storage (xHCI) under SeaBIOS and OVMF.

- tests/fixtures/cdonly.py's CD-only systems (no ext4, exFAT or FAT driver): the generic
  wrapper (scan_all) and the Proxmox-style whole-disk scan patched at build time
  (whole_disk), through a loop device at the file's offset, device-mapper over a fragmented
  copy (dm-mod taken from the ISO's squashfs "modloop", dmsetup bundled), and in RAM;
- the dracut fixture without iso-scan (root=live:CDLABEL= finds the device), whose booted
  system writes to the data partition at /run/sik/stick, and finds it on the next boot;
- an ISO moved after `sik generate`: one line, and it does not boot.
Each mechanism boots once under SeaBIOS and once under OVMF. One stick per filesystem holds
the fixtures, built once per run; each boot runs on a copy of it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import Firmware
from sik.drive.open_stick import open_stick
from sik.vm.qemu import BootResult, boot_until
from tests.boot.conftest import SERIAL_MENU, copy_of
from tests.clirun import sik
from tests.fixtures.cdonly import CdOnlyIsos, build_cdonly_isos
from tests.fixtures.liveisos import FixtureIsos, _locked

pytestmark = pytest.mark.boot

TIMEOUT = 300
SCAN = "sikcd-scan-1.0.iso"
PVE = "proxmox-ve_8.3-1.iso"
FEDORA = "Fedora-Sik-Live-x86_64-40.iso"
# The booted dracut fixture's /boot/customize/init: it writes to the data partition on the
# first boot and reads it back on the second.
PROOF_INIT = """\
#!/bin/sh
proof=/run/sik/stick/boot/sik/vcd-proof
if [ -f "$proof" ]; then
    echo "SIK-TEST proof kept: $(cat "$proof")"
else
    echo "written in a virtual-CD boot" >"$proof" && echo "SIK-TEST proof written"
fi
sync
"""


@dataclass(frozen=True)
class Sticks:
    images: dict[str, Path]  # "ext4", "exfat", "fat32"
    cdonly: CdOnlyIsos
    dracut_marker: str


@pytest.fixture(scope="session")
def sticks(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> Sticks:
    """Built once per test run, under a lock, in the folder pytest-xdist's workers share: the
    second worker finds them made (a FAT32 stick takes half a minute to install here)."""
    cdonly = build_cdonly_isos()
    base = tmp_path_factory.getbasetemp()
    work = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "vcd-sticks"
    work.mkdir(exist_ok=True)
    with _locked(work / ".lock"):
        if not (work / "done").exists():
            _build_sticks(work, cdonly, fixture_isos.dracut_live)
            (work / "done").touch()
    images = {fs: work / f"{fs}.img" for fs in ("ext4", "exfat", "fat32")}
    return Sticks(images, cdonly, fixture_isos.markers["dracut_live"])


def _build_sticks(work: Path, cdonly: CdOnlyIsos, dracut_live: Path) -> None:
    fedora = work / FEDORA
    fedora.unlink(missing_ok=True)
    fedora.symlink_to(dracut_live)
    # ext4: the whole-disk scanner at the file's offset; the generic one asked into RAM.
    _stick(work, "ext4", [cdonly.whole_disk, cdonly.scan_all], {SCAN: "in RAM"})
    # exFAT: the generic scanner, and dracut without iso-scan with a customisation.
    _stick(work, "exfat", [cdonly.scan_all, fedora], {FEDORA: "virtual CD"}, PROOF_INIT)
    # FAT32, its free space in 1 MiB holes: both CD-only systems through device-mapper.
    _stick(work, "fat32", [cdonly.scan_all, cdonly.whole_disk], {}, fragment=True)


def _stick(
    work: Path,
    fs: str,
    isos: list[Path],
    medium: dict[str, str],
    init: str | None = None,
    *,
    fragment: bool = False,
) -> Path:
    image = work / f"{fs}.img"
    image.unlink(missing_ok=True)  # a run killed half-way left it
    # Sparse images. ext4 gets 2 GiB, so 4 KiB blocks and 128 MiB groups: room for an ISO in
    # one extent; the FAT32 stick is filled up, so it is small.
    sik("install", "--image", image, "--size", "400M" if fragment else "2G", "--fs", fs)
    sik("generate", "--image", image, *SERIAL_MENU)
    with open_stick(image, None) as stick:  # what a user writes by hand
        if medium:
            lines = "".join(f'"{name}" = "{value}"\n' for name, value in medium.items())
            stick.options_file.write_text(stick.options_file.read_text() + "\n[medium]\n" + lines)
        if init:
            (stick.root / "boot/customize/init").write_text(init)
        if fragment:
            _fragment(stick.root)
    sik("add", "--image", image, *isos)
    return image


def _fragment(root: Path) -> None:
    """Fill the free space with 1 MiB files and free every other one: no free run is longer
    than 1 MiB, so an ISO must be split."""
    (root / "fill").mkdir()
    written = []
    for index in range(2000):
        path = root / "fill" / f"{index:04d}"
        try:
            path.write_bytes(bytes(2**20))
        except OSError:
            path.unlink(missing_ok=True)
            break
        written.append(path)
    for path in written[::2]:
        path.unlink()


def _listed(image: Path) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(app, ["list", "--image", str(image), "--json"])
    assert result.exit_code == 0, result.output
    return {row["file"]: row for row in json.loads(result.stdout)}


def _boot(
    image: Path, name: str, firmware: Firmware, marker: str, log: Path, **kw: object
) -> BootResult:
    chosen = CliRunner().invoke(app, ["boot-once", name, "--image", str(image)])
    assert chosen.exit_code == 0, chosen.output
    result = boot_until(image, firmware, marker, timeout=TIMEOUT, log_path=log, bus="usb", **kw)  # type: ignore[arg-type]
    print(f"{name} under {firmware}: {result.seconds:.0f} s")
    return result


# (stick, ISO, firmware, what `sik list` says): each mechanism once per firmware. Loop device
# at the file's offset: here under SeaBIOS (ext4, FIEMAP), under OVMF in the dracut test
# (exFAT, parsed). Device-mapper over a fragmented FAT32 copy: the generic wrapper (SeaBIOS)
# and the Proxmox-style build-time patch (OVMF), the same rdinit=/sik/init either way. In RAM:
# GRUB loads the ISO under each firmware.
CASES = [
    ("ext4", PVE, Firmware.bios, "virtual CD", "loop device at the file's offset"),
    ("fat32", SCAN, Firmware.bios, "virtual CD", "device-mapper over its"),
    ("fat32", PVE, Firmware.uefi, "virtual CD", "device-mapper over its"),
    ("ext4", SCAN, Firmware.bios, "in RAM", "needs about"),
    ("ext4", SCAN, Firmware.uefi, "in RAM", "needs about"),
]


@pytest.mark.parametrize("fs,name,firmware,medium,detail", CASES)
def test_cd_only_system_boots_from_its_file(
    sticks: Sticks, fs: str, name: str, firmware: Firmware, medium: str, detail: str, tmp_path: Path
) -> None:
    image = copy_of(sticks.images[fs], tmp_path)  # the workers share the sticks: never open one
    row = _listed(image)[name]
    assert (row["status"], row["medium"]) == ("ok", medium), row
    assert str(row["medium_detail"]).startswith(detail), row
    device = "dm-0" if str(row["medium_detail"]).startswith("device-mapper") else "loop0"
    key = "scan_all" if name == SCAN else "whole_disk"
    marker = f"{sticks.cdonly.markers[key]} from {device}"
    result = _boot(image, name, firmware, marker, tmp_path / "serial.log")
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s; serial log:\n{result.log[-3000:]}"


@pytest.mark.parametrize("firmware", [Firmware.bios, Firmware.uefi])
def test_an_iso_moved_after_generate_prints_one_line_and_does_not_boot(
    sticks: Sticks, firmware: Firmware, tmp_path: Path
) -> None:
    """The file is copied elsewhere on the stick and put back under its name, as a
    defragmenter or a copy from another computer would: grub.cfg still finds it, the extents
    sik recorded hold other bytes now."""
    image = copy_of(sticks.images["exfat"], tmp_path)
    with open_stick(image, None) as stick:
        iso = stick.iso_dir / SCAN
        moved = iso.with_name("moved.tmp")
        moved.write_bytes(iso.read_bytes())
        iso.unlink()
        (stick.root / "filler.bin").write_bytes(os.urandom(24 * 2**20))  # takes the old place
        moved.rename(iso)
    line = f"sik: /boot/iso/{SCAN} changed since sik generate; run sik generate"
    result = _boot(image, SCAN, firmware, line, tmp_path / "serial.log")
    assert result.found, f"no {line!r} after {result.seconds:.0f} s; serial log:\n{result.log[-3000:]}"
    assert sticks.cdonly.markers["scan_all"] not in result.log
    assert "cdonly: init of scan_all started" not in result.log  # the ISO's own init never ran


def test_dracut_without_iso_scan_boots_a_virtual_cd_and_the_stick_stays_writable(
    sticks: Sticks, tmp_path: Path
) -> None:
    image = copy_of(sticks.images["exfat"], tmp_path)
    row = _listed(image)[FEDORA]
    assert (row["medium"], row["medium_detail"]) == ("virtual CD", "loop device at the file's offset")
    marker = sticks.dracut_marker
    first = _boot(image, FEDORA, Firmware.uefi, marker, tmp_path / "first.log", snapshot=False)
    assert first.found, first.log[-3000:]
    assert "SIK-TEST proof written" in first.log
    # The live root came from sik's device (loop or device-mapper), not from iso-scan.
    assert re.search(r"mount: /dev/loop0 /run/initramfs/live iso9660", first.log), first.log[-3000:]
    assert "isoscan" not in first.log and "iso-scan/filename" not in first.log
    assert re.search(r"mount: /dev/sda3 /run/sik/stick exfat rw", first.log), first.log[-3000:]
    second = _boot(image, FEDORA, Firmware.bios, marker, tmp_path / "second.log", snapshot=False)
    assert second.found, second.log[-3000:]
    assert "SIK-TEST proof kept: written in a virtual-CD boot" in second.log
