"""Fuzzing the ISO reader and every parser of text from inside an ISO, with hypothesis.

Through the public API only (``open_iso`` and ``IsoView``, the detectors, ``sik.detection.facts``): the
reader's internals may change. The contract under test: a damaged ISO makes ``open_iso`` raise
``IsoReadError`` or yields a view whose every answer is a value (never an exception), and no
parser crashes on any text.

Bounded for the suite (about 15 s on this machine). For a longer run:

    SIK_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz_iso.py -s -p no:xdist

which also prints how many inputs each test ran (the suite's own count is printed with -s too).
With SIK_FUZZ_EXAMPLES set, the examples are random, not the suite's fixed sequence.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sik.core.errors import IsoReadError
from sik.detection.detect import LoadedDetector, detect
from sik.detection.facts import arch_from_name, newest, read_disk_info, udev_label, version_key
from sik.detection.iso import IsoView, open_iso
from tests.fuzzcheck import assert_no_detector_raised
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, LOOPBACK, build_iso

SECTOR = 2048
_ON_DEMAND = os.environ.get("SIK_FUZZ_EXAMPLES")
EXAMPLES = int(_ON_DEMAND or "400")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=_ON_DEMAND is None,  # the suite runs the same inputs every time
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RUNS: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nfuzz executions: {RUNS}, total {sum(RUNS.values())}")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small real ISOs: Rock Ridge, Joliet and plain ISO 9660 namespaces."""
    work = tmp_path_factory.mktemp("seeds")
    return {
        "rr": build_iso(work / "rr.iso", DEBIAN_LIVE).read_bytes(),
        "joliet": build_iso(work / "j.iso", FEDORA_LIVE, rock_ridge=False, joliet=True).read_bytes(),
        "plain": build_iso(work / "p.iso", LOOPBACK, rock_ridge=False).read_bytes(),
    }


def _walk(view: IsoView, directory: str, depth: int) -> None:
    """Ask everything a detector may ask, of every path the view shows (two levels)."""
    for name in view.listdir(directory)[:20]:
        path = PurePosixPath(directory) / name
        assert isinstance(view.exists(path), bool) and isinstance(view.is_dir(path), bool)
        text = view.read_text(path, limit=4096)
        assert text is None or isinstance(text, str)
        if depth and view.is_dir(path):
            _walk(view, str(path), depth - 1)
    view.first_existing("live/vmlinuz", "boot/grub/loopback.cfg", ".disk/info")
    view.read_text("/does/not/exist")


def _exercise(data: bytes, detectors: tuple[LoadedDetector, ...]) -> None:
    with tempfile.NamedTemporaryFile(suffix=".iso") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            with open_iso(Path(tmp.name)) as view:
                assert isinstance(view.volume_id, str)
                _walk(view, "/", 1)
                # Every detector's parsing of what it reads; none may raise (a damaged ISO
                # raises IsoReadError out of detect, as the scan reports it).
                assert_no_detector_raised(detect(view, detectors))
                read_disk_info(view)
        except IsoReadError as exc:
            assert exc.message and "\n" not in exc.message


# Where the structure lives in a small ISO: the volume descriptors (sector 16 on), the path
# tables and the directory extents that follow them. Mutations aim there, where a parser
# decides what to read next.
_patch = st.tuples(st.integers(16 * SECTOR, 40 * SECTOR), st.binary(min_size=1, max_size=8))


@FUZZ
@given(
    seed=st.sampled_from(["rr", "joliet", "plain"]),
    patches=st.lists(_patch, min_size=1, max_size=12),
    cut=st.one_of(st.none(), st.integers(0, 60 * SECTOR)),
)
def test_mutated_isos(
    seeds: dict[str, bytes],
    detectors: tuple[LoadedDetector, ...],
    seed: str,
    patches: list[tuple[int, bytes]],
    cut: int | None,
) -> None:
    RUNS["mutated ISO"] = RUNS.get("mutated ISO", 0) + 1
    data = bytearray(seeds[seed])
    for offset, chunk in patches:
        data[offset : offset + len(chunk)] = chunk
    _exercise(bytes(data[:cut] if cut is not None else data), detectors)


@FUZZ
@given(data=st.binary(min_size=0, max_size=40 * SECTOR))
def test_random_bytes_as_iso(detectors: tuple[LoadedDetector, ...], data: bytes) -> None:
    RUNS["random bytes"] = RUNS.get("random bytes", 0) + 1
    _exercise(data, detectors)


class TextIso:
    """An IsoView whose every file holds ``text`` and whose directories hold ``names``: it
    reaches the parsers of loopback.cfg, .disk/info, isolinux.cfg, os-release, … directly."""

    def __init__(self, label: str, names: tuple[str, ...], text: str) -> None:
        self._label, self._names, self._text = label, names, text

    @property
    def volume_id(self) -> str:
        return self._label

    def exists(self, path: str | PurePosixPath) -> bool:
        return True

    def is_dir(self, path: str | PurePosixPath) -> bool:
        return PurePosixPath(str(path)).suffix == ""

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]:
        return self._names

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None:
        return self._text[:limit]

    def first_existing(self, *paths: str) -> PurePosixPath | None:
        return PurePosixPath("/") / paths[0].strip("/") if paths else None


_names = st.lists(st.text(min_size=1, max_size=30), max_size=8).map(tuple)


@FUZZ
@given(label=st.text(max_size=32), names=_names, text=st.text(max_size=3000))
def test_text_parsers_and_detectors(
    detectors: tuple[LoadedDetector, ...], label: str, names: tuple[str, ...], text: str
) -> None:
    RUNS["text parsers"] = RUNS.get("text parsers", 0) + 1
    view = TextIso(label, names, text)
    info = read_disk_info(view)
    assert info is None or info.text in text
    assert_no_detector_raised(detect(view, detectors))
    assert version_key(text) == version_key(text)
    assert version_key("vmlinuz-6.1.10") > version_key("vmlinuz-6.1.9")
    newest(names, "vmlinuz")
    assert "\n" not in udev_label(label) and " " not in udev_label(label)
    arch_from_name(text)
