"""The scan cache: a hit opens no ISO, a changed ISO or detector is scanned again, and a
corrupt or foreign cache file is discarded rather than trusted."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

import sik.detection.scan
import sik.detection.scancache
from sik.core.errors import SikError
from sik.core.model import BootMethod, Detection, FsType, MenuOptions, ScanResult
from sik.core.stick import Stick
from sik.detection.detect import Detector, LoadedDetector
from sik.detection.iso import IsoView
from sik.detection.plugins import LazyDetectors, fingerprint, source_fingerprint
from sik.detection.scan import cache_key, scan_stick
from sik.detection.scancache import ScanCache, iso_identity
from sik.menu.generate import build_menu, plan_stick
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, build_iso


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every ISO the scan really opens (the real open_iso, recorded)."""
    seen: list[Path] = []
    real = sik.detection.scan.open_iso

    def recording(path: Path):  # type: ignore[no-untyped-def]
        seen.append(path)
        return real(path)

    monkeypatch.setattr(sik.detection.scan, "open_iso", recording)
    return seen


def _fill(stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE, volume_id="d-live")
    build_iso(stick.iso_dir / "fedora.iso", FEDORA_LIVE, volume_id="Fedora-WS-Live-40-1-14")
    (stick.iso_dir / "junk.iso").write_bytes(b"not an iso\n" * 100)


def test_second_scan_opens_no_iso_and_gives_the_same_results(
    stick: Stick, detectors: tuple[LoadedDetector, ...], opened: list[Path]
) -> None:
    _fill(stick)
    first = scan_stick(stick, detectors)
    assert len(opened) == 3 and stick.scan_cache_file.is_file()
    opened.clear()
    assert scan_stick(stick, detectors) == first
    assert opened == []


def test_cached_menu_is_byte_for_byte_the_uncached_one(
    stick: Stick, detectors: tuple[LoadedDetector, ...]
) -> None:
    _fill(stick)
    cold = build_menu(stick, MenuOptions(), detectors).grub_cfg
    warm = build_menu(stick, MenuOptions(), detectors).grub_cfg
    assert warm == cold
    cached = json.loads(stick.scan_cache_file.read_text())
    assert len(cached["entries"]) == 3


def test_changed_iso_is_scanned_again(
    stick: Stick, detectors: tuple[LoadedDetector, ...], opened: list[Path]
) -> None:
    _fill(stick)
    scan_stick(stick, detectors)
    debian = stick.iso_dir / "debian.iso"
    stat = debian.stat()
    # Same size and same mtime, different content: only the edge hash can tell.
    build_iso(debian, DEBIAN_LIVE, volume_id="d-live-2")
    os.truncate(debian, stat.st_size)
    os.utime(debian, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    opened.clear()
    results = {r.iso.path.name: r for r in scan_stick(stick, detectors)}
    assert opened == [debian]
    assert results["debian.iso"].iso.volume_id == "d-live-2"


def test_removed_iso_leaves_the_cache(stick: Stick, detectors: tuple[LoadedDetector, ...]) -> None:
    _fill(stick)
    scan_stick(stick, detectors)
    (stick.iso_dir / "fedora.iso").unlink()
    scan_stick(stick, detectors)
    assert len(json.loads(stick.scan_cache_file.read_text())["entries"]) == 2


class _Everything(Detector, name="everything", priority=99):
    def probe(self, iso: IsoView) -> Detection | None:
        return Detection(self.name, BootMethod.loopback_cfg, "x", "Everything")


def test_detector_change_invalidates_the_cache(
    stick: Stick, detectors: tuple[LoadedDetector, ...], opened: list[Path]
) -> None:
    _fill(stick)
    scan_stick(stick, detectors)
    more = (*detectors, LoadedDetector(_Everything(), "test"))
    assert fingerprint(more) != fingerprint(detectors)
    opened.clear()
    results = scan_stick(stick, more)
    assert len(opened) == 3
    assert {r.detection.detector for r in results if r.detection} == {"everything"}
    opened.clear()
    scan_stick(stick, detectors)  # and back: the cache now holds the other set's answers
    assert len(opened) == 3


def test_detector_code_change_changes_the_fingerprint(tmp_path: Path) -> None:
    from sik.detection.plugins import load_detectors

    folder = tmp_path / "plugins"
    folder.mkdir()
    plugin = folder / "mine.py"
    source = "from sik.detection.detect import Detector\nclass Mine(Detector, name='mine'):\n    pass\n"
    plugin.write_text(source)
    before = fingerprint(load_detectors([folder]))
    plugin.write_text(source + "# a fix\n")
    assert fingerprint(load_detectors([folder])) != before


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe binary",
        b"[]",
        b'{"format": 1, "sik": "0.0.0-other", "fingerprint": "x", "entries": {}}',
    ],
    ids=["broken-json", "binary", "wrong-shape", "foreign-version"],
)
def test_corrupt_or_foreign_cache_is_discarded(
    stick: Stick,
    detectors: tuple[LoadedDetector, ...],
    opened: list[Path],
    caplog: pytest.LogCaptureFixture,
    content: bytes,
) -> None:
    _fill(stick)
    stick.scan_cache_file.write_bytes(content)
    with caplog.at_level(logging.DEBUG, logger="sik.detection.scancache"):
        results = scan_stick(stick, detectors)
    assert len(opened) == 3 and len(results) == 3
    assert "discarding scan cache" in caplog.text
    assert json.loads(stick.scan_cache_file.read_text())["format"] == 1


