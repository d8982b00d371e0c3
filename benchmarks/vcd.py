"""Virtual CD against a real CD: the boot time of one CD-only system (tests/fixtures/cdonly.py,
scan_all) booted from a sik stick as a virtual CD, and the same ISO booted as a CD in a USB
drive. Same QEMU flags for both (q35, TCG, 1 GiB, an xHCI controller with the medium on it:
usb-storage for the stick, usb-bot + scsi-cd for the CD); one run per firmware, time from
QEMU's start to the system's marker on the serial console; reported as a ratio.

    python -m benchmarks.vcd [--cache DIR] [--results FILE]

The ISO is made bootable as a CD (grub-mkrescue: GRUB's El Torito images for BIOS and UEFI,
its menu with no timeout and the serial console, the kernel arguments sik's stick passes).
On the stick, sik's grub-image detector, which would hand over to that GRUB menu, is
disabled in sik.toml, so the entry is sik's own: the ISO as a virtual CD (a loop device at
the file's offset, found by the generic wrapper). A separate module, so that it can join the
boot-time benchmark of benchmarks/ later.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import Firmware
from sik.core.run import run
from sik.drive.open_stick import open_stick
from sik.vm.qemu import boot_until
from tests.fixtures.cdonly import build_cdonly_isos

RESULTS = Path(__file__).with_name("VCD-RESULTS.md")
KERNEL_ARGS = "console=ttyS0,115200"
TIMEOUT = 600
_CD_MENU = """\
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=0
menuentry 'SIK CD-only live system' {{
    linux /boot/vmlinuz {args}
    initrd /boot/initrd.gz
}}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vcd", description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/sik-bench/vcd")
    parser.add_argument("--results", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    options.cache.mkdir(parents=True, exist_ok=True)
    fixtures = build_cdonly_isos()
    iso = _bootable(fixtures.scan_all, options.cache)
    marker = fixtures.markers["scan_all"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="sik-vcd-bench-") as tmp:
        stick = _stick(iso, Path(tmp))
        for firmware in Firmware:
            vcd = _boot(stick, firmware, marker, Path(tmp) / f"vcd-{firmware}.log", cd=False)
            cd = _boot(iso, firmware, marker, Path(tmp) / f"cd-{firmware}.log", cd=True)
            rows.append((firmware, vcd, cd))
            _say(f"{firmware}: virtual CD {vcd:.1f} s, CD {cd:.1f} s, ratio {vcd / cd:.2f}")
    _write(options.results, rows)
    _say(f"wrote {options.results}")
    return 0


def _bootable(source: Path, cache: Path) -> Path:
    target = cache / f"{source.parent.name}-{source.stem}-cd.iso"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(prefix="sik-vcd-bench-") as tmp:
        tree = Path(tmp) / "tree"
        run(["xorriso", "-osirrox", "on", "-indev", source, "-extract", "/", tree], capture=True)
        for path in [tree, *tree.rglob("*")]:  # xorriso restores the ISO's read-only modes
            path.chmod(path.stat().st_mode | 0o200)
        (tree / "boot/grub/grub.cfg").write_text(_CD_MENU.format(args=KERNEL_ARGS))
        label = run(["xorriso", "-indev", source, "-pvd_info"], capture=True).stdout.decode()
        volume = next(
            line.split(":", 1)[1].strip() for line in label.splitlines() if line.startswith("Volume Id")
        )
        partial = target.with_suffix(".partial")
        run(["grub-mkrescue", "-o", partial, tree, "--", "-volid", volume], capture=True)
        partial.rename(target)
    return target


def _stick(iso: Path, work: Path) -> Path:
    image = work / "stick.img"
    _sik("install", "--image", image, "--size", "1G", "--fs", "exfat")
    with open_stick(image, None) as stick:
        stick.options_file.write_text('[detectors]\nfolders = []\ndisable = ["grub-image"]\n')
    _sik("generate", "--image", image, "--kernel-args", KERNEL_ARGS, "--serial", "--timeout", "0")
    _sik("add", "--image", image, iso)
    listed = CliRunner().invoke(app, ["list", "--image", str(image), "--json"])
    (row,) = json.loads(listed.stdout)
    if row["medium"] != "virtual CD":
        raise SystemExit(f"the stick boots {iso.name} as {row['medium']!r}, not as a virtual CD")
    _say(f"stick: {row['medium']} ({row['medium_detail']})")
    chosen = CliRunner().invoke(app, ["boot-once", iso.name, "--image", str(image)])
    assert chosen.exit_code == 0, chosen.output
    return image


def _boot(image: Path, firmware: Firmware, marker: str, log: Path, *, cd: bool) -> float:
    started = time.monotonic()
    result = boot_until(
        image, firmware, marker, timeout=TIMEOUT, log_path=log, bus="usb-cd" if cd else "usb"
    )
    if not result.found:
        raise SystemExit(f"no marker after {time.monotonic() - started:.0f} s:\n{result.log[-2000:]}")
    return result.seconds


def _sik(*args: str | Path) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exit_code not in (0, 3):
        raise SystemExit(f"sik {args[0]} failed: {result.exception or result.output}")


def _write(path: Path, rows: list[tuple[Firmware, float, float]]) -> None:
    lines = [
        "# Virtual CD against a real CD",
        "",
        "`python -m benchmarks.vcd` (benchmarks/vcd.py): seconds from QEMU's start to the CD-only",
        "system's marker, one run each, TCG on this 2-core machine shared with other jobs.",
        "",
        "| firmware | virtual CD from a sik stick (s) | the ISO as a CD (s) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {fw} | {vcd:.1f} | {cd:.1f} | {vcd / cd:.2f} |" for fw, vcd, cd in rows]
    lines += ["", f"Measured {time.strftime('%Y-%m-%d')}, {shutil.which('qemu-system-x86_64')}.", ""]
    path.write_text("\n".join(lines))


def _say(line: str) -> None:
    print(f"• {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
