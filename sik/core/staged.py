"""The one way sik writes a file on a stick: filled under a hidden temporary name beside it,
flushed to the disk, renamed over the real name, and the rename itself flushed (the directory).
A reader, a pulled plug or a killed sik sees the old file or the new one, never half of each.

Temporary names end in ``.partial`` (``.NAME.XXXXXXXX.partial``), so what a killed sik left
behind is recognisable: while it fills one, sik holds an flock(2) on it, and a partial file no
process holds is a leftover that `sik add` and `sik generate` remove (``remove_leftovers``),
never a file another sik is writing right now.

Ownership: a file sik replaces keeps its owner and mode; a new file gets the owner of its
directory and the mode a new file gets under the umask. So `sudo sik ... --stick /media/USER/X`
leaves the user's files the user's, where the filesystem keeps owners at all (ext4; FAT and
exFAT have none, and refuse chown).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sik.core.errors import StickError

if TYPE_CHECKING:
    from sik.core.stick import Stick

PARTIAL_SUFFIX = ".partial"
log = logging.getLogger("sik.core.staged")


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
    temporary = Path(name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # "in use": remove_leftovers keeps off
        yield temporary
        _settle(temporary, path)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # on a read-only stick there is nothing to remove
            temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from exc
        raise
    finally:
        os.close(fd)
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


def remove_leftovers(stick: Stick) -> int:
    """Delete the partial files no sik is writing (a killed copy's, up to an ISO's size, hidden
    and dead) in the folders where sik writes files: the root (home.img), /boot/iso,
    /boot/extensions, /boot/grub, /boot/sik and its initrd and known-isos folders. Returns the
    bytes freed."""
    freed = 0
    folders = (stick.root, stick.iso_dir, stick.extension_dir, stick.grub_dir, stick.sik_dir)
    for directory in (*folders, stick.initrd_dir, stick.known_isos_dir):
        try:
            candidates = sorted(directory.glob(f".*{PARTIAL_SUFFIX}"))
        except OSError:
            continue
        freed += sum(_remove_if_unheld(path) for path in candidates)
    return freed


def _remove_if_unheld(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        size = os.fstat(fd).st_size
        path.unlink()
    except OSError:
        return 0  # a sik is writing it now, or it is not ours to remove
    finally:
        os.close(fd)
    log.debug("removed %s, left by an interrupted sik (%d bytes)", path, size)
    return size


def check_free_space(stick: Stick, needed: int, what: str, hint: str) -> None:
    """Refuse ``needed`` bytes more than the stick's filesystem has free. A filesystem that
    reports no size at all (fusefat's statfs says 0 blocks) cannot be checked: the write then
    finds out, and a staged file leaves nothing behind when it does."""
    usage = os.statvfs(stick.root)
    if usage.f_blocks == 0:
        log.debug("%s reports no size; the free space is not checked", stick.root)
        return
    free = usage.f_bavail * usage.f_frsize
    if needed > free:
        raise StickError(
            f"not enough space on the stick{what}: {needed / 2**20:.0f} MiB needed, "
            f"{free / 2**20:.0f} MiB free",
            hint=hint,
        )
