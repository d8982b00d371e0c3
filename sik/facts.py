"""Small readers of facts an ISO carries, shared by detectors so none copies another."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sik.iso import IsoView

_VERSION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)(?![\w.]*[A-Za-z])")
_ARCH = re.compile(r"\b(amd64|x86_64|i386|i686|arm64|aarch64)\b")
_NUMBERS = re.compile(r"\d+|\D+", re.ASCII)


@dataclass(frozen=True)
class DiskInfo:
    """The first line of /.disk/info, e.g. 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 ...'."""

    text: str
    name: str | None
    version: str | None
    arch: str | None


def read_disk_info(iso: IsoView) -> DiskInfo | None:
    text = iso.read_text(".disk/info", limit=4096)
    if not text or not text.strip():
        return None
    line = text.strip().splitlines()[0].strip()
    version = _VERSION.search(line)
    name = line[: version.start()].strip(' -"') if version else None
    arch = _ARCH.search(line)
    return DiskInfo(
        line, name or None, version.group(1) if version else None, arch.group(1) if arch else None
    )


def version_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders 'vmlinuz-6.1.0-10' after 'vmlinuz-6.1.0-9'."""
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int() (found by fuzzing).
    parts = _NUMBERS.findall(text)
    return tuple((0, int(part)) if part.isascii() and part.isdigit() else (1, part) for part in parts)


def newest(names: list[str] | tuple[str, ...], prefix: str) -> str | None:
    """The highest-versioned name that is ``prefix`` or starts with ``prefix`` + '-' or '.'."""
    matching = [n for n in names if n == prefix or n.startswith((prefix + "-", prefix + "."))]
    return max(matching, key=version_key) if matching else None


def udev_label(label: str) -> str:
    """A volume label as udev spells it under /dev/disk/by-label (dracut's CDLABEL= uses this):
    bytes outside a safe set become \\xHH."""
    safe = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#+-.:=@_")
    return "".join(c if c in safe else "".join(f"\\x{b:02x}" for b in c.encode()) for c in label)


def arch_from_name(name: str) -> str | None:
    found = _ARCH.search(name.replace("-", " ").replace("_", " "))
    return found.group(1) if found else None


def join(directory: str, name: str) -> PurePosixPath:
    return PurePosixPath("/") / directory.strip("/") / name
