"""Property test: every loaded detector meets malformed ISOs through the real scan, plan and
render, and sik never crashes: each file ends as a Detection or as Unsupported with a reason.

Three kinds of input:
- layouts: a random volume label and random contents at the paths detectors ask about (every
  path of every family layout in tests/layouts, plus what the detectors asked on those
  layouts, found by watching them, so new detectors and layouts are covered without editing
  this file): .disk/info, .treeinfo, isolinux.cfg, grub.cfg, os-release, kernels, truncated
  or binary, or a real file's text from another layout;
- family mutations: one family layout from tests/layouts, with its text files (.disk/info,
  .treeinfo, grub.cfg/isolinux.cfg, os-release-like stamps, media.1/media, ...) mutated line
  by line and character by character, files dropped or borrowed from other layouts, and its
  label cut or replaced, so every detector's parsing meets near-valid input;
- mutations: a valid ISO with random bytes written over its volume descriptors, path tables
  and directory records (sectors 16 to 40), or anywhere, or cut short.

Bounded in the suite (SIK_FUZZ_EXAMPLES, default 40 per kind, a few seconds); run longer with
    SIK_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -s tests/test_fuzz_detectors.py
which prints the number of ISOs scanned.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sik.core.model import Detection, FsType, MenuOptions, Unsupported
from sik.core.stick import Stick
from sik.detection.detect import LoadedDetector, RecordingView
from sik.detection.iso import SECTOR, open_iso
from sik.detection.plugins import load_detectors
from sik.detection.scan import scan_one
from sik.menu.plan import plan
from sik.menu.render import render_grub_cfg
from sik.testkit import IsoLayout, build_iso
from tests.fuzzcheck import assert_no_detector_raised
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, LOOPBACK, MEMTEST
from tests.layouts import ALL

EXAMPLES = int(os.environ.get("SIK_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BUILTIN: tuple[IsoLayout, ...] = (
    IsoLayout("d-live 12.11.0 st amd64", DEBIAN_LIVE),
    IsoLayout("Fedora-WS-Live-40-1-14", FEDORA_LIVE),
    IsoLayout("MT86PLUS_64", MEMTEST),
    IsoLayout("OTHER", LOOPBACK),
)
# Every family's real layout too, so each detector's own files and parsers are reached.
REAL: tuple[IsoLayout, ...] = BUILTIN + tuple(
    IsoLayout(layout.volume_id, layout.files) for _, layout in sorted(ALL.items())
)
CONFIGS = (
    ".disk/info",
    ".treeinfo",
    "isolinux/isolinux.cfg",
    "boot/grub/grub.cfg",
    "boot/grub/loopback.cfg",
    "EFI/BOOT/grub.cfg",
    "etc/os-release",
    "usr/lib/os-release",
)
_ASKED = re.compile(r"^(?:exists|read|first_existing) (.+)$")
scanned = {"isos": 0}


@cache
def detectors() -> tuple[LoadedDetector, ...]:
    return load_detectors()


@cache
def asked_paths() -> tuple[str, ...]:
    """Every file path a loaded detector asks about on the real layouts, plus the configs."""
    paths = set(CONFIGS)
    for layout in REAL:
        paths.update(layout.files)
        paths.update(_questions(layout, detectors()))
    return tuple(sorted(_without_directories(paths)))


def _without_directories(paths: set[str]) -> set[str]:
    """A path cannot be both a file and a directory of another path: keep the deeper one."""
    paths = {p.strip("/") for p in paths if p.strip("/")}
    dirs = {str(parent) for p in paths for parent in Path(p).parents}
    return {p for p in paths if p not in dirs}


@cache
def real_texts() -> tuple[str, ...]:
    """The text of every text file in the real layouts, to feed one family's parser another's."""
    return tuple(sorted({v for layout in REAL for v in layout.files.values() if isinstance(v, str)}))


def _questions(layout: IsoLayout, detectors: tuple[LoadedDetector, ...]) -> set[str]:
    import tempfile

    found: set[str] = set()
    with (
        tempfile.TemporaryDirectory() as scratch,
        open_iso(build_iso(layout, Path(scratch) / "r.iso")) as view,
    ):
        for loaded in detectors:
            recorder = RecordingView(view)
            loaded.detector.probe(recorder)
            for question in recorder.questions:
                match = _ASKED.match(question.asked)
                if match:
                    found.update(p.strip("/") for p in match.group(1).split())
    return found


def _content() -> st.SearchStrategy[bytes | str]:
    lines = st.lists(
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(
                [
                    'NAME="Ubuntu"',
                    "VERSION_ID=24.04",
                    "PRETTY_NAME=",
                    "label live\n  kernel /live/vmlinuz\n  append boot=live",
                    "menuentry 'x' {\n linux /casper/vmlinuz iso-scan/filename=${iso_path}\n}",
                    'Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64',
                    "\x00\xff\ufffd",
                    "=" * 200,
                ]
            ),
        ),
        max_size=8,
    ).map("\n".join)
    # Past read_text's 64 KiB limit, cheaply: a file a detector reads only the head of.
    huge = st.integers(5000, 70000).map(lambda n: "menuentry {\n" * (n // 12))
    real = st.builds(real_texts).flatmap(st.sampled_from)
    return st.one_of(lines, st.binary(max_size=600), st.just(""), huge, real)


# Tokens the parsers split on, and characters GRUB, isolinux, INI and os-release treat specially.
_TOKENS = st.sampled_from(
    [
        "menuentry",
        "submenu",
        "linux",
        "linuxefi",
        "initrd",
        "label",
        "menu label",
        "append",
        "kernel",
        "[general]",
        "[images-x86_64]",
        "[stage2]",
        "=",
        "==",
        "'",
        '"',
        "{",
        "}",
        "\\",
        "#",
        "--",
        "---",
        " - ",
        "\t",
        "\x00",
        "\ufffd",
        "initrd=",
        "iso-scan/filename=",
        "boot=live",
        "root=live:CDLABEL=",
        "VERSION_ID=",
        "NAME=",
        "LTS",
        "amd64",
        "x86_64",
        "2024.11.01",
        "99999999999999999999",
        "-1",
        "0.0.0.0",
    ]
)


@st.composite
def _mutated_text(draw: st.DrawFn, text: str) -> str:
    """``text`` changed a few times: lines dropped, duplicated, inserted or swapped; a slice
    replaced; digits renumbered; cut short."""
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 7))
        if op == 0:
            del lines[at]
        elif op == 1:
            lines.insert(at, lines[at])
        elif op == 2:
            lines.insert(at, draw(st.one_of(_TOKENS, st.text(max_size=40))) + "\n")
        elif op == 3:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        text = "".join(lines)
        if op == 4:
            start = draw(st.integers(0, len(text)))
            end = draw(st.integers(start, min(len(text), start + 20)))
            text = text[:start] + draw(st.one_of(_TOKENS, st.text(max_size=12))) + text[end:]
        elif op == 5:
            text = re.sub(r"\d+", lambda _: str(draw(st.integers(0, 10**12))), text, count=3)
        elif op == 6:
            text = text[: draw(st.integers(0, len(text)))]
        elif op == 7:
            text = text.replace(draw(st.sampled_from(['"', "'", "=", " ", "{", "-"])), "")
    return text


@st.composite
def family_mutations(draw: st.DrawFn) -> IsoLayout:
    """One real family layout, its text files mutated, some files dropped or borrowed."""
    base = draw(st.sampled_from(REAL))
    files: dict[str, bytes | str] = dict(base.files)
    texts = sorted(p for p, v in files.items() if isinstance(v, str))
    for path in draw(st.lists(st.sampled_from(texts), unique=True, max_size=4)) if texts else []:
        content = files[path]
        assert isinstance(content, str)
        files[path] = draw(_mutated_text(content))
    for path in draw(st.lists(st.sampled_from(sorted(files)), unique=True, max_size=2)):
        if draw(st.booleans()):
            del files[path]
        else:
            files[path] = draw(st.binary(max_size=64))
    for path in draw(st.lists(st.sampled_from(asked_paths()), unique=True, max_size=3)):
        files[path] = draw(_content())
    kept = _without_directories(set(files))
    label = draw(
        st.one_of(
            st.just(base.volume_id),
            st.builds(lambda n: base.volume_id[:n], st.integers(0, 32)),
            st.sampled_from([layout.volume_id for layout in REAL]),
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=32),
        )
    )
    return IsoLayout(label, {p: v for p, v in files.items() if p.strip("/") in kept})


@st.composite
def layouts(draw: st.DrawFn) -> IsoLayout:
    paths = draw(st.lists(st.sampled_from(asked_paths()), unique=True, max_size=12))
    files: Mapping[str, bytes | str] = {p: draw(_content()) for p in paths}
    label = draw(
        st.one_of(
            st.sampled_from([layout.volume_id for layout in REAL] + ["", "MT86PLUS", "a\tb"]),
            st.text(st.characters(max_codepoint=126), max_size=32),
        )
    )
    return IsoLayout(label, files, joliet=draw(st.booleans()), rock_ridge=draw(st.booleans()))


@cache
def real_iso_bytes(index: int) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        return build_iso(REAL[index], Path(scratch) / "r.iso").read_bytes()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(real_iso_bytes(draw(st.integers(0, len(REAL) - 1))))
    metadata = st.integers(16 * SECTOR, min(41 * SECTOR, len(data)) - 1)
    for _ in range(draw(st.integers(1, 12))):
        offset = draw(st.one_of(metadata, st.integers(0, len(data) - 1)))
        chunk = draw(st.binary(min_size=1, max_size=64))
        data[offset : offset + len(chunk)] = chunk
    if draw(st.booleans()):
        del data[draw(st.integers(17 * SECTOR, len(data))) :]
    return bytes(data)


def _scan_plan_render(stick: Stick, path: Path) -> None:
    result, verdict = scan_one(stick, path, detectors())
    if verdict is not None:
        assert_no_detector_raised(verdict)
    scanned["isos"] += 1
    outcome = result.outcome
    assert isinstance(outcome, Detection | Unsupported)
    if isinstance(outcome, Unsupported):
        assert outcome.reason.strip()
    menu, rows = plan([result], MenuOptions(), stick.fs)
    assert rows[0].entry is not None or rows[0].notes[0].strip()
    render_grub_cfg(menu)


@pytest.fixture(scope="module")
def fuzz_stick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stick]:
    stick = Stick(tmp_path_factory.mktemp("fuzz"), FsType.ext4)
    stick.initialise()
    yield stick
    print(f"\nfuzz: {scanned['isos']} malformed ISOs scanned, planned and rendered")  # with -s


def _build_scan_plan_render(stick: Stick, layout: IsoLayout) -> None:
    path = stick.iso_dir / "fuzz.iso"
    try:
        build_iso(layout, path)
    except Exception:  # pycdlib refused to write the layout (e.g. a label it will not store)
        return
    _scan_plan_render(stick, path)


@FUZZ
@given(layout=layouts())
# Found by this test: a NUL in the volume label reached the menu title and broke rendering.
@example(layout=IsoLayout("\x000", LOOPBACK))
def test_random_layouts_never_crash(fuzz_stick: Stick, layout: IsoLayout) -> None:
    _build_scan_plan_render(fuzz_stick, layout)


@FUZZ
@given(layout=family_mutations())
def test_mutated_family_layouts_never_crash(fuzz_stick: Stick, layout: IsoLayout) -> None:
    _build_scan_plan_render(fuzz_stick, layout)


@FUZZ
@given(data=mutated())
def test_mutated_isos_never_crash(fuzz_stick: Stick, data: bytes) -> None:
    path = fuzz_stick.iso_dir / "fuzz.iso"
    path.write_bytes(data)
    _scan_plan_render(fuzz_stick, path)
