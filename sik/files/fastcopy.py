"""Copy a file, hash it (SHA-256) and push it to the disk in one pass.

Reading and writing chunk k run while a worker thread hashes chunk k or one a few behind
(hashlib drops the GIL for large buffers). The kernel is asked to start writing each chunk back
as soon as it is written (sync_file_range(2) with SYNC_FILE_RANGE_WRITE), and the loop waits for
the chunk a few steps behind, then drops it from the page cache. So dirty pages stay bounded,
the progress bar shows what reached the disk (not what reached memory), and the final fsync
has little left to do. Where sync_file_range is missing (not Linux, some FUSE filesystems),
an fdatasync every few chunks does the same job, more bluntly.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

CHUNK = 8 * 1024 * 1024
BUFFERS = 4  # chunks read but maybe not yet hashed
WINDOW = 8  # chunks under writeback before the loop waits for the oldest (64 MiB)

# linux/fs.h
_SYNC_FILE_RANGE_WAIT_BEFORE = 1
_SYNC_FILE_RANGE_WRITE = 2
_SYNC_FILE_RANGE_WAIT_AFTER = 4
_WAIT_ALL = _SYNC_FILE_RANGE_WAIT_BEFORE | _SYNC_FILE_RANGE_WRITE | _SYNC_FILE_RANGE_WAIT_AFTER


def copy_hash_sync(
    src: int,
    dst: int,
    progress: Callable[[int], None] | None = None,
    *,
    chunk: int = CHUNK,
    on_block: Callable[[memoryview], None] | None = None,
) -> str:
    """Copy from file descriptor ``src`` to ``dst`` (both at offset 0) and fsync ``dst``.
    Returns the SHA-256 of the bytes copied, as hex. ``on_block`` sees each block in order,
    in a thread of its own beside the hashing one."""
    digest = hashlib.sha256()
    # One worker: updates run in the order submitted. Several buffers let reading and writing
    # run ahead of hashing while the disk is quick, and hashing catch up while the loop waits
    # for writeback, instead of each waiting for the other chunk by chunk.
    buffers = [bytearray(chunk) for _ in range(BUFFERS)]
    writeback = _Writeback(dst)
    _advise(src, os.POSIX_FADV_SEQUENTIAL if hasattr(os, "POSIX_FADV_SEQUENTIAL") else None)
    offset = 0
    # One worker per consumer: each sees the blocks in the order submitted.
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="sik-hash") as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="sik-observe") as observers,
    ):
        hashing: deque[list[Future[None]]] = deque()
        for turn in itertools.count():
            if len(hashing) == BUFFERS:
                for job in hashing.popleft():
                    job.result()  # chunk turn-BUFFERS consumed: its buffer is free
            view = memoryview(buffers[turn % BUFFERS])
            count = os.readv(src, [view])
            if count == 0:
                break
            data = view[:count]
            jobs = [pool.submit(digest.update, data)]
            if on_block is not None:
                jobs.append(observers.submit(on_block, data))
            hashing.append(jobs)
            _write_all(dst, data)
            writeback.written(offset, count)
            offset += count
            if progress:
                progress(count)
        for pending in hashing:
            for job in pending:
                job.result()
    writeback.finish()
    os.fsync(dst)
    return digest.hexdigest()


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _advise(fd: int, advice: int | None, offset: int = 0, length: int = 0) -> None:
    if advice is not None and hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, offset, length, advice)
        except OSError:  # advice only; a filesystem may refuse it
            pass


class _Writeback:
    """Keep at most WINDOW chunks of ``fd`` dirty in the page cache."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ranges: deque[tuple[int, int]] = deque()
        self._sync_range = _sync_file_range()

    def written(self, offset: int, length: int) -> None:
        self._ranges.append((offset, length))
        if (
            self._sync_range is not None
            and self._sync_range(self._fd, offset, length, _SYNC_FILE_RANGE_WRITE) != 0
        ):
            self._sync_range = None  # e.g. EINVAL on a FUSE filesystem: fall back below
        if len(self._ranges) > WINDOW:
            self._settle(WINDOW // 2)

    def finish(self) -> None:
        self._settle(0)

    def _settle(self, keep: int) -> None:
        if self._sync_range is None:
            os.fdatasync(self._fd)
        while len(self._ranges) > keep:
            offset, length = self._ranges.popleft()
            if (
                self._sync_range is not None
                and self._sync_range(self._fd, offset, length, _WAIT_ALL) != 0
            ):
                self._sync_range = None
                os.fdatasync(self._fd)
            _advise(self._fd, getattr(os, "POSIX_FADV_DONTNEED", None), offset, length)


_SyncFileRange = Callable[[int, int, int, int], int]


def _sync_file_range() -> _SyncFileRange | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    call: _SyncFileRange = function
    return call
