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
import hashlib
import json
import logging
import os
import time
from pathlib import Path

from sik import __version__
from sik.core.codec import decode, encode
from sik.core.errors import StickError
from sik.core.model import Detection, SecureBootFacts, Unsupported
from sik.core.staged import write_file

log = logging.getLogger(__name__)

FORMAT = 1
_EDGE = 1024 * 1024
# Linux sets a file's ctime on every change and no program can set it back, so on ext4 a file
# whose size, mtime, ctime and inode are as they were when its edges were hashed has not been
# written since, and is not hashed again. FAT and exFAT keep a creation time instead of a
# ctime, so there the hash is always taken; so it is while a hash is younger than this margin
# after the last change (FAT's 2-second clock, and writes racing the hash).
_SETTLED_NS = 2_000_000_000


@dataclasses.dataclass(frozen=True)
class Cached:
    """What a scan learned about one ISO, independent of where the file sits on the stick."""

    volume_id: str | None
    outcome: Detection | Unsupported
    warnings: tuple[str, ...] = ()
    secure_boot: SecureBootFacts = SecureBootFacts()


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
        except (OSError, ValueError, _Corrupt) as exc:  # DecodeError is a ValueError
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
            "entries": {k: encode(v) for k, v in sorted(self._used.items())},
            "seen": {k: encode(v) for k, v in sorted(self._seen.items())},
        }
        # No indent: json's C encoder only serves compact output.
        data = (json.dumps(body, sort_keys=True, ensure_ascii=False) + "\n").encode()
        try:
            write_file(self.path, data)
        except (OSError, StickError) as exc:
            # A read-only stick, or one this user may not write (`sik list` as a user on a stick
            # sik installed as root), costs speed next time, nothing else.
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
    entries = {str(k): decode(Cached, v) for k, v in raw["entries"].items()}
    return entries, {str(k): decode(Seen, v) for k, v in seen.items()}
