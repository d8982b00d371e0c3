"""`sik add`'s copy loop: the bytes, the SHA-256 and the progress all come from one pass."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import sik.files.fastcopy
from sik.core.stick import Stick
from sik.files.add import copy_iso, plan_copies
from sik.files.fastcopy import WINDOW, copy_hash_sync
from tests.isobuilder import build_iso


def _copy(source: Path, target: Path, chunk: int) -> tuple[str, list[int]]:
    seen: list[int] = []
    with open(source, "rb", buffering=0) as src, open(target, "wb", buffering=0) as dst:
        digest = copy_hash_sync(src.fileno(), dst.fileno(), seen.append, chunk=chunk)
    return digest, seen


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 4096 * (WINDOW * 3 + 1) + 17])
def test_copy_hash_matches_hashlib_and_the_bytes(tmp_path: Path, size: int) -> None:
    source = tmp_path / "in"
    source.write_bytes(os.urandom(size))
    digest, seen = _copy(source, tmp_path / "out", chunk=4096)
    assert (tmp_path / "out").read_bytes() == source.read_bytes()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert sum(seen) == size and all(0 < n <= 4096 for n in seen)


def test_without_sync_file_range_it_falls_back_to_fdatasync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sik.files.fastcopy, "_sync_file_range", lambda: None)  # as on a non-Linux libc
    source = tmp_path / "in"
    source.write_bytes(os.urandom(4096 * (WINDOW * 2 + 3)))
    digest, _ = _copy(source, tmp_path / "out", chunk=4096)
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (tmp_path / "out").read_bytes() == source.read_bytes()


def test_copy_iso_returns_the_sha256_and_leaves_no_partial(stick: Stick, tmp_path: Path) -> None:
    source = build_iso(tmp_path / "some.iso", {"blob": os.urandom(3 * 1024 * 1024 + 5)})
    (job,) = plan_copies(stick, [source])
    assert copy_iso(job) == hashlib.sha256(source.read_bytes()).hexdigest()
    assert [p.name for p in stick.iso_dir.iterdir()] == ["some.iso"]
