"""`sik verify`: the stick's ISOs and ExtensionImages against the manifest sik recorded, and
against a distribution's checksum file and its OpenPGP signature.

Signatures are checked with pysequoia, Python bindings of Sequoia-PGP (a maintained OpenPGP
implementation in Rust, RFC 4880 and RFC 9580): no gpg home directory, agent or subprocess,
and keyrings are read as files of certificates (``debian-archive-keyring.gpg``, an exported
``gpg --export`` or an armored key). GnuPG's keybox format (``pubring.kbx``) is not such a file:
export the key first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sik.core.errors import SikError
from sik.core.stick import Stick
from sik.files.manifest import (
    FileRecord,
    Manifest,
    hash_file,
    key_of,
    load_manifest,
    record,
    tracked_files,
)

Progress = Callable[[int], None]


class VerifyError(SikError):
    """A checksum file or a signature could not be checked at all."""


class Status(StrEnum):
    ok = "ok"
    modified = "modified"
    missing = "missing"
    unrecorded = "unrecorded"
    mismatch = "checksum mismatch"  # differs from the distribution's SHA256SUMS

    def is_problem(self) -> bool:
        return self is not Status.ok


@dataclass(frozen=True)
class Finding:
    path: str  # under the stick root
    status: Status
    ranges: tuple[tuple[int, int], ...] = ()  # [start, end) byte ranges that differ
    detail: str = ""


def changed_ranges(
    recorded: FileRecord, now: FileRecord, chunk_size: int
) -> tuple[tuple[int, int], ...]:
    """Byte ranges [start, end) whose chunk digests differ, adjacent ones merged; a size change
    counts as a change from the shorter length to the longer one."""
    ranges: list[tuple[int, int]] = []
    common = min(recorded.size, now.size)
    for index, (old, new) in enumerate(zip(recorded.chunks, now.chunks, strict=False)):
        start = index * chunk_size
        if old != new and start < common:
            _extend(ranges, start, min(start + chunk_size, common))
    if recorded.size != now.size:
        _extend(ranges, common, max(recorded.size, now.size))
    return tuple(ranges)


def _extend(ranges: list[tuple[int, int]], start: int, end: int) -> None:
    if ranges and ranges[-1][1] >= start:
        ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
    else:
        ranges.append((start, end))


def total_bytes(stick: Stick) -> int:
    return sum(p.stat().st_size for p in tracked_files(stick))


def verify_stick(
    stick: Stick, manifest: Manifest, progress: Progress | None = None
) -> tuple[tuple[Finding, ...], dict[str, FileRecord]]:
    """Hash every tracked file once; compare with the manifest. Returns the findings (missing
    files last) and what each file hashes to now, for a checksum file to be compared with."""
    findings: list[Finding] = []
    now: dict[str, FileRecord] = {}
    for path in tracked_files(stick):
        key = key_of(stick, path)
        current = hash_file(path, progress)
        now[key] = current
        recorded = manifest.files.get(key)
        if recorded is None:
            findings.append(Finding(key, Status.unrecorded, detail="not in the manifest"))
        elif recorded.sha256 == current.sha256 and recorded.size == current.size:
            findings.append(Finding(key, Status.ok))
        else:
            ranges = changed_ranges(recorded, current, manifest.chunk_size)
            findings.append(Finding(key, Status.modified, ranges, _describe(ranges)))
    for key in sorted(set(manifest.files) - set(now)):
        findings.append(
            Finding(key, Status.missing, detail="recorded in the manifest, not on the stick")
        )
    return tuple(findings), now


def _describe(ranges: tuple[tuple[int, int], ...]) -> str:
    if not ranges:
        return "content differs"  # same chunk digests, different whole hash: astronomically rare
    return "bytes " + ", ".join(f"{start}-{end - 1}" for start, end in ranges) + " differ"


# sha256sum's output ("HASH  name", "HASH *name" for binary mode) and the BSD/--tag form
# ("SHA256 (name) = HASH"), as distributions publish them.
_GNU_LINE = re.compile(r"^\\?(?P<hash>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")
_BSD_LINE = re.compile(r"^SHA256 \((?P<name>.+)\) = (?P<hash>[0-9a-fA-F]{64})$")


def parse_sums(text: str) -> dict[str, str]:
    """File name (without directories) -> lower-case SHA-256, from a SHA256SUMS-style file.

    Lines of other shapes (comments, other hash algorithms, PGP armor around a clearsigned
    CHECKSUM file) are ignored; a file with no usable line is an error.
    """
    sums: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        match = _GNU_LINE.match(line) or _BSD_LINE.match(line)
        if match:
            sums[match["name"].rsplit("/", 1)[-1]] = match["hash"].lower()
    if not sums:
        raise VerifyError(
            "the checksum file lists no SHA-256 sums",
            hint="give a SHA256SUMS file: 'HASH  name' or 'SHA256 (name) = HASH' lines",
        )
    return sums


def check_against(sums: Mapping[str, str], now: Mapping[str, FileRecord]) -> tuple[Finding, ...]:
    """The stick's files that the checksum file names, each ok or a mismatch."""
    findings = []
    for key, current in sorted(now.items()):
        expected = sums.get(key.rsplit("/", 1)[-1])
        if expected is None:
            continue
        if expected == current.sha256:
            findings.append(Finding(key, Status.ok, detail="matches the checksum file"))
        else:
            findings.append(
                Finding(key, Status.mismatch, detail=f"SHA-256 {current.sha256}, expected {expected}")
            )
    if not findings:
        raise VerifyError(
            "no ISO on the stick is named in the checksum file",
            hint="the names in it must match the file names in /boot/iso",
        )
    return tuple(findings)


