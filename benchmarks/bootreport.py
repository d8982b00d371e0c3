"""The boot benchmark's results: one sample per boot, and the Markdown tables made of them."""

from __future__ import annotations

import shlex
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
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
    cpu: float | None  # CPU seconds QEMU used by then
    load: float  # the machine's 1-minute load average when the boot started
    started: float  # time.time() at QEMU's start
    log: Path
    milestones: Milestones

    def record(self) -> dict[str, object]:
        """What --from-logs needs besides the console (whose milestones it reads again)."""
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "milestones"}
        return record | {
            "firmware": self.firmware.value,
            "medium": self.medium.value,
            "log": self.log.name,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], milestones: Milestones, log: Path) -> Sample:
        firmware, medium = Firmware(record["firmware"]), Medium(record["medium"])
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known} | {"cpu": record.get("cpu")}
        return cls(
            **values | {"firmware": firmware, "medium": medium, "log": log, "milestones": milestones}
        )

    def describe(self) -> str:
        what = f"{self.key} {self.firmware} {self.medium} (run {self.run})"
        if not self.found:
            return f"{what}: NO MARKER after {self.seconds:.0f} s, see {self.log}"
        at = ", ".join(f"{name} {_num(t)}" for name, t in self.milestones.at.items())
        cpu = "" if self.cpu is None else f", QEMU's CPU {self.cpu:.1f} s"
        return f"{what}: {self.seconds:.1f} s ({at}{cpu}; load {self.load:.1f})"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


Cell = tuple[str, Firmware, Medium]  # an ISO (its fixture key), a firmware, a medium


class _Figures:
    """Medians per cell over the boots that reached their marker."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = samples

    def booted(self, cell: Cell) -> list[Sample]:
        return [s for s in self.samples if (s.key, s.firmware, s.medium) == cell and s.found]

    def tried(self, cell: Cell) -> int:
        return sum((s.key, s.firmware, s.medium) == cell for s in self.samples)

    def total(self, cell: Cell) -> float | None:
        return _median([s.seconds for s in self.booted(cell)])

    def cpu(self, cell: Cell) -> float | None:
        return _median([s.cpu for s in self.booted(cell)])

    def phase(self, cell: Cell, name: str) -> float | None:
        return _median([s.milestones.phases()[name] for s in self.booted(cell)])

    def ratio(self, key: str, firmware: Firmware, figure: str) -> str:
        """sik's median over dd's, of the wall time ("total") or of QEMU's CPU time ("cpu")."""
        sik, dd = (getattr(self, figure)((key, firmware, m)) for m in (Medium.sik, Medium.dd))
        return f"{sik / dd:.2f}" if sik and dd else "—"


def summary_table(
    figures: _Figures,
    subjects: Sequence[Subject],
    firmwares: Sequence[Firmware],
    media: Sequence[Medium],
) -> list[str]:
    names = [m.describe() for m in media]
    head = ["ISO", "firmware", *names, "sik / dd", "sik / dd, QEMU's CPU", "where sik's extra time goes"]
    rows = [_row(head), _row(["---"] * len(head))]
    for subject in subjects:
        for firmware in firmwares:
            cells = [_cell(figures, (subject.key, firmware, m)) for m in media]
            ratios = [figures.ratio(subject.key, firmware, f) for f in ("total", "cpu")]
            where = _where(figures, subject.key, firmware)
            rows.append(_row([subject.title, firmware_label(firmware), *cells, *ratios, where]))
    return rows


def _cell(figures: _Figures, cell: Cell) -> str:
    booted, tried = len(figures.booted(cell)), figures.tried(cell)
    text = _num(figures.total(cell))
    return text if booted == tried else f"{text} ({tried - booted} of {tried} did not boot)"


def _where(figures: _Figures, key: str, firmware: Firmware) -> str:
    """The phases where the sik stick's median exceeds the dd'd stick's most (two at most)."""
    extra = []
    for name in MILESTONES:
        sik = figures.phase((key, firmware, Medium.sik), name)
        dd = figures.phase((key, firmware, Medium.dd), name)
        if sik is not None and dd is not None and sik - dd >= 0.5:
            extra.append((sik - dd, name))
    extra.sort(reverse=True)
    return "; ".join(f"+{delta:.1f} s {PHASES[name]}" for delta, name in extra[:2]) or "nowhere ≥ 0.5 s"


