"""The detector contract: a broken probe costs only its own vote, every question a detector
asks is on record for `sik detect --explain`, and the winner is chosen by priority, loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.errors import SikError
from sik.core.model import BootMethod, Detection, Unsupported
from sik.core.stick import Stick
from sik.detection.detect import LoadedDetector, RecordingView, Verdict, detect
from sik.detection.iso import open_iso
from sik.detection.plugins import load_detectors
from sik.testkit import IsoLayout, build_iso
from tests.isobuilder import DEBIAN_LIVE, LOOPBACK
from tests.test_detectors import TWIN

DEBIAN = IsoLayout("d-live 12.11.0 st amd64", DEBIAN_LIVE)

BROKEN = """
from sik.detection.detect import Detector

class Broken(Detector, name="broken", priority=90):
    def probe(self, iso):
        iso.exists("broken/marker")
        raise ValueError("cannot parse {}".format(iso.volume_id))

class Wrong(Detector, name="wrong", priority=90):
    def probe(self, iso):
        return "debian"
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text(BROKEN, encoding="utf-8")
    return folder


def _verdict(tmp_path: Path, layout: IsoLayout, detectors: tuple[LoadedDetector, ...]) -> Verdict:
    with open_iso(build_iso(layout, tmp_path / "x.iso")) as view:
        return detect(view, detectors)


def test_a_raising_probe_is_reported_and_the_others_decide(tmp_path: Path, plugins: Path) -> None:
    verdict = _verdict(tmp_path, DEBIAN, load_detectors([plugins]))
    assert isinstance(verdict.outcome, Detection) and verdict.outcome.detector == "debian-live"
    probes = {p.name: p for p in verdict.probes}
    assert probes["broken"].status == "failed"
    assert probes["broken"].error == "ValueError: cannot parse d-live 12.11.0 st amd64"
    assert [str(q) for q in probes["broken"].questions] == [
        "exists /broken/marker -> no",
        'volume label -> "d-live 12.11.0 st amd64"',
    ]
    assert probes["wrong"].error == "probe returned str, not Detection or None"
    assert verdict.warnings == (
        "detector broken failed: ValueError: cannot parse d-live 12.11.0 st amd64",
        "detector wrong failed: probe returned str, not Detection or None",
    )


def test_when_nothing_matches_the_reason_names_the_failed_detector(
    tmp_path: Path, plugins: Path
) -> None:
    verdict = _verdict(tmp_path, IsoLayout("MYSTERY", {"README": "x"}), load_detectors([plugins]))
    assert isinstance(verdict.outcome, Unsupported)
    assert verdict.outcome.reason.endswith(
        "; detector broken, wrong failed on it (see sik detect --explain)"
    )


def test_sik_list_shows_a_broken_detector_as_a_warning(stick: Stick, plugins: Path) -> None:
    build_iso(DEBIAN, stick.iso_dir / "debian.iso")
    listed = CliRunner().invoke(
        app, ["list", "--stick", str(stick.root), "--json", "--detector-folder", str(plugins)]
    )
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert row["status"] == "warning" and row["entry"] == "iso-debian"
    assert "detector broken failed: ValueError: cannot parse d-live 12.11.0 st amd64" in row["notes"]


def test_recording_view_answers_like_the_view_and_writes_it_down(tmp_path: Path) -> None:
    layout = IsoLayout(
        "LABEL", {".disk/info": "Line one\nline two\n", "a/b": "x", **{f"d/{i}": "" for i in range(8)}}
    )
    with open_iso(build_iso(layout, tmp_path / "x.iso")) as view:
        recorder = RecordingView(view)
        assert recorder.volume_id == "LABEL"
        assert recorder.exists("a/b") and not recorder.exists("/nope")
        assert recorder.is_dir("a") and not recorder.is_dir("a/b")
        assert recorder.listdir("d") == view.listdir("d")
        assert recorder.read_text(".disk/info") == "Line one\nline two\n"
        assert recorder.read_text("nope") is None
        assert str(recorder.first_existing("x", "a/b")) == "/a/b"
    assert [str(q) for q in recorder.questions] == [
        'volume label -> "LABEL"',
        "exists /a/b -> yes",
        "exists /nope -> no",
        "is_dir /a -> yes",
        "is_dir /a/b -> no",
        "listdir /d -> 8 names: 0, 1, 2, 3, 4, 5, ...",
        'read /.disk/info -> "Line one ..."',
        "read /nope -> missing",
        "first_existing /x /a/b -> /a/b",
    ]


