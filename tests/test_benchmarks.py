"""The benchmark runs end to end on tiny inputs (figures are not checked: speed is measured
by `python -m benchmarks`, never asserted in tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.bootmedia import KERNEL_ARGS, SUBJECTS, make_hybrid, serial_menu
from benchmarks.bootrun import Line
from benchmarks.milestones import read_milestones
from sik.core.model import Detection
from sik.core.run import run
from sik.detection.detect import detect
from sik.detection.iso import open_iso
from sik.detection.plugins import load_detectors
from tests.fixtures.liveisos import build_fixture_isos


def test_quick_benchmark_writes_every_row_and_the_machine(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    assert main(["--quick", "--cache", str(tmp_path / "cache"), "--results", str(results)]) == 0
    text = results.read_text()
    for measure in (
        "detect one 100-file ISO",
        "`sik generate`",
        "peak RSS",
        "`sik add`",
        "`sik --help`",
    ):
        assert measure in text
    for peer in ("pycdlib", "bsdtar", "xorriso", "cp + sync", "python3 -c pass"):
        assert peer in text
    assert "## Machine" in text and "CPU:" in text and "kernel:" in text


# A real console of the boot benchmark (a sik stick under OVMF), cut to the lines that matter:
# arrival time on the host, then the line as the serial port gave it.
_CONSOLE = """\
9.308 BdsDxe: starting Boot0001 "UEFI QEMU QEMU USB HARDDRIVE 1-0000:00:01.0-1" from PciRoot(0x0)
9.466     Booting `Debian GNU/Linux 12.11.0 (amd64)'Booting `Debian GNU/Linux 12.11.0 (amd64)'
25.301 [    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)
25.500 [    0.002140] Calibrating delay loop (skipped), value calculated using timer frequency..
38.135 [   11.249952] Run /init as init process
77.481 Begin: Running /scripts/live-premount ... done.
82.153 [   55.268342] EXT4-fs (sda3): mounted filesystem with ordered data mode. Quota mode: none.
82.329 [   55.444943] EXT4-fs (sda3): unmounting filesystem.
83.434 [   56.550342] ISO 9660 Extensions: Microsoft Joliet Level 3
83.438 [   56.554337] ISO 9660 Extensions: RRIP_1991A
93.481 Begin: Running /scripts/live-bottom ... done.
94.751 [   67.864865] Not activating Mandatory Access Control as /sbin/tomoyo-init does not exist.
149.603 sik-fixture: cmdline: BOOT_IMAGE=(loop)/live/vmlinuz-6.1.0-57-amd64 boot=live components
149.649 SIK-FIXTURE-BOOTED live-boot
"""


def test_boot_milestones_join_the_kernel_clock_to_the_host_clock() -> None:
    lines = [Line(float(t), text) for t, text in (row.split(" ", 1) for row in _CONSOLE.splitlines())]
    found = read_milestones(lines, "live-boot", "SIK-FIXTURE-BOOTED live-boot")
    # Kernel lines past the first second arrive 26.884-26.886 s after their timestamp; the
    # first ones, stamped while the guest's clock settles, earlier: the median ignores them.
    offset = 26.885
    assert found.at["entry"] == 9.466
    assert found.at["kernel"] == 25.301  # the first kernel line's arrival
    assert found.at["init"] == pytest.approx(offset + 11.249952, abs=0.002)
    assert found.at["iso"] == pytest.approx(offset + 56.550342, abs=0.002)
    assert found.at["root"] == 93.481  # a userspace line: its arrival
    assert found.at["userspace"] == 149.649
    phases = found.phases()
    assert sum(v for v in phases.values() if v is not None) == pytest.approx(149.649)
    assert phases["kernel"] == pytest.approx(25.301 - 9.466)


def test_boot_milestones_not_seen_stay_empty_and_the_next_phase_spans_them() -> None:
    lines = [
        Line(3.0, "  Booting `x'"),
        Line(10.0, "[    0.000000] Linux version 6.1.0"),
        Line(15.0, "[    5.000000] Run /init as init process"),
        Line(50.0, "MARKER"),
    ]
    found = read_milestones(lines, "dracut", "MARKER")
    assert found.at["iso"] is None and found.at["root"] is None
    assert found.phases() == {
        "entry": 3.0, "kernel": 7.0, "init": 5.0, "iso": None, "root": None, "userspace": 35.0
    }  # fmt: skip


def test_the_isos_own_menu_reaches_the_serial_console_with_sik_s_kernel_arguments() -> None:
    menu = "set timeout=5\n\nmenuentry 'Live' {\n    linux /vmlinuz boot=live quiet splash\n}\n"
    edited = serial_menu(menu)
    assert edited.startswith("serial --unit=0 --speed=115200\n")
    assert "set timeout=0\n" in edited and "timeout=5" not in edited
    assert f"    linux /vmlinuz boot=live {KERNEL_ARGS}\n" in edited


@pytest.mark.parametrize("key", list(SUBJECTS))
def test_a_fixture_made_bootable_has_bios_and_uefi_boot_records_and_detects_the_same(
    key: str, tmp_path: Path
) -> None:
    source = getattr(build_fixture_isos(), key)
    hybrid = tmp_path / source.name
    make_hybrid(source, hybrid)
    report = run(["xorriso", "-indev", hybrid, "-report_el_torito", "plain"], capture=True)
    platforms = re.findall(r"El Torito boot img :\s+\d+\s+(\w+)\s+y", report.stdout.decode())
    assert platforms == ["BIOS", "UEFI"]
    mbr = hybrid.read_bytes()[:512]
    assert mbr[510:] == b"\x55\xaa" and mbr[446 + 16 + 4] == 0xEF  # partition 2: the ESP
    detectors = load_detectors()
    verdicts = []
    for iso in (source, hybrid):
        with open_iso(iso) as view:
            assert view.volume_id
            verdicts.append((view.volume_id, detect(view, detectors).outcome))
    (label, before), (same_label, after) = verdicts
    assert label == same_label
    assert isinstance(before, Detection) and isinstance(after, Detection)
    fields = ("detector", "method", "kernel", "initrds", "cmdline")
    assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]
