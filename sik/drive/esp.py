"""Reading and writing files on a stick's EFI System Partition with mtools, which reads FAT
itself: no vfat driver and no mount are needed, on an image file or a device alike."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from sik.core.errors import ToolError
from sik.core.run import find_tool, run
from sik.drive.layout import DriveLayout

# mtools checks the boot sector's geometry against a floppy's; a partition has none.
_ENV = {"MTOOLS_SKIP_CHECK": "1"}


def _mtools(tool: str) -> Path:
    return find_tool(tool, reason="use the EFI System Partition", hint="install mtools")


def _image(layout: DriveLayout) -> str:
    return f"{os.fspath(layout.target)}@@{layout.esp.start}"


def write_files(layout: DriveLayout, files: Mapping[PurePosixPath, bytes]) -> None:
    """Put ``files`` (absolute paths on the ESP -> contents) on the ESP in one mcopy, creating
    folders as needed and replacing what is there; other files stay."""
    with tempfile.TemporaryDirectory(prefix="sik-esp-") as tmp:
        tops = set()
        for path, data in files.items():
            local = Path(tmp, *path.parts[1:])
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
            tops.add(Path(tmp, path.parts[1]))
        # -s copies trees, merging into existing folders; -o overwrites without asking.
        run([_mtools("mcopy"), "-s", "-o", "-i", _image(layout), *sorted(tops), "::/"], env=_ENV)


def read_file(layout: DriveLayout, path: PurePosixPath) -> bytes | None:
    """A file's contents from the ESP, or None when it is not there."""
    with tempfile.TemporaryDirectory(prefix="sik-esp-") as tmp:
        local = Path(tmp, "file")
        try:
            run(
                [_mtools("mcopy"), "-n", "-i", _image(layout), f"::{path}", local],
                env=_ENV,
                capture=True,
            )
        except ToolError:
            return None
        return local.read_bytes() if local.is_file() else None


def list_dir(layout: DriveLayout, path: PurePosixPath) -> list[str]:
    """File names in one ESP folder ([] when it does not exist)."""
    try:
        out = run([_mtools("mdir"), "-b", "-i", _image(layout), f"::{path}"], env=_ENV, capture=True)
    except ToolError:
        return []
    names = []
    for line in out.stdout.decode(errors="replace").splitlines():
        name = line.rstrip("/").rsplit("/", 1)[-1]
        if name and not line.endswith("/"):
            names.append(name)
    return names


def delete_file(layout: DriveLayout, path: PurePosixPath) -> None:
    """Remove a file from the ESP if it is there."""
    try:
        run([_mtools("mdel"), "-i", _image(layout), f"::{path}"], env=_ENV, capture=True)
    except ToolError:
        pass
