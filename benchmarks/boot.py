"""The boot-time benchmark: `python -m benchmarks boot [--quick]` (or scripts/benchmark.sh boot).

Boots each boot-tested fixture ISO under SeaBIOS and OVMF from three media holding the same ISO
file: a sik stick made with the sik CLI, the ISO written raw to a USB stick as `dd` does, and the
ISO as a CD. Runs are interleaved (the three media one after the other for one ISO and firmware,
then the next pair, and the whole round again, each round starting with the next medium), so a
change in the shared machine's load hits every medium alike; every figure is a median over the
rounds. Prints the tables and writes benchmarks/BOOT-RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bootmedia import (
    SUBJECTS,
    Subject,
    bootable_subjects,
    choose_entry,
    make_stick,
    stick_filesystem,
)
from benchmarks.bootreport import Sample, markdown
from benchmarks.bootrun import Medium, boot, read_log
from benchmarks.inputs import cache_root
from benchmarks.milestones import read_milestones
from sik.core.model import Firmware
from tests.fixtures.liveisos import build_fixture_isos

RESULTS = Path(__file__).with_name("BOOT-RESULTS.md")
SAMPLES = "samples.jsonl"  # in the logs folder: one line per boot, for --from-logs
STICK_FS = "stick-fs.txt"  # in the logs folder: the sik stick's data filesystem, for --from-logs
# The smoke run: the fixture and firmware that boot fastest here, once on each medium.
QUICK_ISO, QUICK_FIRMWARE = "dracut_live", Firmware.bios


@dataclass(frozen=True)
class Plan:
    keys: tuple[str, ...]
    firmwares: tuple[Firmware, ...]
    media: tuple[Medium, ...]
    runs: int
    timeout: float


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    started = time.monotonic()
    media = tuple(m for m in Medium if not (options.no_cd and m is Medium.cd))
    if options.quick:
        plan = Plan((QUICK_ISO,), (QUICK_FIRMWARE,), media, 1, options.timeout)
    else:
        keys = tuple(options.iso or SUBJECTS)
        firmwares = tuple(Firmware(f) for f in options.firmware or ("bios", "uefi"))
        plan = Plan(keys, firmwares, media, options.runs, options.timeout)
    cache = options.cache or cache_root()
    results = options.results or (None if options.quick else RESULTS)
    if options.from_logs:
        samples = load_samples(options.from_logs)
        plan = _plan_of(samples, options.timeout)
        subjects = bootable_subjects(cache, plan.keys, _say)
        seconds = max(s.started + s.seconds for s in samples) - min(s.started for s in samples)
        fs_file = options.from_logs / STICK_FS
        stick_fs = fs_file.read_text().strip() if fs_file.exists() else "not recorded"
        _report(samples, subjects, plan, stick_fs, results, seconds, options.note)
        return 0
    logs = options.logs or cache / "boot" / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # only the last run's consoles are kept
    logs.mkdir(parents=True)
    subjects = bootable_subjects(cache, plan.keys, _say)
    with tempfile.TemporaryDirectory(prefix="stick-", dir=cache / "boot") as work:
        stick = Path(work) / "sik.img"
        _say("making the sik stick with the sik CLI (install, generate, add)")
        make_stick(stick, subjects)
        stick_fs = stick_filesystem(stick)
        (logs / STICK_FS).write_text(stick_fs + "\n")

        def after_round(samples: list[Sample]) -> None:
            elapsed = time.monotonic() - started
            _report(samples, subjects, plan, stick_fs, results, elapsed, options.note, final=False)

        samples = run_rounds(plan, subjects, stick, logs, after_round)
    elapsed = time.monotonic() - started
    _report(samples, subjects, plan, stick_fs, results, elapsed, options.note)
    return 0 if all(sample.found for sample in samples) else 1


def _report(
    samples: list[Sample],
    subjects: list[Subject],
    plan: Plan,
    stick_fs: str,
    results: Path | None,
    seconds: float,
    note: str,
    final: bool = True,
) -> None:
    text = markdown(samples, subjects, plan.firmwares, plan.media, plan.runs, stick_fs, seconds, note)
    if results is not None:
        results.write_text(text)
    if final:
        print(text)
        if results is not None:
            _say(f"wrote {results}")


def run_rounds(
    plan: Plan,
    subjects: list[Subject],
    stick: Path,
    logs: Path,
    after_round: Callable[[list[Sample]], object],
) -> list[Sample]:
    samples: list[Sample] = []
    total = plan.runs * len(subjects) * len(plan.firmwares) * len(plan.media)
    for run in range(1, plan.runs + 1):
        for subject in subjects:
            for firmware in plan.firmwares:
                for medium in _order(run, plan.media):
                    sample = _boot_once(subject, firmware, medium, run, stick, logs, plan.timeout)
                    samples.append(sample)
                    _say(f"[{len(samples)}/{total}] {sample.describe()}")
        after_round(samples)
    return samples


def _order(run: int, media: tuple[Medium, ...]) -> list[Medium]:
    """The media in the order round ``run`` boots them: each round starts one further on (sik,
    dd, CD; then dd, CD, sik; ...), so no medium always comes first after the machine was idle
    or always follows a given one."""
    shift = (run - 1) % len(media)
    return [*media[shift:], *media[:shift]]


def _boot_once(
    subject: Subject,
    firmware: Firmware,
    medium: Medium,
    run: int,
    stick: Path,
    logs: Path,
    timeout: float,
) -> Sample:
    if medium is Medium.sik:
        choose_entry(stick, subject)
    image = stick if medium is Medium.sik else subject.iso
    load, started = os.getloadavg()[0], time.time()
    log = logs / f"{subject.key}-{firmware}-{medium}-{run}.log"
    trace = boot(image, medium, firmware, subject.marker, timeout, log)
    milestones = read_milestones(trace.lines, subject.mechanism, subject.marker)
    sample = Sample(
        subject.key,
        firmware,
        medium,
        run,
        trace.found,
        trace.seconds,
        trace.cpu,
        load,
        started,
        log,
        milestones,
    )
    with (logs / SAMPLES).open("a") as index:
        index.write(json.dumps(sample.record()) + "\n")
    return sample


def load_samples(logs: Path) -> list[Sample]:
    """The boots of an earlier run, their milestones read again from their consoles."""
    samples = []
    for row in (logs / SAMPLES).read_text().splitlines():
        record = json.loads(row)
        key, log = record["key"], logs / record["log"]
        mechanism, marker = SUBJECTS[key][1], build_fixture_isos().markers[key]
        milestones = read_milestones(read_log(log), mechanism, marker)
        samples.append(Sample.from_record(record, milestones, log))
    return samples


def _plan_of(samples: list[Sample], timeout: float) -> Plan:
    keys = tuple(k for k in SUBJECTS if any(s.key == k for s in samples))
    firmwares = tuple(f for f in Firmware if any(s.firmware is f for s in samples))
    media = tuple(m for m in Medium if any(s.medium is m for s in samples))
    return Plan(keys, firmwares, media, max(s.run for s in samples), timeout)


def _say(line: str) -> None:
    print(f"• {line}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks boot", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"one ISO ({QUICK_ISO}), one firmware ({QUICK_FIRMWARE}), one run: a smoke run",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds; figures are medians (default 3)")
    parser.add_argument("--iso", action="append", choices=list(SUBJECTS), help="only this fixture")
    parser.add_argument("--firmware", action="append", choices=["bios", "uefi"], help="only this one")
    parser.add_argument(
        "--no-cd",
        action="store_true",
        help="boot the sik stick and the dd'd stick only: the CD is a reference, and leaving it"
        " out saves a third of the time",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds a boot may take (default 600)"
    )
    parser.add_argument("--cache", type=Path, help="default $SIK_BENCH_CACHE or ~/.cache/sik-bench")
    parser.add_argument(
        "--results",
        type=Path,
        help="markdown file (default benchmarks/BOOT-RESULTS.md; none with --quick)",
    )
    parser.add_argument("--logs", type=Path, help="serial consoles (default CACHE/boot/logs)")
    parser.add_argument("--note", default="", help="a line for the results, e.g. what else ran")
    parser.add_argument(
        "--from-logs",
        type=Path,
        metavar="DIR",
        help="boot nothing: read the milestones of the run whose consoles are in DIR again",
    )
    return parser
