"""Build tiny ISO files in tests: exactly the marker files a detector looks at, via pycdlib."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pycdlib


def _iso9660_name(part: str, is_dir: bool, index: int) -> str:
    # Plain ISO 9660 level 3 names: upper case, limited charset; Rock Ridge carries the real one.
    base = "".join(c if c.isalnum() else "_" for c in part.upper())[:24] or f"F{index}"
    if is_dir:
        return base[:31]
    stem, _, ext = part.upper().rpartition(".")
    stem = "".join(c if c.isalnum() else "_" for c in (stem or ext))[:24] or f"F{index}"
    ext = "".join(c if c.isalnum() else "_" for c in ext)[:3] if stem != ext and "." in part else ""
    return f"{stem}.{ext};1" if ext else f"{stem}.;1"


def build_iso(
    path: Path,
    files: Mapping[str, bytes | str],
    *,
    volume_id: str = "TEST",
    rock_ridge: bool = True,
    joliet: bool = False,
) -> Path:
    """Write an ISO holding ``files`` (ISO path -> content); parent directories are implied."""
    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3,
        vol_ident=volume_id,
        rock_ridge="1.09" if rock_ridge else None,
        joliet=3 if joliet else None,
    )
    made: dict[PurePosixPath, str] = {PurePosixPath("/"): "/"}
    for n, (name, content) in enumerate(sorted(files.items())):
        target = PurePosixPath("/") / name.strip("/")
        parent_iso = _ensure_dirs(iso, target.parent, made, rock_ridge, joliet)
        data = content.encode() if isinstance(content, str) else content
        iso_name = parent_iso.rstrip("/") + "/" + _iso9660_name(target.name, False, n)
        kwargs: dict[str, str] = {}
        if rock_ridge:
            kwargs["rr_name"] = target.name
        if joliet:
            kwargs["joliet_path"] = str(target)
        iso.add_fp(io.BytesIO(data), len(data), iso_name, **kwargs)
    iso.write(str(path))
    iso.close()
    return path


def _ensure_dirs(
    iso: pycdlib.PyCdlib,
    directory: PurePosixPath,
    made: dict[PurePosixPath, str],
    rr: bool,
    joliet: bool,
) -> str:
    if directory in made:
        return made[directory]
    parent = _ensure_dirs(iso, directory.parent, made, rr, joliet)
    iso_name = parent.rstrip("/") + "/" + _iso9660_name(directory.name, True, len(made))
    kwargs: dict[str, str] = {}
    if rr:
        kwargs["rr_name"] = directory.name
    if joliet:
        kwargs["joliet_path"] = str(directory)
    iso.add_directory(iso_name, **kwargs)
    made[directory] = iso_name
    return iso_name


# Real layouts, reduced to the files detectors read.
DEBIAN_LIVE = {
    "live/vmlinuz-6.1.0-37-amd64": b"kernel",
    "live/initrd.img-6.1.0-37-amd64": b"initrd",
    "live/vmlinuz-6.1.0-9-amd64": b"older kernel",
    "live/initrd.img-6.1.0-9-amd64": b"older initrd",
    "live/filesystem.squashfs": b"hsqs",
    ".disk/info": 'Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64 LIVE Binary 20250517-09:52\n',
}
FEDORA_LIVE = {
    "LiveOS/squashfs.img": b"hsqs",
    "images/pxeboot/vmlinuz": b"kernel",
    "images/pxeboot/initrd.img": b"initrd",
    "EFI/BOOT/grub.cfg": "menuentry 'Start Fedora' {}\n",
}
MEMTEST = {"EFI/BOOT/bootx64.efi": b"MZ", "boot/floppy.img": b"\0" * 512}
LOOPBACK = {"boot/grub/loopback.cfg": "menuentry 'x' { linux /k }\n", "k": b"kernel"}
