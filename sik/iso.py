"""Read-only questions about an ISO file, answered without extracting or mounting anything.

This module is the only place that imports pycdlib. Paths given to it are ISO-absolute or
relative ("live/vmlinuz" and "/live/vmlinuz" mean the same) and are matched in the richest
namespace the image carries: Rock Ridge, then Joliet, then plain ISO 9660.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from sik.errors import IsoReadError

SECTOR = 2048
_PVD_OFFSET = 16 * SECTOR


class IsoView(Protocol):
    """What a detector may ask of an ISO. Every method is cheap and never raises for a
    missing path: it answers False, None or an empty tuple."""

    @property
    def volume_id(self) -> str: ...

    def exists(self, path: str | PurePosixPath) -> bool: ...

    def is_dir(self, path: str | PurePosixPath) -> bool: ...

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]: ...

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None: ...

    def first_existing(self, *paths: str) -> PurePosixPath | None: ...


def _absolute(path: str | PurePosixPath) -> str:
    text = "/" + str(path).strip("/")
    return text


class _PycdlibView:
    def __init__(self, iso: pycdlib.PyCdlib, path: Path) -> None:
        self._iso = iso
        self._path = path
        self._facade: Any
        if iso.has_rock_ridge():
            self._facade = iso.get_rock_ridge_facade()
        elif iso.has_joliet():
            self._facade = iso.get_joliet_facade()
        else:
            self._facade = iso.get_iso9660_facade()
        self._plain = not (iso.has_rock_ridge() or iso.has_joliet())

    @property
    def volume_id(self) -> str:
        raw: bytes = self._iso.pvd.volume_identifier
        return raw.decode("ascii", errors="replace").rstrip(" \x00")

    def _record(self, path: str | PurePosixPath) -> object | None:
        candidates = [_absolute(path)]
        if self._plain:
            # Plain ISO 9660 names are upper case and files carry a ";1" version suffix.
            upper = candidates[0].upper()
            candidates += [upper, upper + ";1", upper + ".;1"]
        for candidate in candidates:
            try:
                record: object = self._facade.get_record(candidate)
                return record
            except (PyCdlibException, IndexError, KeyError):
                continue
        return None

    def exists(self, path: str | PurePosixPath) -> bool:
        return self._record(path) is not None

    def is_dir(self, path: str | PurePosixPath) -> bool:
        record = self._record(path)
        return record is not None and bool(record.is_dir())  # type: ignore[attr-defined]

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]:
        if not self.is_dir(path):
            return ()
        names: list[str] = []
        try:
            children = list(self._facade.list_children(_absolute(path)))
        except PyCdlibException:
            return ()
        for child in children:
            if child is None or child.is_dot() or child.is_dotdot():
                continue
            names.append(self._name_of(child))
        return tuple(sorted(names))

    def _name_of(self, record: object) -> str:
        rr = getattr(record, "rock_ridge", None)
        if rr is not None and rr.name():
            return str(rr.name().decode("utf-8", errors="replace"))
        ident: bytes = record.file_identifier()  # type: ignore[attr-defined]
        if self._iso.has_joliet() and not self._iso.has_rock_ridge():
            return ident.decode("utf-16-be", errors="replace")
        return ident.decode("ascii", errors="replace").split(";")[0].rstrip(".").lower()

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None:
        record = self._record(path)
        if record is None or record.is_dir():  # type: ignore[attr-defined]
            return None
        try:
            with self._iso.open_file_from_iso(**self._open_kwargs(path)) as stream:
                data: bytes = stream.read(limit)
        except Exception:  # a damaged extent reads as "no such file", never a crash
            return None
        return data.decode("utf-8", errors="replace")

    def _open_kwargs(self, path: str | PurePosixPath) -> dict[str, str]:
        absolute = _absolute(path)
        if self._iso.has_rock_ridge():
            return {"rr_path": absolute}
        if self._iso.has_joliet():
            return {"joliet_path": absolute}
        record = self._record(path)
        return {"iso_path": self._iso.full_path_from_dirrecord(record)} if record is not None else {}  # type: ignore[arg-type]

    def first_existing(self, *paths: str) -> PurePosixPath | None:
        for path in paths:
            if self.exists(path) and not self.is_dir(path):
                return PurePosixPath(_absolute(path))
        return None


@contextlib.contextmanager
def open_iso(path: Path) -> Iterator[IsoView]:
    """Open ``path`` read-only as an ISO 9660 image, or raise IsoReadError saying why not."""
    try:
        fp: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise IsoReadError(f"{path.name}: cannot read: {exc.strerror}") from exc
    with fp:
        _check_header(path, fp)
        iso = pycdlib.PyCdlib()
        try:
            iso.open_fp(fp)
        except Exception as exc:
            # The file is untrusted input: whatever the parser trips over (struct.error,
            # IndexError, RecursionError, ...) is the file's fault, not sik's.
            raise IsoReadError(f"{path.name}: damaged ISO 9660 image ({exc})") from exc
        try:
            yield _PycdlibView(iso, path)
        finally:
            with contextlib.suppress(PyCdlibException):
                iso.close()


def _check_header(path: Path, fp: BinaryIO) -> None:
    """Check the primary volume descriptor before any parser sees the file, so that the two
    commonest bad inputs, a non-ISO and a truncated copy, get an exact reason."""
    fp.seek(_PVD_OFFSET)
    descriptor = fp.read(SECTOR)
    if len(descriptor) < 136:
        raise IsoReadError(f"{path.name}: not an ISO 9660 image (file too small to hold one)")
    if descriptor[1:6] != b"CD001":
        raise IsoReadError(f"{path.name}: not an ISO 9660 image (no volume descriptor at sector 16)")
    # ECMA-119 8.4.8 and 8.4.12: volume space size (sectors) at byte 80, logical block size
    # at byte 128, both little-endian first.
    expected = int.from_bytes(descriptor[80:84], "little") * int.from_bytes(
        descriptor[128:130], "little"
    )
    actual = path.stat().st_size
    if actual < expected:
        raise IsoReadError(
            f"{path.name}: truncated ISO image ({actual} of {expected} bytes)",
            hint="copy the file again; check its checksum against the distribution's",
        )
