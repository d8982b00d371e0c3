"""The boot benchmark's results: one sample per boot, and the Markdown tables made of them."""

from __future__ import annotations

import shlex
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bootmedia import KERNEL_ARGS, Subject
from benchmarks.bootrun import MEMORY_MB, Medium
from benchmarks.milestones import MILESTONES, PHASES, Milestones
from benchmarks.report import describe_machine
from sik.core.model import Firmware
from sik.vm.qemu import machine_argv


@dataclass(frozen=True)
class Sample:
    key: str
    firmware: Firmware
    medium: Medium
    run: int
    found: bool
    seconds: float  # power-on to the marker (or to giving up)
    milestones: Milestones
    load: float  # the machine's 1-minute load average when the boot started
    log: Path
    started: float  # time.time() at QEMU's start

    def record(self) -> dict[str, object]:
        """What --from-logs needs besides the console (whose milestones it reads again)."""
        return {
            "key": self.key,
            "firmware": self.firmware.value,
            "medium": self.medium.value,
            "run": self.run,
            "found": self.found,
            "seconds": self.seconds,
            "load": self.load,
            "log": self.log.name,
            "started": self.started,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], milestones: Milestones, log: Path) -> Sample:
        return cls(
            record["key"],
            Firmware(record["firmware"]),
            Medium(record["medium"]),
            record["run"],
            record["found"],
            record["seconds"],
            milestones,
            record["load"],
            log,
            record["started"],
        )

    def describe(self) -> str:
        what = f"{self.key} {self.firmware} {self.medium} (run {self.run})"
        if not self.found:
            return f"{what}: NO MARKER after {self.seconds:.0f} s, see {self.log}"
        at = ", ".join(f"{name} {_num(t)}" for name, t in self.milestones.at.items())
        return f"{what}: {self.seconds:.1f} s ({at}; load {self.load:.1f})"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


class _Figures:
    """Medians per (ISO, firmware, medium) over the boots that reached their marker."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = samples

    def booted(self, key: str, firmware: Firmware, medium: Medium) -> list[Sample]:
        return [
            s
            for s in self.samples
            if (s.key, s.firmware, s.medium) == (key, firmware, medium) and s.found
        ]

    def tried(self, key: str, firmware: Firmware, medium: Medium) -> int:
        return sum((s.key, s.firmware, s.medium) == (key, firmware, medium) for s in self.samples)

    def total(self, key: str, firmware: Firmware, medium: Medium) -> float | None:
        return _median([s.seconds for s in self.booted(key, firmware, medium)])

    def phase(self, key: str, firmware: Firmware, medium: Medium, name: str) -> float | None:
        return _median([s.milestones.phases()[name] for s in self.booted(key, firmware, medium)])


def summary_table(
    figures: _Figures, subjects: Sequence[Subject], firmwares: Sequence[Firmware]
) -> list[str]:
    head = [
        "ISO",
        "firmware",
        *(m.describe() for m in Medium),
        "sik / dd",
        "where sik's extra time goes",
    ]
    rows = [_row(head), _row(["---"] * len(head))]
    for subject in subjects:
        for firmware in firmwares:
            totals = {m: figures.total(subject.key, firmware, m) for m in Medium}
            sik, dd = totals[Medium.sik], totals[Medium.dd]
            ratio = f"{sik / dd:.2f}" if sik and dd else "—"
            cells = [_cell(figures, subject.key, firmware, m, totals[m]) for m in Medium]
            rows.append(
                _row(
                    [
                        subject.title,
                        _firmware(firmware),
                        *cells,
                        ratio,
                        _where(figures, subject.key, firmware),
                    ]
                )
            )
    return rows


def _cell(figures: _Figures, key: str, firmware: Firmware, medium: Medium, total: float | None) -> str:
    booted, tried = len(figures.booted(key, firmware, medium)), figures.tried(key, firmware, medium)
    text = _num(total)
    return text if booted == tried else f"{text} ({tried - booted} of {tried} did not boot)"


def _where(figures: _Figures, key: str, firmware: Firmware) -> str:
    """The phases where the sik stick's median exceeds the dd'd stick's most (two at most)."""
    extra = []
    for name in MILESTONES:
        sik = figures.phase(key, firmware, Medium.sik, name)
        dd = figures.phase(key, firmware, Medium.dd, name)
        if sik is not None and dd is not None and sik - dd >= 0.5:
            extra.append((sik - dd, name))
    extra.sort(reverse=True)
    return "; ".join(f"+{delta:.1f} s {PHASES[name]}" for delta, name in extra[:2]) or "nowhere ≥ 0.5 s"


