"""Run the benchmark: `python -m benchmarks [--quick] [--cache DIR] [--results FILE]`; the boot-time
benchmark is `python -m benchmarks boot [--quick]` (benchmarks/boot.py)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import sik
from benchmarks.inputs import QUICK, Sizes, build_inputs, cache_root
from benchmarks.measure import Plan, copy_rows, detect_rows, generate_rows, startup_rows
from benchmarks.report import describe_machine, print_table, write_markdown

RESULTS = Path(__file__).with_name("RESULTS.md")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["boot"]:
        from benchmarks.boot import main as boot_main

        return boot_main(args[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="tiny inputs, one repeat: a smoke run of a few seconds"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where inputs are built (default $SIK_BENCH_CACHE or ~/.cache/sik-bench)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="markdown file to write (default benchmarks/RESULTS.md; none with --quick)",
    )
    parser.add_argument(
        "--note", default="", help="a line for RESULTS.md, e.g. what else ran on the machine"
    )
    options = parser.parse_args(args)
    started = time.perf_counter()
    _compile_sik()
    sizes, plan = (
        (QUICK, Plan(fast=2, process=1, slow=1, copy=1)) if options.quick else (Sizes(), Plan())
    )
    root = options.cache or cache_root()
    inputs = build_inputs(root, sizes, lambda line: print(f"• {line}", file=sys.stderr, flush=True))
    rows = []
    for stage in (detect_rows, generate_rows, copy_rows, startup_rows):
        print(f"• measuring {stage.__name__.removesuffix('_rows')}", file=sys.stderr, flush=True)
        rows += stage(inputs, plan)
    print_table(rows)
    results = options.results or (None if options.quick else RESULTS)
    if results is not None:
        note = options.note or f"load average at the start was {os.getloadavg()[0]:.2f}"
        write_markdown(results, rows, describe_machine(root), time.perf_counter() - started, note)
        print(f"• wrote {results}", file=sys.stderr)
    return 0


def _compile_sik() -> None:
    """Byte-compile sik and its built-in detectors, as pip does when it installs a package, and
    let the measured processes keep their bytecode: with PYTHONDONTWRITEBYTECODE set (some
    development shells set it) every run would otherwise time the compiler too."""
    import compileall

    from sik.core.resources import data_dir

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for folder in (Path(sik.__file__).parent, data_dir("detectors")):
        compileall.compile_dir(folder, quiet=1)


if __name__ == "__main__":
    sys.exit(main())
