"""A copy-on-write overlay of a stick: QEMU writes into a qcow2 file beside it, and the stick
(an image file or a drive, opened read-only) keeps every byte it had."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sik.core.run import find_tool, run

_HEX_ADDRESS = re.compile(r"[0-9a-f]{8,}")


def _tool(name: str) -> Path:
    return find_tool(
        name, reason="keep the stick unwritten while a VM boots it", hint="install qemu-utils"
    )


def make_overlay(backing: Path, dest: Path) -> Path:
    """A qcow2 file at ``dest`` that reads through to the raw ``backing`` and takes all writes."""
    backing = backing.resolve()
    run([_tool("qemu-img"), "create", "-q", "-f", "qcow2", "-F", "raw", "-b", backing, dest])
    return dest


def write_into(overlay: Path, offset: int, data: bytes) -> None:
    """Put ``data`` at byte ``offset`` of the disk the overlay shows, in the overlay only."""
    source = overlay.with_name(overlay.name + f".{offset}.bytes")
    source.write_bytes(data)
    try:
        command = f"write -q -s {os.fspath(source)} {offset} {len(data)}"
        run([_tool("qemu-io"), "-f", "qcow2", "-c", command, overlay])
    finally:
        source.unlink()


def read_from(overlay: Path, offset: int, length: int) -> bytes:
    """The bytes the VM would read at ``offset``, through the overlay (for checking a write):
    qemu-io's hex dump, "OFFSET:  hh hh ...  text", read back."""
    out = run(
        [_tool("qemu-io"), "-f", "qcow2", "-c", f"read -v {offset} {length}", overlay], capture=True
    )
    data = bytearray()
    for line in out.stdout.decode(errors="replace").splitlines():
        address, sep, rest = line.partition(":  ")
        if sep and _HEX_ADDRESS.fullmatch(address):
            data += bytes.fromhex(" ".join(rest.split("  ")[0].split()))
    return bytes(data)
