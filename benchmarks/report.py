"""The results: a rich table on the terminal, and benchmarks/RESULTS.md with the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.measure import Row

COLUMNS = ("measure", "sik", "peer", "peer's figure", "ratio", "target", "result")


def _verdict(row: Row) -> str:
    return "" if row.passed is None else ("pass" if row.passed else "FAIL")


def print_table(rows: Sequence[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sik benchmark", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    styles = {"pass": "green", "FAIL": "bold red", "": ""}
    for row in rows:
        verdict = _verdict(row)
        table.add_row(
            row.measure,
            row.sik,
            row.peer,
            row.peer_figure,
            row.ratio,
            row.target,
            verdict,
            style=styles[verdict] or None,
        )
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 200  # a log file is read with a pager, not folded at 80 columns
    console.print(table)


def write_markdown(
    path: Path, rows: Sequence[Row], machine: dict[str, str], seconds: float, note: str
) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Written by `scripts/benchmark.sh` (`python -m benchmarks`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, in {seconds:.0f} s.",
        "Medians over repeats; benchmarks/measure.py says how each row is measured.",
        "",
    ]
    if note:
        lines += [f"**Note:** {note}", ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = (row.measure, row.sik, row.peer, row.peer_figure, row.ratio, row.target, _verdict(row))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    path.write_text("\n".join(lines) + "\n")


def describe_machine(disk_of: Path) -> dict[str, str]:
    cpu = _first(Path("/proc/cpuinfo"), "model name")
    memory = _first(Path("/proc/meminfo"), "MemTotal")
    kib = int(memory.split()[0]) if memory else 0
    return {
        "CPU": f"{cpu or platform.processor()}, {os.cpu_count()} cores",
        "RAM": f"{kib / 1024**2:.1f} GiB",
        "disk": _disk(disk_of),
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "load average at the end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": _versions(),
    }


def _first(path: Path, key: str) -> str:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _output(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _disk(path: Path) -> str:
    source = _output("findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", os.fspath(path))
    device = source.split()[0] if source else ""
    model = (
        _output("lsblk", "-d", "-n", "-o", "NAME,MODEL,SIZE,ROTA,TRAN", device)
        if device.startswith("/dev/")
        else ""
    )
    return f"{source} ({' '.join(model.split()) or 'model unknown'}) holding {_home_relative(path)}"


def _home_relative(path: Path) -> str:
    """``~/.cache/sik-bench`` rather than one machine's home directory, in a committed file."""
    try:
        return f"~/{path.resolve().relative_to(Path.home().resolve())}"
    except ValueError:
        return os.fspath(path)


def _versions() -> str:
    import importlib.metadata as md

    found = [f"{name} {md.version(name)}" for name in ("sik", "pycdlib", "typer", "rich", "jinja2")]
    found.append(_output("bsdtar", "--version").split(" - ")[0] or "bsdtar missing")
    xorriso = _output("xorriso", "-version").splitlines()
    found.append(xorriso[0] if xorriso else "xorriso missing")
    commit = _output("git", "-C", os.fspath(Path(__file__).parent), "rev-parse", "--short", "HEAD")
    return ", ".join(found) + (f"; sik commit {commit}" if commit else "")
