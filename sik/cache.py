"""The scan cache, /boot/sik/scan-cache.json: what detection concluded about each ISO, so a
second `sik generate` opens no ISO that has not changed.

An ISO is known by its identity: size, modification time (ns) and a SHA-256 of its first and
last MiB, which also catches a rewrite that kept the size and, on FAT's 2-second clock, the
time. The whole file is thrown away, never trusted, when it was written by another sik
version or another set of detectors (the fingerprint covers the code of every loaded detector
module and of the sik modules a detection depends on), or when it does not parse.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import sys
import time
import types
from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints

from sik import __version__
from sik.model import Detection, Unsupported
from sik.resources import data_dir
from sik.stick import write_atomically

if TYPE_CHECKING:
    from sik.detect import LoadedDetector

log = logging.getLogger(__name__)

CACHE_NAME = "scan-cache.json"
FORMAT = 1
_EDGE = 1024 * 1024
# Linux sets a file's ctime on every change and no program can set it back, so on ext4 a file
# whose size, mtime, ctime and inode are as they were when its edges were hashed has not been
# written since, and is not hashed again. FAT and exFAT keep a creation time instead of a
# ctime, so there the hash is always taken; so it is while a hash is younger than this margin
# after the last change (FAT's 2-second clock, and writes racing the hash).
_SETTLED_NS = 2_000_000_000
# sik's own modules whose code shapes a scan result besides the detectors themselves.
ENTRY_POINT_GROUP = "sik.detectors"  # here, not in sik.detect, which a warm run never imports
_SIK_MODULES = ("sik.iso", "sik.detect", "sik.facts", "sik.model", "sik.scan", "sik.cache")


@dataclasses.dataclass(frozen=True)
class Cached:
    """What a scan learned about one ISO, independent of where the file sits on the stick."""

    volume_id: str | None
    outcome: Detection | Unsupported
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Seen:
    """The identity computed for a file when it had a given stat, and when it was hashed."""

    identity: str
    hashed_ns: int


class _Corrupt(Exception):
    pass


def iso_identity(path: Path) -> str:
    """``size:mtime_ns:sha256`` of a file, the hash taken over its first and last MiB."""
    with open(path, "rb") as f:
        stat = os.fstat(f.fileno())
        digest = hashlib.sha256(os.pread(f.fileno(), _EDGE, 0))
        if stat.st_size > _EDGE:
            tail = max(_EDGE, stat.st_size - _EDGE)
            digest.update(os.pread(f.fileno(), _EDGE, tail))
    return f"{stat.st_size}:{stat.st_mtime_ns}:{digest.hexdigest()}"


def fingerprint(detectors: Sequence[LoadedDetector]) -> str | None:
    """A hash of everything a cached answer depends on, or None when a detector's code cannot
    be read (then nothing is cached: an answer that cannot be invalidated is not kept)."""
    import inspect  # only here: inspect costs more to import than the rest of a warm run

    digest = hashlib.sha256(f"{FORMAT} {__version__}".encode())
    modules = {sys.modules[name] for name in _SIK_MODULES if name in sys.modules}
    for loaded in detectors:
        cls = type(loaded.detector)
        digest.update(f"\0{cls.name} {cls.priority} {cls.__qualname__} {loaded.source}".encode())
        module = sys.modules.get(cls.__module__)
        if module is None:
            return None
        modules.add(module)
    for module in sorted(modules, key=lambda m: m.__name__):
        try:
            code = Path(inspect.getfile(module)).read_bytes()
        except (OSError, TypeError):
            return None
        digest.update(f"\0{module.__name__}\0".encode() + hashlib.sha256(code).digest())
    return digest.hexdigest()


def source_fingerprint(folders: Sequence[Path], disabled: Iterable[str]) -> str | None:
    """A key like ``fingerprint``'s, taken from files before any detector is loaded, so a run
    that finds every ISO in the cache loads none: the bytes of every module in the built-in
    and the given detector folders (helpers beside a detector included) and of sik's modules
    in _SIK_MODULES, and the names left out. None when an installed package offers detectors
    through entry points, whose code is only found by importing it."""
    if _entry_point_group_present(ENTRY_POINT_GROUP):
        return None
    digest = hashlib.sha256(f"{FORMAT} {__version__} sources {sorted(set(disabled))}".encode())
    package = Path(__file__).parent
    for name in _SIK_MODULES:
        code = (package / f"{name.removeprefix('sik.')}.py").read_bytes()
        digest.update(f"\0{name}\0".encode() + hashlib.sha256(code).digest())
    for index, folder in enumerate((data_dir("detectors"), *folders)):
        for path in sorted(folder.glob("*.py")):
            code = path.read_bytes()
            digest.update(f"\0{index} {path}\0".encode() + hashlib.sha256(code).digest())
    return digest.hexdigest()


def _entry_point_group_present(group: str) -> bool:
    """Whether any distribution on sys.path declares entry points in ``group``: what
    importlib.metadata would find, read from the entry_points.txt files directly because
    importing importlib.metadata costs more than a warm run's work. When in doubt (a zip on
    sys.path), yes."""
    header = f"[{group}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except FileNotFoundError:
            continue
        except OSError:  # a zip archive or an unreadable folder: cannot tell
            return True
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    text = Path(entry or ".", name, "entry_points.txt").read_text("utf-8", "replace")
                except OSError:
                    continue
                if header in text:
                    return True
    return False


class ScanCache:
    """Answers by ISO identity. ``save`` keeps only the answers used since ``load``, so the
    file never holds ISOs that have left the stick."""

    def __init__(
        self,
        path: Path,
        fingerprint: str,
        entries: dict[str, Cached],
        seen: dict[str, Seen],
        trust_stat: bool,
        found: bool = False,
    ) -> None:
        self.path = path
        # Whether the file held answers for this very fingerprint, so that the detectors it
        # names loaded without error when it was written.
        self.found = found
        self._fingerprint = fingerprint
        self._old, self._old_seen = entries, seen
        self._used: dict[str, Cached] = {}
        self._seen: dict[str, Seen] = {}
        self._trust_stat = trust_stat

    @classmethod
    def load(cls, path: Path, fingerprint: str, *, trust_stat: bool = False) -> ScanCache:
        """``trust_stat``: the stick's filesystem keeps a real ctime (ext4), see _SETTLED_NS."""
        entries: dict[str, Cached] = {}
        seen: dict[str, Seen] = {}
        try:
            entries, seen = _parse(json.loads(path.read_bytes()), fingerprint)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, _Corrupt) as exc:
            log.debug("discarding scan cache %s: %s", path, exc)
        else:
            return cls(path, fingerprint, entries, seen, trust_stat, found=True)
        return cls(path, fingerprint, entries, seen, trust_stat)

    def identity(self, path: Path) -> str:
        """``iso_identity(path)``, without reading the file when its stat proves it unchanged."""
        st = os.stat(path)
        key = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
        known = self._old_seen.get(key)
        if not (self._trust_stat and known and known.hashed_ns > st.st_ctime_ns + _SETTLED_NS):
            known = Seen(iso_identity(path), time.time_ns())
        self._seen[key] = known
        return known.identity

    def get(self, identity: str) -> Cached | None:
        found = self._old.get(identity)
        if found is not None:
            self._used[identity] = found
        return found

    def put(self, identity: str, cached: Cached) -> None:
        self._used[identity] = cached

    def save(self) -> None:
        if self.found and self._used == self._old and self._seen == self._old_seen:
            return  # the file already says exactly this
        body = {
            "format": FORMAT,
            "sik": __version__,
            "fingerprint": self._fingerprint,
            "entries": {k: _encode(v) for k, v in sorted(self._used.items())},
            "seen": {k: _encode(v) for k, v in sorted(self._seen.items())},
        }
        # No indent: json's C encoder only serves compact output.
        data = (json.dumps(body, sort_keys=True, ensure_ascii=False) + "\n").encode()
        try:
            write_atomically(self.path, data)
        except OSError as exc:  # a read-only stick costs speed next time, nothing else
            log.debug("cannot write scan cache %s: %s", self.path, exc)


