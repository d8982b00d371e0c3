"""One boot of the boot benchmark: QEMU as the boot tests run it, the medium on the bus it
belongs to, and every serial console line stamped with the host time it arrived."""

from __future__ import annotations

import os
import re
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sik.core.model import Firmware
from sik.vm.qemu import machine_argv, spawn, stop

MEMORY_MB = 1024
# Terminal control sequences GRUB and OVMF draw with; kept in the log, not in matched text.
_ESCAPES = re.compile(rb"\x1b(?:\[[0-9;=?]*[A-Za-z]|[()][0-9A-Za-z])")


class Medium(StrEnum):
    sik = "sik"  # a sik stick on USB holding the ISO as a file
    dd = "dd"  # the ISO written raw to a USB stick, as `dd` does
    cd = "cd"  # the ISO in a SATA optical drive

    def describe(self) -> str:
        return {"sik": "sik stick", "dd": "dd'd to a USB stick", "cd": "as a CD"}[self.value]

    def drive_argv(self, image: Path) -> list[str]:
        """The disk QEMU gets. Every boot has the same USB controller, so the machine differs
        only by the medium; sticks are USB mass storage, their writes (GRUB's grubenv) thrown
        away after the boot."""
        if self is Medium.cd:
            drive = f"if=none,id=medium,format=raw,media=cdrom,readonly=on,file={image}"
            device = "ide-cd,drive=medium,bus=ide.0"
        else:
            drive = f"if=none,id=medium,format=raw,snapshot=on,file={image}"
            device = "usb-storage,drive=medium,bus=xhci.0"
        return ["-device", "qemu-xhci,id=xhci", "-drive", drive, "-device", device]


@dataclass(frozen=True)
class Line:
    seconds: float  # since QEMU was started, when the line's end arrived
    text: str  # without terminal control sequences


@dataclass(frozen=True)
class Trace:
    lines: tuple[Line, ...]
    found: bool  # the marker arrived
    seconds: float  # QEMU's start to the marker, or to giving up
    cpu: float  # CPU seconds QEMU used by then: the emulation's work, which others' load inflates less
    log_path: Path  # the console, each line with its arrival time


def boot(
    image: Path, medium: Medium, firmware: Firmware, marker: str, timeout: float, log_path: Path
) -> Trace:
    """Boot ``image`` as ``medium`` until ``marker`` shows on the serial console (then stop
    QEMU), QEMU exits, or ``timeout`` seconds pass."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sik-bootbench-") as tmp:
        # The console comes on QEMU's stdout, read as it arrives: a file polled would stamp lines
        # late by the polling interval.
        argv = [*machine_argv(firmware, Path(tmp), MEMORY_MB), *medium.drive_argv(image)]
        argv += ["-serial", "stdio"]
        stderr_path = Path(tmp, "stderr")
        with stderr_path.open("wb") as stderr:
            start = time.monotonic()
            qemu = spawn(argv, stdout=subprocess.PIPE, stderr=stderr)
        assert qemu.stdout is not None  # the pipe asked for above
        try:
            lines, found = _read_until(qemu.stdout.fileno(), marker, start, start + timeout)
            cpu = cpu_seconds(qemu.pid)
        finally:
            stop(qemu)
            qemu.stdout.close()
        seconds = (lines[-1].seconds if found else time.monotonic() - start) if lines else 0.0
        problems = stderr_path.read_text(errors="replace").strip()
    if problems and not found:
        lines.append(Line(seconds, f"--- qemu stderr (exit {qemu.returncode}): {problems}"))
    log_path.write_text("".join(f"{line.seconds:9.3f} {line.text}\n" for line in lines))
    return Trace(tuple(lines), found, seconds, cpu, log_path)


def cpu_seconds(pid: int) -> float:
    """User + system time of a running process and all its threads (/proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it has exited: too late to ask
        return 0.0
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def read_log(log_path: Path) -> list[Line]:
    """The lines of a console written by boot(), for reading a run's milestones again."""
    lines = []
    for row in log_path.read_text().splitlines():
        seconds, _, text = row.lstrip().partition(" ")
        lines.append(Line(float(seconds), text))
    return lines


def _read_until(fd: int, marker: str, start: float, deadline: float) -> tuple[list[Line], bool]:
    lines: list[Line] = []
    pending = b""
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        arrived = time.monotonic() - start
        if not chunk:  # QEMU exited
            break
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            text = _ESCAPES.sub(b"", raw).replace(b"\r", b"").decode(errors="replace")
            lines.append(Line(arrived, text))
            if marker in text:
                return lines, True
    if pending:
        lines.append(Line(time.monotonic() - start, _ESCAPES.sub(b"", pending).decode(errors="replace")))
    return lines, False
