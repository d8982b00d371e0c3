"""What a killed `sik add` leaves (issue 13, item 16): its hidden .NAME.partial copy is removed
by the next add or generate and its space counted as free, a copy in progress is left alone,
and the space check counts a file being replaced (its copy sits beside it until the rename)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sik.core.stick import Stick
from tests.clirun import REFUSED, sik
from tests.isobuilder import LOOPBACK, build_iso
from tests.loopdev import mounted_ext4

MIB = 2**20
pytestmark = pytest.mark.root


@pytest.fixture
def small_stick(tmp_path: Path) -> Iterator[Stick]:
    """A real 40 MiB ext4 filesystem, mounted, with sik's layout."""
    with mounted_ext4(tmp_path, 40 * MIB) as mountpoint:
        stick = Stick(mountpoint)
        stick.initialise()
        yield stick


def _iso(path: Path, size: int) -> Path:
    iso = build_iso(path, LOOPBACK)
    with iso.open("ab") as tail:  # zeros after the volume: still a valid ISO, of ``size``
        tail.truncate(size)
    return iso


def _leftover(stick: Stick, name: str, size: int) -> Path:
    partial = stick.iso_dir / f".{name}.partial"
    with partial.open("wb") as f:
        f.write(os.urandom(size))
    return partial


def test_a_killed_copy_is_removed_and_its_space_counted(small_stick: Stick, tmp_path: Path) -> None:
    partial = _leftover(small_stick, "killed.iso", 20 * MIB)
    sik("add", "--stick", small_stick.root, _iso(tmp_path / "new.iso", 16 * MIB))
    assert not partial.exists() and (small_stick.iso_dir / "new.iso").is_file()
    again = _leftover(small_stick, "killed.iso", 4 * MIB)
    sik("generate", "--stick", small_stick.root)
    assert not again.exists()


def test_a_copy_in_progress_is_left_alone(small_stick: Stick) -> None:
    partial = _leftover(small_stick, "copying.iso", MIB)
    with partial.open("r+b") as copying:
        fcntl.flock(copying.fileno(), fcntl.LOCK_EX)  # as copy_iso holds it
        sik("generate", "--stick", small_stick.root)
        assert partial.exists()


def test_the_space_check_counts_a_file_being_replaced(small_stick: Stick, tmp_path: Path) -> None:
    source = _iso(tmp_path / "same.iso", 24 * MIB)
    sik("add", "--stick", small_stick.root, source)
    before = (small_stick.iso_dir / "same.iso").stat().st_ino
    result = sik("add", "--stick", small_stick.root, source, code=REFUSED)
    assert "not enough space on the stick: 24 MiB needed" in str(result.exception)
    assert (small_stick.iso_dir / "same.iso").stat().st_ino == before
    assert not list(small_stick.iso_dir.glob(".*"))
