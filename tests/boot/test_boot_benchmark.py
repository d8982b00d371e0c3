"""The boot-time benchmark's quick mode end to end: one ISO under one firmware, booted once from
each medium (a sik stick, the ISO dd'd to a USB stick, the ISO as a CD), every milestone read
from the consoles. Its figures are not checked: `python -m benchmarks boot` measures them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.boot import QUICK_FIRMWARE, QUICK_ISO, load_samples, main
from benchmarks.bootmedia import SUBJECTS
from benchmarks.bootreport import firmware_label
from benchmarks.bootrun import Medium
from benchmarks.milestones import MILESTONES

pytestmark = pytest.mark.boot


def test_quick_boot_benchmark_boots_every_medium_to_every_milestone(tmp_path: Path) -> None:
    results, logs = tmp_path / "BOOT-RESULTS.md", tmp_path / "logs"
    argv = [
        "--quick",
        "--cache",
        str(tmp_path / "cache"),
        "--results",
        str(results),
        "--logs",
        str(logs),
    ]
    assert main(argv) == 0
    samples = load_samples(logs)
    assert sorted(s.medium for s in samples) == sorted(Medium)
    for sample in samples:
        assert (sample.key, sample.firmware, sample.found) == (QUICK_ISO, QUICK_FIRMWARE, True)
        times = [sample.milestones.at[name] for name in MILESTONES]
        seen = [t for t in times if t is not None]
        assert len(seen) == len(MILESTONES), sample.describe()
        assert seen == sorted(seen), sample.describe()  # each milestone after the one before
        assert seen[-1] == pytest.approx(sample.seconds, abs=0.001)  # milestones are kept in ms
    text = results.read_text()
    title = SUBJECTS[QUICK_ISO][0]
    row = f"| {title} | {firmware_label(QUICK_FIRMWARE)} |"
    assert text.count(row) == 1 + len(Medium)  # the summary's row, the phases' rows
    assert re.search(rf"^{re.escape(row)} [^\n]* \| \d+\.\d\d \| ", text, re.M)  # sik / dd