def phase_table(
    figures: _Figures,
    subjects: Sequence[Subject],
    firmwares: Sequence[Firmware],
    media: Sequence[Medium],
) -> list[str]:
    phases = [PHASES[name] for name in MILESTONES]
    head = ["ISO", "firmware", "medium", *phases, "total", "QEMU's CPU", "booted"]
    rows = [_row(head), _row(["---"] * len(head))]
    for subject in subjects:
        for firmware in firmwares:
            for medium in media:
                cell = (subject.key, firmware, medium)
                spent = [_num(figures.phase(cell, name)) for name in MILESTONES]
                figures_ = [_num(figures.total(cell)), _num(figures.cpu(cell))]
                booted = f"{len(figures.booted(cell))}/{figures.tried(cell)}"
                labels = [subject.title, firmware_label(firmware), medium.describe()]
                rows.append(_row([*labels, *spent, *figures_, booted]))
    return rows


def firmware_label(firmware: Firmware) -> str:
    return "BIOS (SeaBIOS)" if firmware is Firmware.bios else "UEFI (OVMF)"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown(
    samples: Sequence[Sample],
    subjects: Sequence[Subject],
    firmwares: Sequence[Firmware],
    media: Sequence[Medium],
    runs: int,
    stick_fs: str,
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
        f" boots each, interleaved (the {len(media)} media one after the other for each ISO and"
        f" firmware, each round starting with the next medium: {_rotation(media)}, ...)."
        f" The sik stick's data partition is {stick_fs} (`sik install`'s default).",
        *([] if Medium.cd in media else ["The CD was left out of this run (`--no-cd`)."]),
        "",
        *summary_table(figures, subjects, firmwares, media),
        "",
        "## Milestones",
        "",
        "Median seconds spent in each phase (docs/benchmarks.md says which console line ends each);"
        " medians of phases need not add up to the median total.",
        "",
        *phase_table(figures, subjects, firmwares, media),
        "",
        "## How",
        "",
        *_how(subjects, media, stick_fs),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in describe_machine(subjects[0].iso).items()),
    ]
    return "\n".join(lines) + "\n"


def _rotation(media: Sequence[Medium]) -> str:
    """The first two rounds' order, as benchmarks.boot runs them: "sik, dd, CD; dd, CD, sik"."""
    names = [m.value if m is not Medium.cd else "CD" for m in media]
    return f"{', '.join(names)}; {', '.join([*names[1:], names[0]])}"


def _how(subjects: Sequence[Subject], media: Sequence[Medium], stick_fs: str) -> list[str]:
    qemu = machine_argv(Firmware.bios, Path("WORK"), MEMORY_MB)
    qemu[0] = Path(qemu[0]).name
    version = _first_line("qemu-system-x86_64", "--version")
    return [
        f"- QEMU ({version}): `{shlex.join(qemu)}` (under UEFI also OVMF's code and a fresh copy of"
        " its variables as pflash drives), then the medium and `-serial stdio`:",
        *(f"  - {m.describe()}: `{shlex.join(m.drive_argv(Path('IMAGE')))}`" for m in media),
        f"- every kernel gets `{KERNEL_ARGS}` (sik's menu through `sik generate --kernel-args`, the"
        " ISO's own menu edited: benchmarks/bootmedia.py says how and why);",
        f"- ISOs: the boot-tested fixtures ({', '.join(s.iso.name for s in subjects)}), made bootable"
        f" as hybrid ISOs, cached in {subjects[0].iso.parent}; the sik stick is made anew by this"
        f" checkout's sik CLI at every run (`sik install`, default filesystem: {stick_fs}).",
    ]


def _first_line(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    except OSError:
        return "version unknown"
    return (done.stdout.splitlines() or ["version unknown"])[0]