def phase_table(
    figures: _Figures, subjects: Sequence[Subject], firmwares: Sequence[Firmware]
) -> list[str]:
    head = ["ISO", "firmware", "medium", *(PHASES[name] for name in MILESTONES), "total", "booted"]
    rows = [_row(head), _row(["---"] * len(head))]
    for subject in subjects:
        for firmware in firmwares:
            for medium in Medium:
                phases = [_num(figures.phase(subject.key, firmware, medium, n)) for n in MILESTONES]
                total = _num(figures.total(subject.key, firmware, medium))
                booted = len(figures.booted(subject.key, firmware, medium))
                booted_of = f"{booted}/{figures.tried(subject.key, firmware, medium)}"
                rows.append(
                    _row(
                        [
                            subject.title,
                            _firmware(firmware),
                            medium.describe(),
                            *phases,
                            total,
                            booted_of,
                        ]
                    )
                )
    return rows


def _firmware(firmware: Firmware) -> str:
    return "BIOS (SeaBIOS)" if firmware is Firmware.bios else "UEFI (OVMF)"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown(
    samples: Sequence[Sample],
    subjects: Sequence[Subject],
    firmwares: Sequence[Firmware],
    runs: int,
    seconds: float,
    note: str,
) -> str:
    figures = _Figures(samples)
    last = max((s.started + s.seconds for s in samples), default=time.time())
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last))
    rounds = max((s.run for s in samples), default=0)
    loads = sorted(s.load for s in samples) or [0.0]
    load = f"median {statistics.median(loads):.1f}, {loads[0]:.1f} to {loads[-1]:.1f}"
    failed = sum(not s.found for s in samples)
    lines = [
        "# Boot-time benchmark results",
        "",
        f"Written by `python -m benchmarks boot` on {date},"
        f" after {seconds / 60:.0f} min: {len(samples)} boots, {rounds} of {runs} rounds"
        f"{f', {failed} without their marker' if failed else ''}. The machine's 1-minute load average"
        f" when a boot started: {load}.",
        *([f"**Note:** {note}"] if note else []),
        "",
        "## Boot time",
        "",
        f"Seconds from power-on to the booted system's marker on the serial console, median of {rounds}"
        " boots each, interleaved (sik, dd, CD, for each ISO and firmware, then the next round).",
        "",
        *summary_table(figures, subjects, firmwares),
        "",
        "## Milestones",
        "",
        "Median seconds spent in each phase (docs/benchmarks.md says which console line ends each);"
        " medians of phases need not add up to the median total.",
        "",
        *phase_table(figures, subjects, firmwares),
        "",
        "## How",
        "",
        *_how(subjects),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in describe_machine(subjects[0].iso).items()),
    ]
    return "\n".join(lines) + "\n"


def _how(subjects: Sequence[Subject]) -> list[str]:
    qemu = machine_argv(Firmware.bios, Path("WORK"), MEMORY_MB)
    qemu[0] = Path(qemu[0]).name
    version = _first_line("qemu-system-x86_64", "--version")
    return [
        f"- QEMU ({version}): `{shlex.join(qemu)}` (under UEFI also OVMF's code and a fresh copy of"
        " its variables as pflash drives), then the medium and `-serial stdio`:",
        *(f"  - {m.describe()}: `{shlex.join(m.drive_argv(Path('IMAGE')))}`" for m in Medium),
        f"- every kernel gets `{KERNEL_ARGS}` (sik's menu through `sik generate --kernel-args`, the"
        " ISO's own menu edited: benchmarks/bootmedia.py says how and why);",
        f"- ISOs: the boot-tested fixtures ({', '.join(s.iso.name for s in subjects)}), made bootable"
        f" as hybrid ISOs, cached in {subjects[0].iso.parent}; the sik stick is made anew by this"
        " checkout's sik CLI at every run.",
    ]


def _first_line(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    except OSError:
        return "version unknown"
    return (done.stdout.splitlines() or ["version unknown"])[0]
