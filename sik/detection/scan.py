"""Stick -> scan results: open each ISO in /boot/iso read-only and let the detectors look,
unless the scan cache already knows the answer for that exact file."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sik.core.errors import IsoReadError
from sik.core.model import Detection, FsType, IsoFile, ScanResult, SecureBootFacts, Unsupported
from sik.core.stick import Stick
from sik.detection.iso import IsoBytes, open_iso
from sik.detection.plugins import LazyDetectors, fingerprint
from sik.detection.scancache import Cached, ScanCache

if TYPE_CHECKING:
    from sik.detection.detect import LoadedDetector, Verdict


def iso_files(stick: Stick) -> Iterator[Path]:
    """ISO files in /boot/iso (one level, case-insensitive .iso), in a stable order."""
    if not stick.iso_dir.is_dir():
        return
    for path in sorted(stick.iso_dir.iterdir(), key=lambda p: p.name.encode("utf-8", "surrogateescape")):
        if path.suffix.lower() == ".iso" and path.is_file() and not path.name.startswith("."):
            yield path


def scan_one(
    stick: Stick, path: Path, detectors: Sequence[LoadedDetector]
) -> tuple[ScanResult, Verdict | None]:
    from sik.detection.detect import detect

    relative = stick.on_stick(path)
    size = path.stat().st_size
    try:
        with open_iso(path) as iso:
            verdict = detect(iso, detectors)
            info = IsoFile(relative, size, iso.volume_id)
            facts = _secure_boot(stick, iso, verdict.outcome)
    except IsoReadError as exc:
        return ScanResult(IsoFile(relative, size), Unsupported(_strip_name(exc.message, path))), None
    return ScanResult(info, verdict.outcome, verdict.warnings, facts), verdict


def _secure_boot(stick: Stick, iso: IsoBytes, outcome: Detection | Unsupported) -> SecureBootFacts:
    if not isinstance(outcome, Detection):
        return SecureBootFacts()
    from sik.detection.signatures import load_trusted, secure_boot_facts  # loads cryptography

    return secure_boot_facts(iso, outcome, load_trusted(stick.shim_trust_dir))


def cache_key(stick: Stick, detectors_key: str) -> str:
    """The scan cache's key: the detectors' fingerprint, and what the stick's shim trusts
    (another shim, other Secure Boot verdicts)."""
    return f"{detectors_key}:{trust_key(stick.shim_trust_dir)}"


def trust_key(directory: Path) -> str:
    """A digest of the certificates the stick's shim trusts (/boot/sik/shim-trusts/*.cer)."""
    digest = hashlib.sha256()
    if directory.is_dir():
        for cert in sorted(directory.glob("*.cer")):
            digest.update(cert.read_bytes())
    return digest.hexdigest()[:16]


def _strip_name(message: str, path: Path) -> str:
    prefix = f"{path.name}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def scan_stick(
    stick: Stick, detectors: Sequence[LoadedDetector] | LazyDetectors, *, use_cache: bool = True
) -> tuple[ScanResult, ...]:
    if isinstance(detectors, LazyDetectors):
        key = detectors.key() if use_cache else None
        if key is None:
            return scan_stick(stick, detectors.load(), use_cache=use_cache)
        load: Callable[[], Sequence[LoadedDetector]] = detectors.load
    else:
        key = fingerprint(detectors) if use_cache else None
        if key is None:
            return tuple(scan_one(stick, path, detectors)[0] for path in iso_files(stick))
        load = functools.partial(tuple, detectors)
    cache = ScanCache.load(
        stick.scan_cache_file, cache_key(stick, key), trust_stat=stick.fs is FsType.ext4
    )
    if not cache.found:
        load()  # a broken plugin or a typo in sik.toml is reported even with no ISO to scan
    results = tuple(_scan_cached(stick, path, load, cache) for path in iso_files(stick))
    cache.save()
    return results


def _scan_cached(
    stick: Stick, path: Path, detectors: Callable[[], Sequence[LoadedDetector]], cache: ScanCache
) -> ScanResult:
    try:
        identity = cache.identity(path)
    except OSError:  # scan_one words the reason the file cannot be read
        return scan_one(stick, path, detectors())[0]
    known = cache.get(identity)
    if known is not None:
        size = int(identity.split(":", 1)[0])
        iso = IsoFile(stick.on_stick(path), size, known.volume_id)
        return ScanResult(iso, known.outcome, known.warnings, known.secure_boot)
    result = scan_one(stick, path, detectors())[0]
    cached = Cached(result.iso.volume_id, result.outcome, result.warnings, result.secure_boot)
    cache.put(identity, cached)
    return result
