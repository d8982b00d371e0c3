"""The lazy ISO reader gives the same answers as pycdlib's whole-tree parse, on every fixture
ISO and on images built to stress the corners: each namespace alone, deep trees (Rock Ridge
relocation), directories spanning many sectors, names at their length limits."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pycdlib
import pytest

import sik.detection.iso
from sik.core.errors import IsoReadError
from sik.core.run import run
from sik.detection.iso import SECTOR, IsoView, open_iso
from tests.fixtures.liveisos import build_fixture_isos
from tests.isobuilder import DEBIAN_LIVE, build_iso
from tests.reference_reader import open_iso_tree

MEMTEST_ISO = Path("/usr/lib/memtest86+/memtest86+x64.iso")
# pycdlib refuses to open the El Torito boot catalog as a file; the lazy reader reads it.
_PYCDLIB_UNREADABLE = ("boot.catalog", "boot.cat")


def _walk(view: IsoView, path: str = "/") -> Iterator[str]:
    yield path
    for name in view.listdir(path):
        yield from _walk(view, path.rstrip("/") + "/" + name)


def _answers(view: IsoView, path: str) -> tuple[object, ...]:
    text = None if path.lower().endswith(_PYCDLIB_UNREADABLE) else view.read_text(path, limit=4000)
    return (view.exists(path), view.is_dir(path), view.listdir(path), text, view.first_existing(path))


def assert_same_answers(iso: Path) -> int:
    """Ask both readers about every path in the tree, in the case given and upper case, and
    about a missing sibling of each; return how many paths were compared."""
    with open_iso_tree(iso) as reference, open_iso(iso) as lazy:
        assert lazy.volume_id == reference.volume_id
        paths = list(_walk(reference))
        for path in paths:
            for asked in (path, path.upper(), path + "-missing", path.lstrip("/")):
                assert _answers(lazy, asked) == _answers(reference, asked), (iso.name, asked)
    return len(paths)


def test_fixture_live_isos_match_pycdlib() -> None:
    fixtures = build_fixture_isos()
    for iso in (fixtures.live_boot, fixtures.dracut_live, fixtures.loopback, fixtures.memtest):
        assert assert_same_answers(iso) > 5


def test_memtest_iso_from_debian_matches_pycdlib() -> None:
    assert MEMTEST_ISO.exists(), "install memtest86+ (scripts/setup.sh does)"
    assert assert_same_answers(MEMTEST_ISO) > 3


def _tree(depth: int = 10, wide: int = 300) -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = dict(DEBIAN_LIVE)
    deep = "/".join(f"d{n}" for n in range(depth))
    files[f"{deep}/bottom.txt"] = "at the bottom\n"
    files["deep/a/b/c/d/e/f/g/h/i/j/k/leaf"] = "leaf\n"
    for n in range(wide):  # ~300 entries: a directory extent of many sectors
        files[f"pool/main/package-with-a-longish-name-{n:04d}.deb"] = f"{n}\n"
    files["limits/" + "n" * 200 + ".txt"] = "long Rock Ridge name: needs a continuation area\n"
    files["limits/x"] = "one letter\n"
    files["limits/MiXeD Case & spaces.cfg"] = "set x=1\n"
    files["limits/ünïcödé.txt"] = "utf-8 name\n"
    files["big/file.bin"] = bytes(range(256)) * 64
    return files


@pytest.mark.parametrize(
    ("rock_ridge", "joliet"),
    [(True, False), (False, True), (False, False), (True, True)],
    ids=["rock-ridge", "joliet", "plain-iso9660", "rock-ridge+joliet"],
)
def test_pycdlib_built_isos_match(tmp_path: Path, rock_ridge: bool, joliet: bool) -> None:
    files = _tree(depth=10 if rock_ridge else 6)
    if not rock_ridge:  # without Rock Ridge's relocation, pycdlib stops at 7 levels
        files = {k: v for k, v in files.items() if not k.startswith(("deep/", "limits/nnn"))}
    iso = _pycdlib_iso(tmp_path / "t.iso", files, rock_ridge=rock_ridge, joliet=joliet)
    assert assert_same_answers(iso) > 300


def _pycdlib_iso(path: Path, files: dict[str, bytes | str], rock_ridge: bool, joliet: bool) -> Path:
    """Like tests.isobuilder, but with numbered ISO 9660 names, so long names never collide."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09" if rock_ridge else None, joliet=3 if joliet else None)
    made: dict[str, str] = {"": ""}
    for n, (name, content) in enumerate(sorted(files.items())):
        *dirs, leaf = name.split("/")
        for i in range(len(dirs)):
            sub = "/".join(dirs[: i + 1])
            if sub not in made:
                made[sub] = f"{made['/'.join(dirs[:i])]}/D{len(made)}"
                iso.add_directory(made[sub], **_names(sub, rock_ridge, joliet))
        data = content.encode() if isinstance(content, str) else content
        iso_name = f"{made['/'.join(dirs)]}/F{n}.;1"
        iso.add_fp(io.BytesIO(data), len(data), iso_name, **_names(name, rock_ridge, joliet))
    iso.write(str(path))
    iso.close()
    return path


