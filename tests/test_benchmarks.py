"""The benchmark runs end to end on tiny inputs (figures are not checked: speed is measured
by `python -m benchmarks`, never asserted in tests)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.__main__ import main


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
