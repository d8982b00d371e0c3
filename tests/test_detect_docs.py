"""docs/writing-a-detector.md is proven: its example files are the ones the suite installs and
tests (tests/plugin_example), and its `sik detect --explain` transcript is what sik prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_wombat import WOMBAT_32
from typer.testing import CliRunner

from sik.cli import app
from sik.testkit import build_iso

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "writing-a-detector.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "tests" / "plugin_example"


@pytest.mark.parametrize("name", ["sik_wombat.py", "test_wombat.py", "pyproject.toml"])
def test_guide_shows_the_example_files_whole(name: str) -> None:
    assert (EXAMPLE / name).read_text(encoding="utf-8") in GUIDE


def test_guide_transcript_is_what_sik_prints(tmp_path: Path) -> None:
    iso = build_iso(WOMBAT_32, tmp_path / "wombat-3.2.iso")
    result = CliRunner().invoke(
        app, ["detect", str(iso), "--explain", "--detector-folder", str(EXAMPLE)]
    )
    assert result.exit_code == 0, result.output
    printed = result.output.splitlines()
    transcript = re.search(r"\$ sik detect wombat-3\.2\.iso --explain\n(.*?)\n```", GUIDE, re.S)
    assert transcript is not None
    # Elided ("...") and machine-specific ("from") lines aside, every line is sik's own.
    shown = [ln for ln in transcript.group(1).splitlines() if ln.strip() != "..." and "from " not in ln]
    assert len(shown) >= 12
    assert all(line in printed for line in shown), [ln for ln in shown if ln not in printed]
