"""/boot/sik/manifest.json: what every ISO and ExtensionImage on the stick looked like when
sik put it there, so `sik verify` can tell a flipped bit from an intact file, and where it is.

Per file: its size, its SHA-256, and one digest per 4 MiB chunk. Why 4 MiB: a damaged flash
page or a bad copy shows up as a range of a few MiB, which is as precise as a user can act on
(re-copy, or compare with `cmp --bytes`), while a 5 GiB ISO needs only 1,280 chunk digests.
Each chunk digest is XXH3-128: the whole-file SHA-256 is the integrity proof, the chunk
digests only locate a change, so they need no cryptographic strength, only to change with any
flipped bit. A second SHA-256 pass cost `sik add` about one CPU-second per GiB, which on two
cores held the copy to 0.75 of `cp`'s throughput; XXH3 costs a tenth of that. 128 bits keep the
manifest of a full stick small (about 40 KiB per 5 GiB ISO). The JSON is deterministic
(sorted keys, no timestamps), and the file is replaced atomically, so a pulled plug leaves the
old manifest or the new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from sik.core.errors import StickError
from sik.core.staged import write_file
from sik.core.stick import EXTENSION_SUFFIX, Stick

CHUNK_SIZE = 4 * 1024 * 1024
# 2: chunk digests are XXH3-128 (1 had SHA-256 cut to 128 bits).
FORMAT = 2
_READ_SIZE = 8 * 1024 * 1024

Progress = Callable[[int], None]


@dataclass(frozen=True)
class FileRecord:
    size: int
    sha256: str
    chunks: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    files: Mapping[str, FileRecord] = field(default_factory=dict)  # by path under the stick root
    chunk_size: int = CHUNK_SIZE


class ManifestError(StickError):
    """The manifest on the stick cannot be read."""


class ChunkHasher:
    """Digests of consecutive ``chunk_size`` pieces of a stream fed in blocks of any size."""

    def __init__(self, chunk_size: int = CHUNK_SIZE) -> None:
        self._size = chunk_size
        self._current = xxhash.xxh3_128()
        self._filled = 0
        self._chunks: list[str] = []

    def update(self, block: bytes | memoryview) -> None:
        view = memoryview(block)
        while view:
            take = min(len(view), self._size - self._filled)
            self._current.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self._size:
                self._close_chunk()

    def _close_chunk(self) -> None:
        self._chunks.append(self._current.hexdigest())
        self._current = xxhash.xxh3_128()
        self._filled = 0

    def chunks(self) -> tuple[str, ...]:
        if self._filled:
            self._close_chunk()
        return tuple(self._chunks)


def hash_file(path: Path, progress: Progress | None = None) -> FileRecord:
    """Read ``path`` once: its size, SHA-256 and chunk digests."""
    whole, chunks, size = hashlib.sha256(), ChunkHasher(), 0
    with path.open("rb") as stream:
        while block := stream.read(_READ_SIZE):
            whole.update(block)
            chunks.update(block)
            size += len(block)
            if progress:
                progress(len(block))
    return FileRecord(size, whole.hexdigest(), chunks.chunks())


def key_of(stick: Stick, path: Path) -> str:
    return path.relative_to(stick.root).as_posix()


def tracked_files(stick: Stick) -> Iterator[Path]:
    """The files the manifest is about: ISOs in /boot/iso and ExtensionImages, not hidden ones
    (a ``.NAME.partial`` copy in progress), in a stable order."""
    for directory, suffix in (
        (stick.iso_dir, ".iso"),
        (stick.extension_dir, EXTENSION_SUFFIX.lower()),
    ):
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir(), key=lambda p: p.name.encode("utf-8", "surrogateescape")):
            if path.suffix.lower() == suffix and not path.name.startswith(".") and path.is_file():
                yield path


def load_manifest(stick: Stick) -> Manifest:
    """The manifest on the stick; one an older sik wrote is converted (_without_chunks)."""
    path = stick.manifest_file
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") not in (1, FORMAT):
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        files = {
            str(name): FileRecord(int(r["size"]), str(r["sha256"]), tuple(str(c) for c in r["chunks"]))
            for name, r in data["files"].items()
        }
        manifest = Manifest(files, int(data["chunk_size"]))
        return manifest if data["format"] == FORMAT else _without_chunks(manifest)
    except FileNotFoundError:
        return Manifest()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(
            f"{path} is damaged ({exc})",
            hint=f"move it away (mv {path} {path}.bad), then record the files anew: sik verify --record",
        ) from exc


def dump_manifest(manifest: Manifest) -> bytes:
    files = {
        name: {"size": r.size, "sha256": r.sha256, "chunks": list(r.chunks)}
        for name, r in sorted(manifest.files.items())
    }
    data = {"format": FORMAT, "chunk_size": manifest.chunk_size, "files": files}
    # ensure_ascii: a file name that is not valid UTF-8 (kept as surrogates) still round-trips.
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True) + "\n").encode()


def dump_sums(manifest: Manifest) -> bytes:
    """The manifest as sha256sum would print it ("HASH  path", two spaces, text mode), for the
    "Verify stick" menu entry: GRUB's ``hashsum --check`` reads exactly this form (grub-core/
    commands/hashsum.c, check_list). A name with a line break cannot be one line of it."""
    lines = [
        f"{r.sha256}  {name}\n".encode("utf-8", "surrogateescape")
        for name, r in sorted(manifest.files.items())
        if "\n" not in name and "\r" not in name
    ]
    return b"".join(lines)


def save_manifest(stick: Stick, manifest: Manifest) -> bool:
    changed = write_file(stick.manifest_file, dump_manifest(manifest))
    write_file(stick.sums_file, dump_sums(manifest))
    return changed


def _without_chunks(manifest: Manifest) -> Manifest:
    """A manifest whose chunk digests cannot be compared with today's (format 1 cut SHA-256
    to 128 bits; another chunk size): each file keeps its size and SHA-256, which still prove
    it intact, and loses only the digests that would locate a change. `sik verify --record`
    after re-copying a file records them anew."""
    files = {name: FileRecord(r.size, r.sha256, ()) for name, r in manifest.files.items()}
    return Manifest(files, CHUNK_SIZE)


def record(stick: Stick, records: Mapping[Path, FileRecord]) -> Manifest:
    """Add or replace the entries for ``records`` (files on the stick) and save the manifest."""
    old = load_manifest(stick)
    if old.chunk_size != CHUNK_SIZE:
        old = _without_chunks(old)
    files = dict(old.files) | {key_of(stick, path): rec for path, rec in records.items()}
    manifest = Manifest(files)
    save_manifest(stick, manifest)
    return manifest


def record_files(stick: Stick, paths: Sequence[Path]) -> Manifest:
    """Record files sik itself just wrote to the stick (an ExtensionImage), read once each."""
    return record(stick, {path: hash_file(path) for path in paths})


def forget(stick: Stick, paths: Iterable[Path]) -> Manifest:
    """Drop the entries of files sik removed from the stick, so `sik verify` misses none."""
    old = load_manifest(stick)
    gone = {key_of(stick, path) for path in paths}
    manifest = Manifest({k: r for k, r in old.files.items() if k not in gone}, old.chunk_size)
    save_manifest(stick, manifest)
    return manifest
