"""What the fuzz tests ask of every verdict: no detector raised. A detector must answer odd
input with None (sik/detection/detect.py's contract); run_probe turns an exception into the
probe's error so one broken plugin cannot stop a scan, which would otherwise let a detector
that raises on every malformed input pass the fuzzing unseen."""

from __future__ import annotations

from sik.detection.detect import Verdict


def assert_no_detector_raised(verdict: Verdict) -> None:
    failed = {p.name: p.error for p in verdict.probes if p.error}
    assert not failed, f"detectors raised: {failed}"
