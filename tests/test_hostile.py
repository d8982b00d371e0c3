"""Hostile and broken input: each gives one clear line and an exit status that says so, and
leaves the stick as it was (or with a valid menu that skips the bad file, exit status 3)."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sik.core.run import run
from sik.core.stick import Stick
from tests.clirun import run_sik as _sik
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, LOOPBACK, build_iso
from tests.loopdev import mounted_ext4

ROOT = Path(__file__).resolve().parents[1]
SECTOR = 2048
MIB = 2**20
# How many ISOs the "full stick" test puts in /boot/iso (the issue asks for 10,000).
MANY_ISOS = int(os.environ.get("SIK_HOSTILE_MANY", "10000"))


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its content: "nothing changed" made checkable."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _iso_entries(stick: Stick) -> int:
    lines = stick.grub_cfg.read_text().splitlines()
    return sum(line.startswith("menuentry ") and "--id sik-verify" not in line for line in lines)


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# --- damaged ISOs ------------------------------------------------------------------------------


def _directory_records(data: bytes | bytearray, lba: int, size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, record) for each directory record in an extent (ECMA-119 9.1)."""
    offset, end = lba * SECTOR, lba * SECTOR + size
    while offset < end:
        length = data[offset]
        if length == 0:  # records never cross a sector: the rest of this one is padding
            offset = (offset // SECTOR + 1) * SECTOR
            continue
        yield offset, data[offset : offset + length]
        offset += length


def _set_extent(
    data: bytearray, record: int, *, lba: int | None = None, size: int | None = None
) -> None:
    # Both-byte-order fields (ECMA-119 7.3.3): location at byte 2, data length at byte 10.
    if lba is not None:
        data[record + 2 : record + 10] = struct.pack("<I", lba) + struct.pack(">I", lba)
    if size is not None:
        data[record + 10 : record + 18] = struct.pack("<I", size) + struct.pack(">I", size)


def damaged_isos(directory: Path) -> dict[str, Path]:
    """A pycdlib-built Debian live ISO, patched: a directory that contains its own parent, a
    directory of absurd length, one whose extent lies past the end, a zero block size."""
    good = bytearray(build_iso(directory / "base.bin", DEBIAN_LIVE).read_bytes())
    pvd = 16 * SECTOR
    root_lba, root_size = (
        struct.unpack_from("<I", good, pvd + 156 + 2)[0],
        struct.unpack_from("<I", good, pvd + 156 + 10)[0],
    )
    live = next(
        offset
        for offset, rec in _directory_records(good, root_lba, root_size)
        if rec[25] & 2 and rec[33 : 33 + rec[32]] == b"LIVE"
    )
    cases: dict[str, bytearray] = {
        name: bytearray(good) for name in ("cyclic", "absurd", "past-end", "bs0")
    }
    _set_extent(cases["cyclic"], live, lba=root_lba, size=root_size)
    _set_extent(cases["absurd"], live, size=0xFFFFF800)
    _set_extent(cases["past-end"], live, lba=0x00FFFFFF)
    cases["bs0"][pvd + 128 : pvd + 132] = bytes(4)
    made = {}
    for name, data in cases.items():
        made[name] = directory / f"{name}.iso"
        made[name].write_bytes(data)
    made["junk"] = directory / "junk.iso"
    made["junk"].write_bytes(b"<html>404 Not Found</html>\n" * 2000)
    made["empty"] = directory / "empty.iso"
    made["empty"].write_bytes(b"")
    made["truncated"] = directory / "truncated.iso"
    made["truncated"].write_bytes(bytes(good[: len(good) // 2]))
    return made


def test_broken_isos_in_boot_iso_are_skipped_one_line_each(stick: Stick, tmp_path: Path) -> None:
    bad = damaged_isos(tmp_path)
    for path in bad.values():
        shutil.copyfile(path, stick.iso_dir / path.name)
    build_iso(stick.iso_dir / "debian-live.iso", DEBIAN_LIVE)
    result = _sik("generate", "--stick", stick.root)
    assert result.returncode == 3, result.stderr
    skipped = {
        line.split(":")[0].split()[-1] for line in result.stderr.splitlines() if "skipped" in line
    }
    assert skipped == {p.name for p in bad.values()}
    assert result.stderr.count("\n") == 1 + len(bad)  # the summary and one line per bad file
    assert "not an ISO 9660 image" in result.stderr and "truncated ISO image" in result.stderr
    assert _iso_entries(stick) == 1


def test_sik_add_refuses_broken_isos_before_touching_the_stick(stick: Stick, tmp_path: Path) -> None:
    good = build_iso(tmp_path / "good.iso", DEBIAN_LIVE)
    before = _snapshot(stick.root)
    (tmp_path / "bad").mkdir()
    for name, path in damaged_isos(tmp_path / "bad").items():
        result = _sik("add", "--stick", stick.root, good, path)
        line = _error_line(result)
        assert result.returncode == 1 and line.startswith(f"error: {path.name}: "), (name, line)
        assert _snapshot(stick.root) == before, name


def test_ten_thousand_isos(stick: Stick, tmp_path: Path) -> None:
    """A stick with MANY_ISOS tiny ISOs (hard links of one: the scan opens each all the same).
    The time is measured by hand for docs/benchmarks.md, never asserted."""
    tiny = build_iso(tmp_path / "tiny.iso", LOOPBACK)
    for n in range(MANY_ISOS):
        os.link(tiny, stick.iso_dir / f"tiny-{n:05d}.iso")
    result = _sik("generate", "--stick", stick.root)
    assert result.returncode == 0, result.stderr
    assert f"✓ grub.cfg written: {MANY_ISOS} entries" in result.stderr
    run(["grub-script-check", stick.grub_cfg])


# --- names and labels that try to inject GRUB commands ----------------------------------------


def grub_commands(text: str) -> list[list[str]]:
    """Split grub.cfg into commands and words the way GRUB's lexer does (grub-core/script/
    yylex.l): '…' is literal, "…" honours \\ before " $ \\ and newline, \\ escapes a character
    outside quotes, # starts a comment at a word's start, and newline, ; { } end a command."""
    commands: list[list[str]] = []
    words: list[str] = []
    word: str | None = None
    i = 0

    def end_word() -> None:
        nonlocal word
        if word is not None:
            words.append(word)
            word = None

    def end_command() -> None:
        nonlocal words
        end_word()
        if words:
            commands.append(words)
        words = []

    while i < len(text):
        c = text[i]
        if c == "'":
            close = text.index("'", i + 1)
            word, i = (word or "") + text[i + 1 : close], close + 1
        elif c == '"':
            i += 1
            word = word or ""
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] in '"$\\\n':
                    i += 1
                word, i = word + text[i], i + 1
            i += 1
        elif c == "\\":
            word, i = (word or "") + text[i + 1], i + 2
        elif c == "#" and word is None:
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif c in " \t":
            end_word()
            i += 1
        elif c in "\n;" or (c in "{}" and word is None):
            end_command()
            i += 1
        else:
            word, i = (word or "") + c, i + 1
    end_command()
    return commands


HOSTILE_NAMES = (
    "$(reboot).iso",
    "${prefix}.iso",
    "a;reboot;.iso",
    "}reboot{.iso",
    "`reboot`.iso",
)
# Names an ISO's own loopback.cfg cannot pass on to its initrd intact: GRUB splits
# ${iso_path} at white space there and escapes \ ' " on the command line. They get no entry
# (issue 13, item 10); sik still must not let them inject anything.
UNBOOTABLE_NAMES = (
    "with space.iso",
    "it's.iso",
    'say "hi".iso',
    "x'; reboot; echo '.iso",
    "back\\slash.iso",
)
HOSTILE_LABELS = ("x';reboot;'", "$(reboot)", "}{;halt", 'q"uote\\')


def _label(path: Path, label: str) -> None:
    """Write ``label`` into the PVD's volume identifier (32 bytes at 40), as a hostile tool
    could; pycdlib itself only accepts d-characters."""
    data = bytearray(path.read_bytes())
    data[16 * SECTOR + 40 : 16 * SECTOR + 72] = label.encode().ljust(32, b" ")
    path.write_bytes(data)


def test_file_names_and_labels_cannot_inject_grub_commands(stick: Stick, tmp_path: Path) -> None:
    for name in HOSTILE_NAMES + UNBOOTABLE_NAMES:
        build_iso(stick.iso_dir / name, LOOPBACK)
    for n, label in enumerate(HOSTILE_LABELS):
        _label(build_iso(stick.iso_dir / f"label-{n}.iso", LOOPBACK), label)
        _label(build_iso(stick.iso_dir / f"fedora-{n}.iso", FEDORA_LIVE), label)
    result = _sik("generate", "--stick", stick.root)
    assert result.returncode == 3, result.stderr
    reason = "cannot find an ISO whose path contains white space, a quote or a backslash"
    for name in UNBOOTABLE_NAMES:
        assert f"  skipped {name}: loopback.cfg {reason}: rename the file" in result.stderr
    run(["grub-script-check", stick.grub_cfg])
    commands = grub_commands(stick.grub_cfg.read_text())

    benign = tmp_path / "benign"
    plain = Stick(benign)
    benign.mkdir()
    plain.initialise()
    build_iso(plain.iso_dir / "plain.iso", LOOPBACK)
    build_iso(plain.iso_dir / "fedora.iso", FEDORA_LIVE)
    assert _sik("generate", "--stick", benign).returncode == 0
    known = {c[0] for c in grub_commands(plain.grub_cfg.read_text())}
    # Every command GRUB will run is one a benign menu has too: no reboot, halt or echo.
    assert {c[0] for c in commands} <= known, {c[0] for c in commands} - known
    iso_paths = {
        c[1].split("=", 1)[1] for c in commands if c[0] == "set" and c[1].startswith("iso_path=")
    }
    assert {f"/boot/iso/{name}" for name in HOSTILE_NAMES} <= iso_paths
    titles = {c[1] for c in commands if c[0] == "menuentry"}
    for label in HOSTILE_LABELS:
        assert any(label.strip() in title for title in titles), (label, titles)


def test_names_grub_cannot_hold_are_skipped_on_one_line(stick: Stick) -> None:
    for raw in (b"new\nline.iso", b"tab\there.iso", b"latin1-caf\xe9.iso"):
        build_iso(stick.iso_dir / os.fsdecode(raw), LOOPBACK)
    build_iso(stick.iso_dir / "fine.iso", LOOPBACK)
    result = _sik("generate", "--stick", stick.root)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    control = "its file name holds a line break or control character: rename the file"
    assert f"  skipped new\\x0aline.iso: {control}" in lines
    assert f"  skipped tab\\x09here.iso: {control}" in lines
    assert "  skipped latin1-caf\\xe9.iso: its file name is not valid UTF-8: rename the file" in lines
    assert _iso_entries(stick) == 1


# --- the stick's filesystem: full, read-only ----------------------------------------------------


@pytest.fixture
def small_stick(tmp_path: Path) -> Iterator[Stick]:
    """A real 32 MiB ext4 filesystem on a loop device, mounted, with sik's layout."""
    with mounted_ext4(tmp_path, 32 * MIB) as mountpoint:
        stick = Stick(mountpoint)
        stick.initialise()
        build_iso(stick.iso_dir / "old.iso", LOOPBACK)
        assert _sik("generate", "--stick", mountpoint).returncode == 0
        yield stick


def _fragment_free_space(stick: Stick) -> None:
    """Fill the filesystem with 16 KiB files and delete every other one: a file as large as
    the free space then needs extent-tree blocks that are not there, so the copy hits ENOSPC
    although the free-space check before it passed."""
    filler = stick.root / "filler"
    filler.mkdir()
    n = 0
    while True:
        try:
            with (filler / str(n)).open("wb") as f:
                f.write(b"x" * 16384)
                os.fsync(f.fileno())
        except OSError:
            (filler / str(n)).unlink(missing_ok=True)
            break
        n += 1
    for k in range(0, n, 2):
        (filler / str(k)).unlink()
    os.sync()


def test_stick_fills_up_during_add_partial_copy_is_removed(small_stick: Stick, tmp_path: Path) -> None:
    _fragment_free_space(small_stick)
    free = shutil.disk_usage(small_stick.root).free
    source = build_iso(tmp_path / "new.iso", LOOPBACK)
    with source.open("ab") as f:  # padding after the image: still a valid ISO, of the free size
        f.write(os.urandom(free - source.stat().st_size))
    before = _snapshot(small_stick.root)
    result = _sik("add", "--stick", small_stick.root, source)
    assert result.returncode == 1
    assert (
        _error_line(result)
        == "error: the stick filled up while copying new.iso; nothing was left behind"
    )
    assert _snapshot(small_stick.root) == before
    assert not list(small_stick.iso_dir.glob(".*partial"))

    too_big = tmp_path / "too-big.iso"
    shutil.copyfile(source, too_big)
    with too_big.open("ab") as f:
        f.write(bytes(MIB))
    refused = _sik("add", "--stick", small_stick.root, too_big)
    assert refused.returncode == 1 and _error_line(refused).startswith(
        "error: not enough space on the stick"
    )
    assert _snapshot(small_stick.root) == before


def test_read_only_stick(small_stick: Stick, tmp_path: Path) -> None:
    before = _snapshot(small_stick.root)
    build_iso(tmp_path / "new.iso", LOOPBACK)
    run(["mount", "-o", "remount,ro", small_stick.root])
    try:
        listed = _sik("list", "--stick", small_stick.root)  # reading needs no write: no cache
        assert listed.returncode == 0 and "old.iso" in listed.stdout, listed.stderr
        generated = _sik("generate", "--stick", small_stick.root, "--timeout", "9")
        assert generated.returncode == 1
        # The scan cache is only a cache; the first file generate must write is sik.toml.
        line = _error_line(generated)
        assert line == "error: cannot write sik.toml: the stick is mounted read-only"
        added = _sik("add", "--stick", small_stick.root, tmp_path / "new.iso")
        assert added.returncode == 1
        assert _error_line(added) == "error: cannot write new.iso: the stick is mounted read-only"
    finally:
        run(["mount", "-o", "remount,rw", small_stick.root])
    assert _snapshot(small_stick.root) == before


# --- the host --------------------------------------------------------------------------------


def test_missing_grub_package_names_it_and_creates_nothing(tmp_path: Path) -> None:
    """A PATH with everything in /usr/bin except GRUB's programs, as on a host without
    grub-common."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in Path("/usr/bin").iterdir():
        if not tool.name.startswith("grub"):
            (bin_dir / tool.name).symlink_to(tool)
    image = tmp_path / "new.img"
    result = _sik("install", "--image", image, "--size", "300M", env={"PATH": str(bin_dir)})
    assert result.returncode == 1
    assert _error_line(result) == (
        "error: cannot build GRUB's boot images: none of grub-mkimage, grub2-mkimage is installed"
    )
    assert "hint: install grub-common" in result.stderr
    assert not image.exists()
