"""/boot/sik/manifest.json: chunk digests, determinism, and `sik add` recording what it copied."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import xxhash
from typer.testing import CliRunner

from sik.cli import app
from sik.core.stick import Stick
from sik.files.add import CopyJob, copy_iso
from sik.files.manifest import (
    CHUNK_SIZE,
    ChunkHasher,
    FileRecord,
    Manifest,
    ManifestError,
    dump_manifest,
    hash_file,
    load_manifest,
    record,
)
from tests.clirun import SKIPPED, sik
from tests.isobuilder import LOOPBACK, build_iso

MIB = 2**20


def _chunks_by_slicing(data: bytes) -> tuple[str, ...]:
    return tuple(
        xxhash.xxh3_128(data[i : i + CHUNK_SIZE]).hexdigest() for i in range(0, len(data), CHUNK_SIZE)
    )


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE - 7])
def test_chunk_digests_do_not_depend_on_block_sizes(size: int) -> None:
    data = os.urandom(size)
    hasher = ChunkHasher()
    position = 0
    for block in (1, 4095, 3 * MIB + 1, 8 * MIB):  # blocks that straddle chunk boundaries
        hasher.update(data[position : position + block])
        position += block
    hasher.update(data[position:])
    assert hasher.chunks() == _chunks_by_slicing(data)


def test_hash_file_and_copy_iso_agree_with_hashlib(tmp_path: Path, stick: Stick) -> None:
    source = tmp_path / "a.iso"
    source.write_bytes(os.urandom(9 * MIB + 5))
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    chunks = ChunkHasher()
    digest = copy_iso(CopyJob(source, stick.iso_dir / "a.iso", 9 * MIB + 5), on_block=chunks.update)
    assert digest == expected
    assert hash_file(stick.iso_dir / "a.iso") == FileRecord(9 * MIB + 5, expected, chunks.chunks())
    assert len(chunks.chunks()) == 3


def test_manifest_json_is_deterministic_and_round_trips_odd_names(stick: Stick) -> None:
    odd = stick.iso_dir / os.fsdecode(b"caf\xe9 \xff.iso")  # not UTF-8: kept as surrogates
    one = {
        odd: FileRecord(1, "a" * 64, ("b" * 32,)),
        stick.iso_dir / "z.iso": FileRecord(0, "c" * 64, ()),
    }
    saved = record(stick, one)
    first = stick.manifest_file.read_bytes()
    assert dump_manifest(load_manifest(stick)) == first == dump_manifest(Manifest(dict(saved.files)))
    assert list(json.loads(first)["files"]) == sorted(json.loads(first)["files"])
    assert load_manifest(stick).files[odd.relative_to(stick.root).as_posix()].sha256 == "a" * 64
    assert not record(stick, {}).files.keys() ^ saved.files.keys()
    assert stick.manifest_file.read_bytes() == first  # nothing new: the file is not rewritten


def test_sik_add_records_each_iso(tmp_path: Path, stick: Stick) -> None:
    sources = [
        build_iso(tmp_path / "one.iso", LOOPBACK | {"big": os.urandom(5 * MIB)}),
        build_iso(tmp_path / "two words.iso", LOOPBACK),
    ]
    # Exit 3: "two words.iso" is recorded, but its loopback.cfg could not find it (no entry).
    sik("add", "--stick", stick.root, *sources, code=SKIPPED)
    files = load_manifest(stick).files
    assert set(files) == {"boot/iso/one.iso", "boot/iso/two words.iso"}
    for source in sources:
        assert files[f"boot/iso/{source.name}"] == hash_file(source)


def test_damaged_manifest_is_an_error_with_a_way_out(stick: Stick) -> None:
    stick.manifest_file.write_text('{"format": 1, "files": {"x": {"size": "no"}}}')
    with pytest.raises(ManifestError, match=r"manifest.json is damaged") as damaged:
        load_manifest(stick)
    assert "sik verify --record" in str(damaged.value.hint)
    assert load_manifest(Stick(stick.root / "nowhere")).files == {}


def test_sums_file_for_grub_is_written_with_the_manifest(stick: Stick) -> None:
    records = {
        stick.iso_dir / "b c.iso": FileRecord(1, "b" * 64, ()),
        stick.iso_dir / "a.iso": FileRecord(1, "a" * 64, ()),
        stick.iso_dir / "new\nline.iso": FileRecord(1, "c" * 64, ()),  # cannot be one line
    }
    record(stick, records)
    assert (stick.sik_dir / "SHA256SUMS").read_text() == (
        f"{'a' * 64}  boot/iso/a.iso\n{'b' * 64}  boot/iso/b c.iso\n"
    )


# --- manifests an older sik wrote (issue 13, item 14) --------------------------------------------


def _old_manifest(stick: Stick, iso: Path, *, format: int, chunk_size: int) -> str:
    """The manifest a previous release left: the ISO's real SHA-256, chunk digests of its kind."""
    digest = hashlib.sha256(iso.read_bytes()).hexdigest()
    entry = {"size": iso.stat().st_size, "sha256": digest, "chunks": ["00" * 16]}
    data = {"format": format, "chunk_size": chunk_size, "files": {"boot/iso/old.iso": entry}}
    (stick.sik_dir / "manifest.json").write_text(json.dumps(data))
    return digest


@pytest.mark.parametrize(("format", "chunk_size"), [(1, 4 * 2**20), (2, 2**20)])
def test_sik_add_on_a_stick_of_the_previous_release_keeps_its_records(
    stick: Stick, tmp_path: Path, format: int, chunk_size: int
) -> None:
    old = build_iso(stick.iso_dir / "old.iso", LOOPBACK)
    digest = _old_manifest(stick, old, format=format, chunk_size=chunk_size)
    new = build_iso(tmp_path / "new.iso", LOOPBACK | {"pad": os.urandom(4096)})
    result = CliRunner().invoke(app, ["add", "--stick", str(stick.root), str(new)])
    assert result.exit_code == 0, result.output
    manifest = load_manifest(stick)
    assert set(manifest.files) == {"boot/iso/old.iso", "boot/iso/new.iso"}
    assert manifest.files["boot/iso/old.iso"].sha256 == digest
    assert manifest.files["boot/iso/old.iso"].chunks == ()  # not comparable: dropped, not kept
    verified = CliRunner().invoke(app, ["verify", "--stick", str(stick.root)])
    assert verified.exit_code == 0, verified.output
    old.write_bytes(old.read_bytes()[:-1] + b"X")
    broken = CliRunner().invoke(app, ["verify", "--stick", str(stick.root)])
    assert broken.exit_code == 1 and "boot/iso/old.iso" in broken.output