def _names(path: str, rock_ridge: bool, joliet: bool) -> dict[str, Any]:
    names = {"rr_name": path.rsplit("/", 1)[-1]} if rock_ridge else {}
    # Joliet names stop at 64 UCS-2 characters.
    return names | ({"joliet_path": "/" + "/".join(c[:64] for c in path.split("/"))} if joliet else {})


def test_deep_relocated_directory_is_found_where_it_belongs(tmp_path: Path) -> None:
    iso = _pycdlib_iso(tmp_path / "deep.iso", _tree(depth=12, wide=1), rock_ridge=True, joliet=False)
    with open_iso(iso) as view:
        deep = "/".join(f"d{n}" for n in range(12))
        assert view.read_text(f"{deep}/bottom.txt") == "at the bottom\n"
        assert view.listdir("deep/a/b/c/d/e/f/g/h/i/j/k") == ("leaf",)
        assert view.read_text("limits/" + "n" * 200 + ".txt") is not None


@pytest.mark.parametrize(
    "options",
    [["-r"], ["-J", "-joliet-long"], [], ["-r", "-J"], ["-R", "-D"]],
    ids=["rr", "joliet-long", "plain", "rr+joliet", "rr-no-relocation"],
)
def test_xorriso_built_isos_match(tmp_path: Path, options: list[str]) -> None:
    tree = tmp_path / "tree"
    for name, content in _tree(depth=10, wide=200).items():
        if name.startswith("limits/nnn") and "-r" not in options and "-R" not in options:
            continue  # plain and Joliet names cannot be that long
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    iso = tmp_path / "x.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", *options, "-V", "XORRISO", "-o", iso, tree])
    assert assert_same_answers(iso) > 200


def test_symlinks_and_hidden_names_in_rock_ridge(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "casper").mkdir(parents=True)
    (tree / "casper" / "vmlinuz").write_bytes(b"k")
    (tree / "ubuntu").symlink_to(".")
    (tree / ".disk").mkdir()
    (tree / ".disk" / "info").write_text("Ubuntu 24.04\n")
    iso = tmp_path / "u.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-r", "-J", "-o", iso, tree])
    assert_same_answers(iso)
    with open_iso(iso) as view:
        assert view.listdir("/") == (".disk", "casper", "ubuntu")
        assert view.read_text(".disk/info") == "Ubuntu 24.04\n"


def _new_iso(path: Path, count: int) -> Path:
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09")
    iso.add_directory("/D", rr_name="d")
    for n in range(count):
        iso.add_fp(io.BytesIO(b"x"), 1, f"/D/F{n}.;1", rr_name=f"f{n}")
    iso.write(str(path))
    iso.close()
    return path


