"""Mount a sik disk's data partition read-write, with the kernel's driver or a FUSE one.

Kernels differ: a desktop has vfat and exfat, a container or CI kernel may have neither. The
kernel driver is preferred where the running kernel has it (built in or as a module); FUSE
drivers from the distribution stand in where it does not.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from sik.core.errors import StickError
from sik.core.model import FsType
from sik.core.run import find_tool, run, while_failing
from sik.drive.layout import DriveLayout, PartitionSpan, attached

log = logging.getLogger("sik.drive.mount")

# How long a FUSE driver may take to write out its last blocks after the unmount.
_FUSE_EXIT_TIMEOUT = 60.0


def kernel_has_fs(name: str) -> bool:
    """Whether the running kernel can mount ``name``: registered now, or as a loadable module
    (which ``mount -t`` loads on demand, so it is absent from /proc/filesystems until then)."""
    registered = Path("/proc/filesystems").read_text().split()
    if name in registered:
        return True
    modules_dep = Path("/lib/modules") / platform.release() / "modules.dep"
    try:
        return f"/{name}.ko" in modules_dep.read_text()
    except OSError:
        return False


class Driver(StrEnum):
    """A way to mount one filesystem, valued by the name it is known by."""

    ext4 = "ext4"
    exfat = "exfat"
    vfat = "vfat"
    exfat_fuse = "mount.exfat-fuse"
    fusefat = "fusefat"

    @classmethod
    def for_fs(cls, fs: FsType) -> Driver:
        """The kernel's driver when the kernel has one, else the FUSE driver."""
        kernel = {FsType.ext4: cls.ext4, FsType.exfat: cls.exfat, FsType.fat32: cls.vfat}[fs]
        if fs is FsType.ext4 or kernel_has_fs(kernel):
            return kernel
        return cls.exfat_fuse if fs is FsType.exfat else cls.fusefat

    def is_fuse(self) -> bool:
        return self in (Driver.exfat_fuse, Driver.fusefat)

    def package(self) -> str:
        """The Debian package that provides a FUSE driver."""
        return {Driver.exfat_fuse: "exfat-fuse", Driver.fusefat: "fusefat"}.get(self, "mount")

    def argv(
        self, device: Path, mountpoint: Path, read_only: bool = False
    ) -> list[str | os.PathLike[str]]:
        if read_only:
            return self._read_only_argv(device, mountpoint)
        if not self.is_fuse():
            # utf8: vfat otherwise turns file names into iso8859-1, mangling non-ASCII ISO names.
            options = ["-o", "utf8"] if self is Driver.vfat else []
            return ["mount", "-t", str(self), *options, device, mountpoint]
        tool = find_tool(
            str(self),
            reason=f"mount a {self.fs()} filesystem (this kernel has no driver for it)",
            hint=f"install {self.package()}",
        )
        if self is Driver.fusefat:
            # rw+: fusefat mounts read-only unless told to write. blkdev: the kernel then claims
            # the device and waits for the driver's final flush at unmount (fuseblk).
            return [tool, "-o", f"rw+,blkdev,fsname={device}", device, mountpoint]
        # exfat-fuse already mounts as fuseblk.
        return [tool, device, mountpoint]

    def _read_only_argv(self, device: Path, mountpoint: Path) -> list[str | os.PathLike[str]]:
        """A mount that writes nothing: ext4's noload skips replaying a journal (a write)."""
        if not self.is_fuse():
            options = {Driver.ext4: "ro,noload", Driver.vfat: "ro,utf8"}.get(self, "ro")
            return ["mount", "-t", str(self), "-o", options, device, mountpoint]
        tool = find_tool(
            str(self), reason=f"mount a {self.fs()} filesystem", hint=f"install {self.package()}"
        )
        # fusefat insists on being told ro (or rw+); exfat-fuse honours ro.
        options = f"ro,blkdev,fsname={device}" if self is Driver.fusefat else "ro"
        return [tool, "-o", options, device, mountpoint]

    def fs(self) -> FsType:
        return {
            Driver.ext4: FsType.ext4,
            Driver.exfat: FsType.exfat,
            Driver.exfat_fuse: FsType.exfat,
            Driver.vfat: FsType.fat32,
            Driver.fusefat: FsType.fat32,
        }[self]


def _holders(device: Path) -> list[int]:
    """Processes that have ``device`` open (found through /proc/PID/fd)."""
    pids = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == os.fspath(device) for fd in fd_dir.iterdir()):
                pids.append(int(fd_dir.parent.name))
        except OSError:
            continue  # the process ended, or is not ours to look at
    return pids


def _wait_for_release(device: Path) -> None:
    """Wait until the FUSE driver has closed ``device``: it may still be writing after the
    unmount returns, and detaching or reading the image before then would lose those writes."""
    deadline = time.monotonic() + _FUSE_EXIT_TIMEOUT
    while pids := _holders(device):
        if time.monotonic() > deadline:
            raise StickError(
                f"{device} is still held by process {', '.join(map(str, pids))} after unmounting",
                hint="wait for it to end, then run `losetup --detach` on the device",
            )
        time.sleep(0.05)


@contextmanager
def _mountpoint() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sik-mnt-"))
    try:
        yield path
    finally:
        # rmdir, never rmtree: if the unmount failed, the directory still shows the stick.
        if not os.path.ismount(path):
            with while_failing(f"removing {path}"):
                path.rmdir()


def _unmount(device: Path, mountpoint: Path, driver: Driver) -> None:
    try:
        # syncfs first, so a failing unmount (a busy directory) still leaves data written.
        run(["sync", "--file-system", mountpoint])
    finally:
        run(["umount", mountpoint])
    if driver.is_fuse():
        _wait_for_release(device)


@contextmanager
def _mounted(device: Path, mountpoint: Path, driver: Driver, read_only: bool = False) -> Iterator[None]:
    log.debug("mounting %s on %s with %s", device, mountpoint, driver)
    # The mount runs inside the try: a signal while `mount` runs (the kernel may have mounted
    # already) still unmounts. Signals are not held off here as for losetup, because a FUSE
    # driver stays behind as a daemon and would inherit them blocked.
    try:
        run(driver.argv(device, mountpoint, read_only))
        yield
    except BaseException:
        if os.path.ismount(mountpoint):
            with while_failing(f"unmounting {mountpoint}"):
                _unmount(device, mountpoint, driver)
        raise
    _unmount(device, mountpoint, driver)


@contextmanager
def mounted_partition(
    target: Path, span: PartitionSpan, fs: FsType, *, read_only: bool = False
) -> Iterator[Path]:
    """Mount one partition of ``target`` read-write (or, ``read_only``, through a read-only
    loop device, so not one byte of ``target`` changes) on a temporary directory.

    On the way out, even after an error: sync, unmount, detach the loop device, remove the
    directory.
    """
    driver = Driver.for_fs(fs)
    with (
        attached(target, span, read_only=read_only) as device,
        _mountpoint() as mountpoint,
        _mounted(device, mountpoint, driver, read_only),
    ):
        yield mountpoint
    # Writes through the loop device end up in the target's page cache; push them to the
    # stick before anyone is told it is done.
    run(["sync"])


@contextmanager
def mounted_data_partition(layout: DriveLayout, *, read_only: bool = False) -> Iterator[Path]:
    """Mount the data partition of a sik disk (read-write unless ``read_only``); yield the
    mount point."""
    if layout.data_fs is None:
        raise StickError(
            f"the data partition of {layout.target} has no filesystem sik knows",
            hint="format it with `sik install`",
        )
    with mounted_partition(layout.target, layout.data, layout.data_fs, read_only=read_only) as root:
        yield root