def test_tampered_entry_is_not_trusted(
    stick: Stick, detectors: tuple[LoadedDetector, ...], opened: list[Path]
) -> None:
    _fill(stick)
    scan_stick(stick, detectors)
    path = stick.scan_cache_file
    body = json.loads(path.read_text())
    identity = iso_identity(stick.iso_dir / "debian.iso")
    body["entries"][identity]["outcome"]["method"] = "no-such-method"
    path.write_text(json.dumps(body))
    opened.clear()
    results: tuple[ScanResult, ...] = scan_stick(stick, detectors)
    assert len(opened) == 3
    assert {r.detection.method for r in results if r.detection} == {
        BootMethod.live_boot,
        BootMethod.dracut_live,
    }


def test_cache_round_trips_every_outcome(stick: Stick, detectors: tuple[LoadedDetector, ...]) -> None:
    _fill(stick)
    scan_stick(stick, detectors)
    key = fingerprint(detectors)
    assert key is not None
    cache = ScanCache.load(stick.scan_cache_file, cache_key(stick, key))
    for iso in stick.iso_dir.iterdir():
        found = cache.get(iso_identity(iso))
        assert found is not None
    assert ScanCache.load(stick.scan_cache_file, "other").get(iso_identity(iso)) is None


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every ISO whose edges are really read and hashed (the real iso_identity, recorded)."""
    seen: list[Path] = []
    real = sik.detection.scancache.iso_identity

    def recording(path: Path) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(sik.detection.scancache, "iso_identity", recording)
    return seen


def _settle(stick: Stick) -> None:
    """Make every recorded hash look taken well after the file's last change."""
    path = stick.scan_cache_file
    body = json.loads(path.read_text())
    for seen in body["seen"].values():
        seen["hashed_ns"] += 60 * 10**9
    path.write_text(json.dumps(body))


def test_settled_iso_on_ext4_is_not_read_at_all(
    stick: Stick, detectors: tuple[LoadedDetector, ...], opened: list[Path], hashed: list[Path]
) -> None:
    _fill(stick)
    first = scan_stick(stick, detectors)
    assert len(hashed) == 3
    hashed.clear()
    scan_stick(stick, detectors)
    assert len(hashed) == 3  # hashed moments after the files were written: not trusted yet
    _settle(stick)
    hashed.clear()
    opened.clear()
    assert scan_stick(stick, detectors) == first
    assert hashed == [] and opened == []


def test_fat_and_exfat_sticks_always_hash(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...], hashed: list[Path]
) -> None:
    fat = Stick(root=tmp_path / "fat", fs=FsType.fat32)
    fat.root.mkdir()
    fat.initialise()
    _fill(fat)
    scan_stick(fat, detectors)
    _settle(fat)
    hashed.clear()
    scan_stick(fat, detectors)
    assert len(hashed) == 3


def test_rewrite_keeping_size_and_mtime_is_seen_through_ctime(
    stick: Stick, detectors: tuple[LoadedDetector, ...], hashed: list[Path]
) -> None:
    _fill(stick)
    scan_stick(stick, detectors)
    _settle(stick)
    debian = stick.iso_dir / "debian.iso"
    stat = debian.stat()
    with open(debian, "r+b") as f:  # in place: same inode, same size
        f.seek(16 * 2048 + 40)
        f.write(b"REWRITTEN".ljust(32))
    os.utime(debian, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    hashed.clear()
    results = {r.iso.path.name: r for r in scan_stick(stick, detectors)}
    assert hashed == [debian]
    assert results["debian.iso"].iso.volume_id == "REWRITTEN"


def test_source_fingerprint_follows_detector_files(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    before = source_fingerprint([folder], ())
    assert before is not None and source_fingerprint([folder], ()) == before
    (folder / "_helper.py").write_text("X = 1\n")  # a helper a detector may import
    helper = source_fingerprint([folder], ())
    assert helper != before
    assert source_fingerprint([folder], ["debian-live"]) != helper


def test_source_fingerprint_gives_up_when_a_package_offers_detectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "site" / "sik_extra-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "entry_points.txt").write_text("[sik.detectors]\nextra = sik_extra:Extra\n")
    assert source_fingerprint([], ()) is not None
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert source_fingerprint([], ()) is None


def test_warm_scan_loads_no_detector(stick: Stick, opened: list[Path]) -> None:
    _fill(stick)
    cold = LazyDetectors()
    first = scan_stick(stick, cold)
    assert cold._loaded is not None and len(opened) == 3
    warm = LazyDetectors()
    assert scan_stick(stick, warm) == first
    assert warm._loaded is None and len(opened) == 3


def test_unknown_disabled_detector_is_reported_with_no_iso_to_scan(stick: Stick) -> None:
    (stick.sik_dir / "sik.toml").write_text('[detectors]\ndisable = ["no-such-detector"]\n')
    for _ in range(2):
        with pytest.raises(SikError, match="no-such-detector"):
            plan_stick(stick)
