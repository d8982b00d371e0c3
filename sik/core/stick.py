"""Where things live on a mounted data partition, and how sik writes there without ever
leaving a half-written file behind."""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sik.core.errors import StickError
from sik.core.model import FsType

# Directories DESIGN.md promises on every stick; `sik install` creates them.
LAYOUT_DIRS = (
    "boot/grub",
    "boot/iso",
    "boot/extensions",
    "boot/customize/overlay",
    "boot/sik",
    "apps",
)


@dataclass(frozen=True)
class Stick:
    """A mounted data partition: an image's (mounted by sik) or a real drive's (by the user)."""

    root: Path
    fs: FsType | None = None
    uuid: str | None = None  # the data partition's filesystem UUID, when known

    @property
    def iso_dir(self) -> Path:
        return self.root / "boot" / "iso"

    @property
    def grub_dir(self) -> Path:
        return self.root / "boot" / "grub"

    @property
    def grub_cfg(self) -> Path:
        return self.grub_dir / "grub.cfg"

    @property
    def grubenv(self) -> Path:
        return self.grub_dir / "grubenv"

    @property
    def sik_dir(self) -> Path:
        return self.root / "boot" / "sik"

    @property
    def custom_cfg(self) -> Path:
        return self.sik_dir / "custom.cfg"

    @property
    def options_file(self) -> Path:
        return self.sik_dir / "sik.toml"

    def on_stick(self, path: Path) -> PurePosixPath:
        """The absolute path GRUB and the booted initrd see for a file on this partition."""
        return PurePosixPath("/") / path.relative_to(self.root).as_posix()

    def check(self) -> None:
        if not self.root.is_dir():
            raise StickError(f"{self.root} is not a directory", hint="mount the stick's data partition")
        if not (self.root / "boot" / "grub").is_dir():
            raise StickError(
                f"{self.root} does not look like a sik stick (no boot/grub)",
                hint="run `sik install` first, or pass the mount point of the stick's data partition",
            )

    def create_layout(self) -> None:
        for rel in LAYOUT_DIRS:
            (self.root / rel).mkdir(parents=True, exist_ok=True)


def write_atomically(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` so a reader (or a pulled plug) sees old or new, never half.

    Returns False, and touches nothing, when the file already holds exactly ``data``.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from exc
        raise
    _fsync_dir(path.parent)
    return True


def _write_error(path: Path, exc: OSError) -> StickError:
    """One line a user can act on, for the ways writing to a stick fails."""
    if exc.errno == errno.EROFS:
        return StickError(
            f"cannot write {path.name}: the stick is mounted read-only",
            hint="remount it read-write (mount -o remount,rw MOUNTPOINT); a write-protect switch?",
        )
    if exc.errno == errno.ENOSPC:
        return StickError(f"cannot write {path.name}: the stick is full", hint="remove an ISO")
    return StickError(f"cannot write {path}: {exc.strerror}")


def _fsync_dir(directory: Path) -> None:
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