def verify_signature(data: bytes, signature: Path, keyring: Path) -> str:
    """Check a detached OpenPGP signature of ``data``; return the signing key's fingerprint."""
    import pysequoia

    try:
        certs = pysequoia.Cert.split_file(str(keyring))
    except Exception as exc:  # the binding raises plain exceptions for unreadable key files
        raise VerifyError(
            f"{keyring}: no OpenPGP keys can be read ({_first_line(exc)})",
            hint="give a keyring file (gpg --export KEYID > key.gpg), not a GnuPG keybox",
        ) from exc
    try:
        sig = pysequoia.Sig.from_file(str(signature))
    except Exception as exc:
        raise VerifyError(f"{signature}: not an OpenPGP signature ({_first_line(exc)})") from exc
    try:
        result = pysequoia.verify(bytes=data, store=lambda _ids: certs, signature=sig)
    except Exception as exc:
        raise VerifyError(
            f"the signature {signature.name} does not verify with {keyring.name} ({_first_line(exc)})",
            hint="the checksum file was changed, or was signed by a key not in the keyring",
        ) from exc
    valid = result.valid_sigs
    if not valid:
        raise VerifyError(f"{signature.name} holds no valid signature by a key in {keyring.name}")
    return str(valid[0].certificate)


def _first_line(exc: Exception) -> str:
    # The binding's messages carry a Rust backtrace after the first line.
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@dataclass(frozen=True)
class Verification:
    """What `sik verify` found: one finding per file, plus how many files --record added."""

    findings: tuple[Finding, ...]
    checked: int
    recorded: int = 0

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status.is_problem())


def read_sums(
    against: Path, signature: Path | None = None, keyring: Path | None = None
) -> tuple[dict[str, str], str | None]:
    """A distribution's checksum file, its detached OpenPGP signature checked first when one
    is given; returns the sums and the signer (None without a signature)."""
    if (signature is None) != (keyring is None):
        raise VerifyError("--signature and --keyring go together, with --against")
    data = against.read_bytes()
    signer = verify_signature(data, signature, keyring) if signature and keyring else None
    return parse_sums(data.decode(errors="replace")), signer


def verify_all(
    stick: Stick,
    sums: Mapping[str, str] | None = None,
    *,
    record_new: bool = False,
    progress: Progress | None = None,
) -> Verification:
    """Every tracked file against the manifest (and ``sums``); with ``record_new`` files the
    manifest does not know yet are recorded as they are now instead of reported."""
    if record_new:
        stick.claim()
    findings, now = verify_stick(stick, load_manifest(stick), progress)
    recorded = 0
    if record_new:
        new = {stick.root / f.path: now[f.path] for f in findings if f.status is Status.unrecorded}
        if new:
            record(stick, new)
            findings = tuple(f for f in findings if f.status is not Status.unrecorded)
            recorded = len(new)
    if sums is not None:
        findings += check_against(sums, now)
    return Verification(findings, len(now), recorded)