def test_why_names_the_priorities(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    verdict = _verdict(tmp_path, IsoLayout("D", {**DEBIAN_LIVE, **LOOPBACK}), detectors)
    assert verdict.why == "debian-live wins: its priority 50 is above loopback.cfg (0)"
    alone = _verdict(tmp_path, IsoLayout("D", LOOPBACK), detectors)
    assert alone.why == "loopback.cfg wins: the only detector that matched"


def test_ambiguity_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "twin"
    folder.mkdir()
    (folder / "twin.py").write_text(TWIN.format(name="twin"), encoding="utf-8")
    verdict = _verdict(tmp_path, DEBIAN, load_detectors([folder]))
    assert isinstance(verdict.outcome, Unsupported)
    assert verdict.why == "ambiguous: detectors debian-live and twin both match at priority 50"


def test_detect_explain_shows_questions_answers_and_the_entry(tmp_path: Path, plugins: Path) -> None:
    iso = build_iso(IsoLayout("D", {**DEBIAN_LIVE, **LOOPBACK}), tmp_path / "debian-12.iso")
    result = CliRunner().invoke(
        app, ["detect", str(iso), "--explain", "--detector-folder", str(plugins)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "debian-12.iso: Debian GNU/Linux 12.11.0 (amd64) via live-boot, ISO file"
    assert "  why: debian-live wins: its priority 50 is above loopback.cfg (0)" in lines
    assert "    cmdline boot=live components findiso=/boot/iso/debian-12.iso" in lines
    assert "  broken (priority 90): FAILED: ValueError: cannot parse D" in lines
    assert "  dracut-live (priority 50): no match" in lines
    at = lines.index("  dracut-live (priority 50): no match")
    assert lines[at + 2] == "    exists /LiveOS/squashfs.img -> no"
    assert (
        '    read /.disk/info -> "Debian GNU/Linux 12.11.0 \\"Bookworm\\" - Official amd64 LIVE Bi ..."'
        in lines
    )


def test_detect_json_has_every_detector(tmp_path: Path) -> None:
    iso = build_iso(DEBIAN, tmp_path / "d.iso")
    result = CliRunner().invoke(
        app, ["detect", str(iso), "--json", "--disable-detector", "loopback.cfg"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["status"], out["title"], out["detector"]) == (
        "detected",
        "Debian GNU/Linux 12.11.0 Live standard (amd64)",
        "debian-live",
    )
    assert out["entry"]["cmdline"] == ["boot=live", "components", "findiso=/boot/iso/d.iso"]
    by_name = {d["name"]: d for d in out["detectors"]}
    assert "loopback.cfg" not in by_name
    assert by_name["debian-live"]["status"] == "matched"
    assert by_name["debian-live"]["questions"][0] == {"asked": "is_dir /live", "answer": "yes"}
    assert by_name["memtest86+"] | {"source": None} == {
        "name": "memtest86+",
        "priority": 60,
        "source": None,
        "status": "no match",
        "error": None,
        "evidence": [],
        "questions": [{"asked": "volume label", "answer": '"d-live 12.11.0 st amd64"'}],
    }


def test_a_module_that_does_not_import_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import no_such_module_anywhere\n", encoding="utf-8")
    with pytest.raises(SikError, match=r"cannot load detector module .*bad\.py: ModuleNotFoundError"):
        load_detectors([tmp_path])


def test_disabling_an_unknown_detector_is_an_error() -> None:
    with pytest.raises(SikError, match="cannot disable unknown detector 'debain-live'"):
        load_detectors(disabled=["debain-live"])


def test_builtin_detectors_still_claim_their_isos(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    verdict = _verdict(tmp_path, DEBIAN, detectors)
    assert isinstance(verdict.outcome, Detection) and verdict.outcome.method is BootMethod.live_boot
    assert verdict.matches == (("debian-live", 50, verdict.outcome),)
