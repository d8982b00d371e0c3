"""The one way sik writes a file on a stick: filled under a hidden temporary name beside it,
flushed to the disk, renamed over the real name, and the rename itself flushed (the directory).
A reader, a pulled plug or a killed sik sees the old file or the new one, never half of each.

Temporary names end in ``.partial`` (``.NAME.XXXXXXXX.partial``), so what a killed sik left
behind is recognisable and `sik add`/`generate` remove it (sik/files/add.py).

Ownership: a file sik replaces keeps its owner and mode; a new file gets the owner of its
directory and the mode a new file gets under the umask. So `sudo sik ... --stick /media/USER/X`
leaves the user's files the user's, where the filesystem keeps owners at all (ext4; FAT and
exFAT have none, and refuse chown).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sik.core.errors import StickError

PARTIAL_SUFFIX = ".partial"


@contextlib.contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A hidden temporary path beside ``path`` for sik or a tool to fill. When the block ends
    without an error it is synced, given ``path``'s ownership and put in its place; otherwise
    it is removed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc) from exc
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        _settle(temporary, path)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # on a read-only stick there is nothing to remove
            temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from exc
        raise
    fsync_dir(path.parent)


def write_file(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` through ``staged``. Returns False, and touches nothing,
    when the file already holds exactly ``data``."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise write_error(path, exc) from exc
    with staged(path) as temporary:
        temporary.write_bytes(data)
    return True


def _settle(temporary: Path, path: Path) -> None:
    """Flush ``temporary`` to the disk and give it the ownership ``path`` has (or would get)."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    try:
        was = os.stat(path)
        mode, uid, gid = was.st_mode & 0o7777, was.st_uid, was.st_gid
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        parent = os.stat(path.parent)
        mode, uid, gid = 0o666 & ~umask, parent.st_uid, parent.st_gid
    with contextlib.suppress(OSError):  # FAT and exFAT keep no modes or owners
        os.chmod(temporary, mode)
    now = os.stat(temporary)
    if (now.st_uid, now.st_gid) != (uid, gid) and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.chown(temporary, uid, gid)


def write_error(path: Path, exc: OSError) -> StickError:
    """One line a user can act on, for the ways writing to a stick fails."""
    if exc.errno == errno.EROFS:
        return StickError(
            f"cannot write {path.name}: the stick is mounted read-only",
            hint="remount it read-write (mount -o remount,rw MOUNTPOINT); a write-protect switch?",
        )
    if exc.errno == errno.ENOSPC:
        return StickError(f"cannot write {path.name}: the stick is full", hint="remove an ISO")
    if exc.errno in (errno.EACCES, errno.EPERM):
        # The usual case: a user's command on an ext4 stick, whose folders `sik install` made as
        # root.
        return StickError(
            f"cannot write {path}: permission denied",
            hint="its folder belongs to another user (root, on an ext4 stick): run sik with sudo",
        )
    return StickError(f"cannot write {path}: {exc.strerror}")


def fsync_dir(directory: Path) -> None:
    # The rename is only durable once the directory entry is on disk; some filesystems (FUSE
    # ones) refuse to fsync a directory, which costs durability, not correctness.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
