"""The reference ISO reader: pycdlib, which parses the whole directory tree first. Slow on a big
image, but every answer sik's own lazy reader (sik/detection/iso.py) gives is checked against
it (tests/test_iso_reader.py), and the benchmarks time it as the peer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from sik.core.errors import IsoReadError
from sik.detection.iso import IsoView, check_header


def _absolute(path: str | PurePosixPath) -> str:
    return "/" + str(path).strip("/")


def _plain_name(ident: bytes) -> str:
    """ISO 9660 "VMLINUZ.;1" -> "vmlinuz", as the lazy reader spells it."""
    return ident.decode("ascii", errors="replace").split(";")[0].rstrip(".").lower()


@contextlib.contextmanager
def open_iso_tree(path: Path) -> Iterator[IsoView]:
    """Open ``path`` with pycdlib, which parses the whole directory tree first: slow on a big
    image, but the reference for every answer the lazy reader gives."""
    with open(path, "rb") as fp:
        check_header(path, fp)
        iso = pycdlib.PyCdlib()
        try:
            iso.open_fp(fp)
        except Exception as exc:
            # The file is untrusted input: whatever the parser trips over (struct.error,
            # IndexError, RecursionError, ...) is the file's fault, not sik's.
            raise IsoReadError(f"{path.name}: damaged ISO 9660 image ({exc})") from exc
        try:
            yield _PycdlibView(iso)
        finally:
            with contextlib.suppress(PyCdlibException):
                iso.close()


class _PycdlibView:
    def __init__(self, iso: pycdlib.PyCdlib) -> None:
        self._iso = iso
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
        found = self._match(path)
        return found[1] if found else None

    def _match(self, path: str | PurePosixPath) -> tuple[str, object] | None:
        candidates = [_absolute(path)]
        if self._plain:
            upper = candidates[0].upper()
            candidates += [upper, upper + ";1", upper + ".;1"]
        for candidate in candidates:
            try:
                return candidate, self._facade.get_record(candidate)
            except (PyCdlibException, IndexError, KeyError):
                continue
        return None

    def exists(self, path: str | PurePosixPath) -> bool:
        return self._record(path) is not None

    def is_dir(self, path: str | PurePosixPath) -> bool:
        record = self._record(path)
        return record is not None and bool(record.is_dir())  # type: ignore[attr-defined]

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]:
        found = self._match(path)
        if found is None or not found[1].is_dir():  # type: ignore[attr-defined]
            return ()
        try:
            children = list(self._facade.list_children(found[0]))
        except PyCdlibException:
            return ()
        names = [
            self._name_of(c) for c in children if c is not None and not (c.is_dot() or c.is_dotdot())
        ]
        return tuple(sorted(names))

    def _name_of(self, record: Any) -> str:
        rr = getattr(record, "rock_ridge", None)
        if rr is not None and rr.name():
            return str(rr.name().decode("utf-8", errors="replace"))
        ident: bytes = record.file_identifier()
        if self._iso.has_joliet() and not self._iso.has_rock_ridge():
            return ident.decode("utf-16-be", errors="replace")
        return _plain_name(ident)

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None:
        record = self._record(path)
        if record is None or record.is_dir():  # type: ignore[attr-defined]
            return None
        try:
            with self._iso.open_file_from_iso(**self._open_kwargs(record, path)) as stream:
                data: bytes = stream.read(limit)
        except Exception:  # a damaged extent reads as "no such file", never a crash
            return None
        return data.decode("utf-8", errors="replace")

    def _open_kwargs(self, record: Any, path: str | PurePosixPath) -> dict[str, str]:
        if self._iso.has_rock_ridge():
            return {"rr_path": _absolute(path)}
        if self._iso.has_joliet():
            return {"joliet_path": _absolute(path)}
        return {"iso_path": self._iso.full_path_from_dirrecord(record)}

    def first_existing(self, *paths: str) -> PurePosixPath | None:
        for path in paths:
            if self.exists(path) and not self.is_dir(path):
                return PurePosixPath(_absolute(path))
        return None