def _parse(raw: object, fingerprint: str) -> tuple[dict[str, Cached], dict[str, Seen]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), dict):
        raise _Corrupt("not a sik scan cache")
    if raw.get("format") != FORMAT or raw.get("sik") != __version__:
        raise _Corrupt(f"written by sik {raw.get('sik')!r}, format {raw.get('format')!r}")
    if raw.get("fingerprint") != fingerprint:
        raise _Corrupt("written for another set of detectors")
    seen = raw.get("seen", {})
    if not isinstance(seen, dict):
        raise _Corrupt("not a sik scan cache")
    entries = {str(k): _decode(Cached, v) for k, v in raw["entries"].items()}
    return entries, {str(k): _decode(Seen, v) for k, v in seen.items()}


def _encode(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Detection | Unsupported):
            fields["kind"] = type(value).__name__
        return fields
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePosixPath):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(hint: Any, raw: Any) -> Any:
    """Rebuild a value of type ``hint`` from JSON, refusing anything that does not fit."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if raw is None and type(None) in options:
            return None
        dataclass_options = [o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)]
        if dataclass_options and isinstance(raw, dict):
            kind = raw.get("kind")
            matching = [o for o in dataclass_options if o.__name__ == kind]
            if len(matching) != 1:
                raise _Corrupt(f"unknown kind {kind!r}")
            return _decode(matching[0], {k: v for k, v in raw.items() if k != "kind"})
        rest = [o for o in options if o is not type(None)]
        if len(rest) != 1:
            raise _Corrupt(f"cannot decode {hint}")
        return _decode(rest[0], raw)
    if origin is tuple:
        item, *more = get_args(hint)
        if more != [Ellipsis] or not isinstance(raw, list):
            raise _Corrupt(f"expected a list for {hint}")
        return tuple(_decode(item, v) for v in raw)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _decode_dataclass(hint, raw)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(raw)
        except ValueError as exc:
            raise _Corrupt(str(exc)) from None
    if hint is PurePosixPath and isinstance(raw, str):
        return PurePosixPath(raw)
    if hint in (str, int, bool) and type(raw) is hint:
        return raw
    raise _Corrupt(f"{raw!r} is not a {hint}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode_dataclass(cls: type, raw: Any) -> Any:
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(raw, dict) or set(raw) - names:
        raise _Corrupt(f"fields do not match {cls.__name__}")
    try:
        return cls(**{k: _decode(hints[k], v) for k, v in raw.items()})
    except TypeError as exc:  # a required field is missing
        raise _Corrupt(str(exc)) from None
