"""Copy ISO files onto the stick: checked before the first byte moves, written under a
temporary name, synced, then renamed, so an interrupted copy never looks like an ISO."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sik.core.errors import IsoReadError, SikError, StickError
from sik.core.staged import check_free_space, remove_leftovers, staged
from sik.core.stick import Stick
from sik.detection.iso import check_iso

Progress = Callable[[int], None]
BlockObserver = Callable[[memoryview], None]


@dataclass(frozen=True)
class CopyJob:
    source: Path
    target: Path
    size: int


def add_isos(
    stick: Stick,
    sources: Sequence[Path],
    *,
    progress_for: Callable[[CopyJob], Progress | None] = lambda job: None,
    copied: Callable[[CopyJob], None] = lambda job: None,
) -> tuple[CopyJob, ...]:
    """`sik add` up to the menu: refuse the whole batch before the first byte moves if any
    file cannot go on the stick; then copy each (hidden name, hashed in the same pass, synced,
    renamed) and record it in the manifest. ``progress_for`` gives a job's progress callback,
    ``copied`` hears of each finished file."""
    from sik.files.manifest import ChunkHasher, FileRecord, record
    from sik.menu.generate import warm_up

    stick.claim()
    jobs = plan_copies(stick, sources)
    warm_up()  # what regenerating the menu imports loads while the copy waits on the disk
    for job in jobs:
        chunks = ChunkHasher()
        digest = copy_iso(job, progress_for(job), chunks.update)
        record(stick, {job.target: FileRecord(job.size, digest, chunks.chunks())})
        copied(job)
    return jobs


def plan_copies(stick: Stick, sources: Sequence[Path]) -> tuple[CopyJob, ...]:
    """Refuse the whole batch, before copying anything, if any file cannot go on the stick."""
    # What a killed copy left behind is dead space the check below must count as free.
    remove_leftovers(stick)
    jobs: list[CopyJob] = []
    names: set[str] = set()
    for source in sources:
        if not source.is_file():
            raise SikError(f"{source}: no such file")
        if source.suffix.lower() != ".iso":
            raise SikError(f"{source}: not an .iso file", hint="sik add copies ISO files into /boot/iso")
        if source.name in names:
            raise SikError(f"{source.name} is named twice", hint="rename one of the files")
        names.add(source.name)
        size = source.stat().st_size
        if stick.fs is not None and not stick.fs.fits(size):
            raise StickError(
                f"{source.name} is {size / 2**30:.1f} GiB; "
                f"a {stick.fs} stick cannot hold files over 4 GiB",
                hint="make the stick with `sik install --fs ext4` (or exfat)",
            )
        jobs.append(CopyJob(source, stick.iso_dir / source.name, size))
    _check_space(stick, jobs)
    for job in jobs:  # last: the cheap checks above need no read of the files
        check_is_iso(job.source)
    return tuple(jobs)


def check_is_iso(source: Path) -> None:
    """Open the file as the scan will: junk named .iso, a truncated download or a damaged
    image is refused here, before the stick is touched, with the scan's own reason."""
    try:
        check_iso(source)
    except IsoReadError as exc:
        hint = "sik add copies ISO 9660 images; check the download"
        raise IsoReadError(exc.message, hint=hint) from exc


def _check_space(stick: Stick, jobs: Sequence[CopyJob]) -> None:
    """Every file is copied whole beside the one it replaces (if any), which goes only at the
    rename: the peak needs each file's full size free, replaced or not."""
    hint = "remove ISOs from /boot/iso or use a bigger drive"
    check_free_space(stick, sum(j.size for j in jobs), "", hint)


def preallocate(fd: int, size: int) -> None:
    """Ask the filesystem for the whole file's space at once, so that it can lay the ISO out in
    as few extents as it has free runs (ext4's allocator takes the request as one goal): a file
    in one piece boots as a loop device at its offset, one in pieces needs device-mapper
    (sik/menu/medium.py). fallocate(2) itself, not posix_fallocate(3), which would write zeros
    where the filesystem has no fallocate (exFAT, FAT, FUSE): there sequential writes are all
    the filesystem offers."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return
    fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    fallocate.restype = ctypes.c_int
    fallocate(fd, 0, 0, size)  # an error (EOPNOTSUPP) only means: no preallocation here


def copy_iso(
    job: CopyJob, progress: Progress | None = None, on_block: BlockObserver | None = None
) -> str:
    """Copy one file through a staged name (sik/core/staged.py: synced, then renamed into
    place); return the SHA-256 (hex) of what was copied, computed in the same pass.
    ``on_block`` sees every block copied, in order (the manifest's per-chunk digests), without
    a second read."""
    with staged(job.target) as partial:
        return copy_into(job, partial, progress, on_block)


def copy_into(
    job: CopyJob, dest: Path, progress: Progress | None = None, on_block: BlockObserver | None = None
) -> str:
    """Copy ``job.source`` to ``dest`` (a staged name) and sync it; its SHA-256 (hex)."""
    from sik.files.fastcopy import copy_hash_sync

    try:
        with open(job.source, "rb", buffering=0) as src, open(dest, "wb", buffering=0) as dst:
            preallocate(dst.fileno(), job.size)
            return copy_hash_sync(src.fileno(), dst.fileno(), progress, on_block=on_block)
    except OSError as exc:
        raise _copy_error(job, exc) from exc


def _copy_error(job: CopyJob, exc: OSError) -> StickError:
    if exc.errno == errno.EROFS:
        return StickError(
            f"cannot copy {job.source.name}: the stick is mounted read-only",
            hint="remount it read-write (mount -o remount,rw MOUNTPOINT); a write-protect switch?",
        )
    if exc.errno == errno.ENOSPC:
        name = job.source.name
        return StickError(f"the stick filled up while copying {name}; nothing was left behind")
    return StickError(f"copying {job.source.name} failed: {exc.strerror}")
