"""Timers and the four measurements. Every figure is a median over repeats; whole-process
figures include the interpreter's start-up, as a user waits for it."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.inputs import Inputs
from sik.core.stick import Stick

PYTHON = sys.executable
SIK = (PYTHON, "-m", "sik")
Part = str | os.PathLike[str]


def cmd(*parts: Part) -> list[str]:
    return [os.fspath(p) for p in parts]


MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    seconds: float  # median wall time
    runs: int
    cpu: float = 0.0  # median user + system time: what a busy machine inflates least


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Row:
    measure: str
    sik: str
    peer: str = ""
    peer_figure: str = ""
    ratio: str = ""
    target: str = ""
    passed: bool | None = None


@dataclass(frozen=True)
class Plan:
    """How hard to try: repeats per kind of measurement."""

    fast: int = 15  # in-process calls of a few ms
    process: int = 7  # whole processes under a second
    slow: int = 1  # whole-tree parses that take seconds
    copy: int = 3


def time_call(call: Callable[[], object], repeats: int) -> Sample:
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return Sample(statistics.median(times), repeats, statistics.median(cpu))


def time_processes(
    argvs: Sequence[list[str]],
    repeats: int,
    before: Callable[[], None] | None = None,
    accept: tuple[int, ...] = (0,),
) -> Sample:
    """Wall time of running ``argvs`` one after the other, as one figure."""
    times, cpu = [], []
    for _ in range(repeats):
        if before:
            before()
        start, start_cpu = time.perf_counter(), _children_cpu()
        for argv in argvs:
            _spawn(argv, accept)
        times.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - start_cpu)
    return Sample(statistics.median(times), repeats, statistics.median(cpu))


def _spawn(argv: list[str], accept: tuple[int, ...]) -> None:
    # subprocess directly rather than sik.core.run: the timing must hold the child alone.
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    if done.returncode not in accept:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}")


# A small launcher reports its child's peak RSS: measured from this process, a forked child
# would count this process's memory (pycdlib's parsed trees) until it execs.
_PEAK_RSS = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_mib(argv: list[str]) -> float:
    out = subprocess.run([PYTHON, "-c", _PEAK_RSS, *argv], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def figure(sample: Sample) -> str:
    """Wall time, with the CPU time beside it."""
    return f"{ms(sample.seconds)} (CPU {ms(sample.cpu)})"


def _times(peer: Sample, ours: Sample) -> str:
    ratio = peer.seconds / ours.seconds
    if ratio < 1:
        return f"sik ×{1 / ratio:.1f} slower"
    return f"sik ×{ratio:,.0f} faster" if ratio >= 10 else f"sik ×{ratio:.1f} faster"


# --- 1. detection ---------------------------------------------------------------------------


def detect_rows(inputs: Inputs, plan: Plan) -> list[Row]:
    from sik.detection.detect import detect
    from sik.detection.iso import open_iso
    from sik.detection.plugins import load_detectors
    from tests.reference_reader import open_iso_tree

    detectors = load_detectors()
    rows: list[Row] = []
    for count, iso in sorted(inputs.scaling.items()):

        def lazy(iso: Path = iso) -> None:
            with open_iso(iso) as view:
                detect(view, detectors)

        def full(iso: Path = iso) -> None:
            with open_iso_tree(iso) as view:
                detect(view, detectors)

        ours = time_call(lazy, plan.fast)
        label = f"detect one {count:,}-file ISO"
        pycdlib = time_call(full, plan.slow if count >= 20_000 else plan.process)
        rows.append(
            Row(
                f"{label} (in-process)",
                figure(ours),
                "pycdlib open + detect",
                figure(pycdlib),
                _times(pycdlib, ours),
                "< 20 ms",
                ours.seconds < 0.020,
            )
        )
        cli = time_processes([cmd(*SIK, "detect", iso)], plan.process)
        for name, argv in (
            ("libarchive: bsdtar -tf", cmd("bsdtar", "-tf", iso)),
            ("xorriso -find /", cmd("xorriso", "-indev", iso, "-find", "/")),
        ):
            peer = time_processes([argv], plan.process)
            rows.append(
                Row(
                    f"{label}: `sik detect`, whole process",
                    figure(cli),
                    name,
                    figure(peer),
                    _times(peer, cli),
                )
            )
    return rows


# --- 2. sik generate on the 40-ISO stick -------------------------------------------------------


def generate_rows(inputs: Inputs, plan: Plan) -> list[Row]:
    stick = Stick(inputs.stick)
    caches = [stick.scan_cache_file, stick.menu_cache_file]

    def forget() -> None:  # cold: every ISO opened, every template compiled
        for cache in caches:
            cache.unlink(missing_ok=True)

    argv = cmd(*SIK, "generate", "--stick", inputs.stick)
    isos = sorted((inputs.stick / "boot/iso").glob("*.iso"))
    cold = time_processes([argv], plan.process, before=forget, accept=(0, 3))
    time_processes([argv], 1, accept=(0, 3))
    warm = time_processes([argv], plan.process, accept=(0, 3))
    forget()
    rss = peak_rss_mib(argv)  # a cold run: every ISO is opened
    before = time_call(lambda: _pycdlib_scan(isos), plan.slow)
    title = f"`sik generate`, {len(isos)}-ISO stick, whole process"
    return [
        Row(
            f"{title}, cold cache",
            figure(cold),
            "pycdlib open + detect of every ISO",
            figure(before),
            _times(before, cold),
            "< 1 s",
            cold.seconds < 1.0,
        ),
        Row(f"{title}, warm cache", figure(warm), "", "", "", "< 0.3 s", warm.seconds < 0.3),
        Row(f"{title}, peak RSS", f"{rss:.0f} MiB", "", "", "", "< 100 MiB", rss < 100),
    ]


def _pycdlib_scan(isos: Sequence[Path]) -> None:
    from sik.core.errors import IsoReadError
    from sik.detection.detect import detect
    from sik.detection.plugins import load_detectors
    from tests.reference_reader import open_iso_tree

    detectors = load_detectors()
    for iso in isos:
        try:
            with open_iso_tree(iso) as view:
                detect(view, detectors)
        except IsoReadError:
            pass


# --- 3. sik add of a big ISO ------------------------------------------------------------------


def copy_rows(inputs: Inputs, plan: Plan) -> list[Row]:
    """`sik add` against `cp` + `sync FILE` (an fsync of the copy), alternating runs. Before
    each run the source's pages are dropped from the page cache with posix_fadvise, so both
    read from the disk; the machine-wide cache is left alone."""
    size = inputs.copy_iso.stat().st_size
    target = inputs.copy_stick / "boot/iso" / inputs.copy_iso.name
    cp_target = inputs.copy_stick / "cp-copy.iso"

    def reset() -> None:
        copy_stick = Stick(inputs.copy_stick)
        caches = [copy_stick.scan_cache_file, copy_stick.menu_cache_file]
        for path in (target, cp_target, *caches):
            path.unlink(missing_ok=True)
        _evict(inputs.copy_iso)

    sik_runs, cp_runs = [], []
    for _ in range(plan.copy):
        sik_runs.append(
            time_processes(
                [cmd(*SIK, "add", "--stick", inputs.copy_stick, inputs.copy_iso)],
                1,
                reset,
                accept=(0, 3),
            )
        )
        cp_runs.append(
            time_processes([cmd("cp", inputs.copy_iso, cp_target), cmd("sync", cp_target)], 1, reset)
        )
    reset()
    ours = statistics.median(size / s.seconds for s in sik_runs) / MIB
    peer = statistics.median(size / s.seconds for s in cp_runs) / MIB
    return [
        Row(
            f"`sik add` of a {size / 1024**3:.2f} GiB ISO (copy, SHA-256, sync, regenerate)",
            f"{ours:.0f} MiB/s (CPU {statistics.median(s.cpu for s in sik_runs):.1f} s)",
            "cp + sync FILE",
            f"{peer:.0f} MiB/s (CPU {statistics.median(s.cpu for s in cp_runs):.1f} s)",
            f"{ours / peer:.2f} of cp's throughput",
            "≥ 0.9",
            ours / peer >= 0.9,
        )
    ]


def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# --- 4. start-up ------------------------------------------------------------------------------


def startup_rows(inputs: Inputs, plan: Plan) -> list[Row]:
    base = time_processes([cmd(PYTHON, "-c", "pass")], plan.process * 2)
    rows = []
    count = len(list((inputs.stick / "boot/iso").glob("*.iso")))
    commands = (
        ("`sik --help`", cmd(*SIK, "--help")),
        ("`sik list`, empty stick", cmd(*SIK, "list", "--stick", inputs.copy_stick)),
        (f"`sik list`, {count}-ISO stick, warm cache", cmd(*SIK, "list", "--stick", inputs.stick)),
    )
    for label, argv in commands:
        ours = time_processes([argv], plan.process)
        rows.append(
            Row(
                f"{label}, whole process",
                figure(ours),
                "python3 -c pass",
                figure(base),
                f"×{ours.seconds / base.seconds:.1f} python's start-up",
            )
        )
    return rows
