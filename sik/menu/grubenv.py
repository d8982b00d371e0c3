"""GRUB's environment block (/boot/grub/grubenv): exactly 1024 bytes, key=value lines,
padded with '#'. GRUB's save_env rewrites it in place, so its size must never change."""

from __future__ import annotations

from pathlib import Path

from sik.core.errors import StickError
from sik.core.staged import write_file

_SIZE = 1024
_HEADER = b"# GRUB Environment Block\n"


def encode(values: dict[str, str]) -> bytes:
    body = _HEADER
    for key, value in sorted(values.items()):
        if "\n" in key + value or "=" in key:
            raise StickError(f"cannot store {key!r} in grubenv")
        body += f"{key}={value}\n".encode()
    if len(body) > _SIZE:
        raise StickError("grubenv would exceed 1024 bytes", hint="use a shorter entry id")
    return body + b"#" * (_SIZE - len(body))


def decode(data: bytes) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def read_env(path: Path) -> dict[str, str]:
    return decode(path.read_bytes()) if path.exists() else {}


def update_env(path: Path, **changes: str | None) -> None:
    """Set (or, with None, remove) keys, keeping the others."""
    values = read_env(path)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    write_file(path, encode(values))