def _patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def _record_offset(path: Path, name: bytes) -> int:
    """Byte offset of the directory record whose identifier is ``name``."""
    blob = path.read_bytes()
    start = 0
    while True:
        at = blob.index(bytes([len(name)]) + name, start) - 32
        # A path table entry holds the same bytes; a directory record also has volume
        # sequence number 1 (both-endian) at bytes 28-31.
        if at >= 0 and blob[at] >= 33 + len(name) and blob[at + 28 : at + 32] == b"\x01\x00\x00\x01":
            return at
        start = at + 33


def test_directory_pointing_past_the_end_is_a_clear_error(tmp_path: Path) -> None:
    iso = _new_iso(tmp_path / "bad.iso", 3)
    at = _record_offset(iso, b"D")
    _patch(iso, at + 2, (10**6).to_bytes(4, "little") + (10**6).to_bytes(4, "big"))
    with open_iso(iso) as view:
        assert view.exists("d")
        with pytest.raises(IsoReadError, match="runs past the end of the file"):
            view.listdir("d")


def test_huge_directory_length_is_refused_without_reading_it(tmp_path: Path) -> None:
    iso = _new_iso(tmp_path / "bad.iso", 3)
    at = _record_offset(iso, b"D")
    _patch(iso, at + 10, (2**31).to_bytes(4, "little") + (2**31).to_bytes(4, "big"))
    with open_iso(iso) as view, pytest.raises(IsoReadError, match="larger than sik reads"):
        view.listdir("d")


def test_directory_that_contains_itself_does_not_hang(tmp_path: Path) -> None:
    iso = _new_iso(tmp_path / "loop.iso", 1)
    with open_iso(iso) as view:
        assert view.listdir("d") == ("f0",)
    # Point /D at the root's own extent: /d/d/d/... is then an endless path, answered within
    # the depth bound rather than followed forever.
    root_extent = (tmp_path / "loop.iso").read_bytes()[16 * SECTOR + 158 : 16 * SECTOR + 162]
    _patch(iso, _record_offset(iso, b"D") + 2, root_extent)
    with open_iso(iso) as view:
        assert view.is_dir("/".join(["d"] * 50))
        assert not view.exists("/".join(["d"] * 100))


def test_garbage_directory_record_is_a_clear_error(tmp_path: Path) -> None:
    iso = _new_iso(tmp_path / "bad.iso", 2)
    at = _record_offset(iso, b"F0.;1")
    _patch(iso, at, bytes([200]))  # a record length that runs across the sector's records
    with open_iso(iso) as view, pytest.raises(IsoReadError, match="damaged ISO 9660 image"):
        view.listdir("d")


def test_truncated_and_non_iso_files_keep_their_reasons(tmp_path: Path) -> None:
    iso = build_iso(tmp_path / "t.iso", DEBIAN_LIVE)
    data = iso.read_bytes()
    iso.write_bytes(data[: len(data) // 2 + 1])
    with pytest.raises(IsoReadError, match="truncated ISO image"), open_iso(iso):
        pass
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"x" * 40000)
    with pytest.raises(IsoReadError, match="not an ISO 9660 image"), open_iso(junk):
        pass


def test_view_used_after_its_with_block_raises_a_clear_error(tmp_path: Path) -> None:
    iso = build_iso(tmp_path / "d.iso", DEBIAN_LIVE)
    with open_iso(iso) as view:
        assert view.is_dir("live")
    with pytest.raises(IsoReadError, match="cannot read"):
        view.listdir(".disk")


def test_metadata_reads_are_bounded_per_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    iso = _new_iso(tmp_path / "many.iso", 400)  # /D spans several sectors
    monkeypatch.setattr(sik.detection.iso, "_MAX_METADATA_BYTES", 16 * SECTOR)
    with open_iso(iso) as view, pytest.raises(IsoReadError, match="more metadata than any real ISO"):
        view.listdir("d")
