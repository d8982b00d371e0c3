"""Build tiny ISO files in tests: exactly the marker files a detector looks at. The builder
itself is sik.testkit's, public for plugin authors; this keeps the tests' older spelling."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sik.testkit import IsoLayout
from sik.testkit import build_iso as build_layout


def build_iso(
    path: Path,
    files: Mapping[str, bytes | str],
    *,
    volume_id: str = "TEST",
    rock_ridge: bool = True,
    joliet: bool = False,
) -> Path:
    """Write an ISO holding ``files`` (ISO path -> content); parent directories are implied."""
    return build_layout(IsoLayout(volume_id, files, joliet=joliet, rock_ridge=rock_ridge), path)


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
