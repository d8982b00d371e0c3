"""Where a boot spends its time: milestones read from the serial console.

Kernel lines carry the kernel's own timestamp (seconds since its clock started); the other
lines (GRUB's, the initramfs scripts', the booted system's) only the host time they arrived. The
two clocks are joined by the median of (arrival - timestamp) over the kernel lines: the console
is synchronous, so past the first second, when the guest's clock settles (its early lines are
stamped 0.000000 or run slow), that difference stays within milliseconds for the whole boot.
Every milestone is then a time since QEMU started ("power-on").

The milestones, and the lines that mark them (found by reading the consoles of the fixtures;
docs/benchmarks.md lists them with the reason for each):
- entry: GRUB starts the menu entry ("Booting `TITLE'"), on every medium;
- kernel: the kernel's first console line ("Linux version"): its decompression and earliest
  set-up, before the console exists, count in GRUB's phase;
- init: the kernel runs the initramfs ("Run /init as init process");
- iso: the initramfs mounts the ISO 9660 file system, the first time it touches the ISO's
  contents (the kernel's "ISO 9660 Extensions" line, KERN_DEBUG: hence loglevel=8); on a sik
  stick that is the ISO file attached to a loop device, on the others the disk or the drive;
- root: the root file system is in place (per mechanism, below);
- userspace: the booted system's /sbin/init prints the fixture's marker.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.bootrun import Line

_KERNEL_TIME = re.compile(r"\[\s*(\d+\.\d+)\] ")
MILESTONES = ("entry", "kernel", "init", "iso", "root", "userspace")
# The phase that ends at each milestone, as the tables name it.
PHASES = {
    "entry": "firmware + GRUB until the menu entry starts",
    "kernel": "GRUB loads the kernel and initrd",
    "init": "kernel until /init",
    "iso": "initramfs until the ISO is found",
    "root": "until the root file system is mounted",
    "userspace": "until userspace",
}
_COMMON = {
    "entry": re.compile(r"Booting `"),
    "init": re.compile(r"Run /init as init process"),
    "iso": re.compile(r"ISO 9660 Extensions"),
}
# The root file system, per mechanism:
# - live-boot has put the squashfs under an overlay on /root when initramfs-tools runs its
#   live-bottom scripts (scripts/live, after live-boot's mountroot);
# - dmsquash-live mounts LiveOS/rootfs.img through a device-mapper snapshot (dm-0) as the root;
# - kiwi-live mounts rootfs.img from a loop device; systemd's sysroot.mount makes it the root.
_ROOT = {
    "live-boot": re.compile(r"Running /scripts/live-bottom"),
    "dracut": re.compile(r"EXT4-fs \(dm-\d+\): mounted filesystem"),
    "kiwi": re.compile(r"EXT4-fs \(loop\d+\): mounted filesystem"),
}


@dataclass(frozen=True)
class Milestones:
    """Seconds since power-on at which each milestone was seen (None: not seen)."""

    at: dict[str, float | None]

    def phases(self) -> dict[str, float | None]:
        """Seconds spent in each phase: from the previous milestone seen to this one."""
        spent: dict[str, float | None] = {}
        previous = 0.0
        for name in MILESTONES:
            now = self.at[name]
            spent[name] = None if now is None else now - previous
            previous = now if now is not None else previous
        return spent


def read_milestones(lines: Sequence[Line], mechanism: str, marker: str) -> Milestones:
    offset = clock_offset(lines)
    patterns = {**_COMMON, "root": _ROOT[mechanism], "userspace": re.compile(re.escape(marker))}
    at: dict[str, float | None] = dict.fromkeys(MILESTONES)
    at["kernel"] = next((line.seconds for line in lines if kernel_time(line.text) is not None), None)
    for line in lines:
        for name, pattern in patterns.items():
            if at[name] is None and pattern.search(line.text):
                at[name] = _when(line, pattern, offset)
    return Milestones(at)


def clock_offset(lines: Sequence[Line]) -> float | None:
    """Host seconds at the kernel clock's zero: where kernel timestamps fall on the host's axis."""
    gaps = [line.seconds - stamp for line in lines if (stamp := kernel_time(line.text)) is not None]
    return statistics.median(gaps) if gaps else None


def kernel_time(text: str) -> float | None:
    found = _KERNEL_TIME.search(text)
    return float(found.group(1)) if found else None


def _when(line: Line, pattern: re.Pattern[str], offset: float | None) -> float:
    """The kernel's own time for a kernel line (placed after the join), else the arrival time.
    A userspace line can hold a kernel message in its middle: only the kernel's part counts."""
    stamp = _KERNEL_TIME.search(line.text)
    if offset is not None and stamp and pattern.search(line.text, stamp.end()):
        return offset + float(stamp.group(1))
    return line.seconds
