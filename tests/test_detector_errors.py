"""A detector that raises is caught by the fuzz tests' check, and a damaged ISO met inside a
probe is reported as damaged, not as "detector X failed" (issue 13, item 19)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sik.core.model import Unsupported
from sik.core.stick import Stick
from sik.detection.detect import Detector, LoadedDetector, detect
from sik.detection.iso import IsoView, open_iso
from sik.detection.scan import scan_one
from tests.fuzzcheck import assert_no_detector_raised
from tests.isobuilder import DEBIAN_LIVE, build_iso
from tests.test_hostile import damaged_isos


class Raises(Detector):
    name = "raises"

    def probe(self, iso: IsoView) -> None:
        raise ValueError("a bug")


def test_the_fuzz_check_fails_on_a_detector_that_raises(tmp_path: Path) -> None:
    iso = build_iso(tmp_path / "x.iso", DEBIAN_LIVE)
    with open_iso(iso) as view:
        verdict = detect(view, (LoadedDetector(Raises(), "test"),))
    with pytest.raises(AssertionError, match="detectors raised: {'raises': 'ValueError: a bug'}"):
        assert_no_detector_raised(verdict)


@pytest.mark.parametrize("case", ["absurd", "past-end"])
def test_damage_met_inside_a_probe_is_reported_as_damage(
    stick: Stick, tmp_path: Path, detectors: tuple[LoadedDetector, ...], case: str
) -> None:
    """These ISOs open; their /live directory is broken, which only the detectors read."""
    path = stick.iso_dir / f"{case}.iso"
    shutil.copyfile(damaged_isos(tmp_path)[case], path)
    result, verdict = scan_one(stick, path, detectors)
    assert verdict is None and isinstance(result.outcome, Unsupported)
    assert "detector" not in result.outcome.reason and not result.warnings
    assert "ISO" in result.outcome.reason, result.outcome.reason
