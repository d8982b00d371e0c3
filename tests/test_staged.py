"""The one staged writer (sik/core/staged.py): old or new, never half; ownership kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sik.core.errors import StickError
from sik.core.staged import PARTIAL_SUFFIX, staged, write_file


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "grub.cfg"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), staged(target) as partial:
        assert partial.name.startswith(".grub.cfg.") and partial.name.endswith(PARTIAL_SUFFIX)
        partial.write_bytes(b"half of the new")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grub.cfg"]


def test_an_identical_file_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "sik.toml"
    assert write_file(target, b"timeout = 5\n")
    inode = target.stat().st_ino
    assert not write_file(target, b"timeout = 5\n")
    assert target.stat().st_ino == inode


def test_a_replaced_file_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    target.write_bytes(b"{}")
    target.chmod(0o640)
    os.chown(target, 1234, 1235)  # the suite runs as root, as the README says
    write_file(target, b'{"format": 2}')
    after = target.stat()
    assert after.st_mode & 0o777 == 0o640
    assert (after.st_uid, after.st_gid) == (1234, 1235)


def test_a_new_file_belongs_to_the_owner_of_its_folder(tmp_path: Path) -> None:
    """`sudo sik ... --stick /media/user/X`: what sik creates stays the user's."""
    folder = tmp_path / "boot" / "sik"
    folder.mkdir(parents=True)
    os.chown(folder, 1234, 1235)
    write_file(folder / "sik.toml", b"timeout = 5\n")
    made = (folder / "sik.toml").stat()
    assert (made.st_uid, made.st_gid) == (1234, 1235)
    assert made.st_mode & 0o077 != 0o077 and made.st_mode & 0o444 == 0o444  # readable, as umask allows


def test_a_folder_this_user_may_not_write_says_to_use_sudo(tmp_path: Path) -> None:
    """A user's command on an ext4 stick sik installed as root: one line and a way out. The
    write runs in a child that has become nobody (the suite runs as root)."""
    folder = tmp_path / "sik"
    folder.mkdir(mode=0o755)
    pid = os.fork()
    if pid == 0:  # the child: reach the folder as root, then drop to nobody and write
        code = 1
        try:
            os.chdir(folder)
            os.setgid(65534)
            os.setuid(65534)
            write_file(Path("sik.toml"), b"timeout = 5\n")
        except StickError as exc:
            code = 0 if exc.message.endswith("permission denied") and "sudo" in (exc.hint or "") else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert list(folder.iterdir()) == []
