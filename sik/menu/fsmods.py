"""Filesystem modules from the ISOs themselves, for initramfs that cannot read the stick
(Medium.iso_file_fsmod): which ISO offers which (found before planning, remembered on the
stick), and the secondary initrds that carry them (written with the menu).

The answer for an ISO depends on its bytes, the kernel its entry boots and the stick's
filesystem; /boot/sik/fsmod-cache.json keeps it by the ISO's identity (size, mtime and a hash
of its edges, as the scan cache does), so a warm `sik generate` runs no unsquashfs. Each
initrd's name comes from the same key, so one that exists already holds the right modules.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sik import __version__
from sik.core.codec import decode, encode
from sik.core.errors import StickError
from sik.core.model import FsModule, FsType, ScanResult
from sik.core.staged import write_file
from sik.core.stick import FSMOD_INITRD_PREFIX, Stick, fsmod_initrd_on_stick
from sik.customize.cpio import cpio_bytes
from sik.customize.fsmod import fsmod_flavour, fsmod_members, hook_digest
from sik.detection.kmodules import FoundModules, NoModules, locate_modules, read_modules
from sik.detection.scancache import iso_identity
from sik.menu.medium import needs_fs_module
from sik.menu.plan import PlannedIso

log = logging.getLogger(__name__)

_FORMAT = 1


@dataclass(frozen=True)
class _Cached:
    answer: FsModule | NoModules


def find_fs_modules(
    stick: Stick, results: Iterable[ScanResult]
) -> dict[PurePosixPath, FsModule | NoModules]:
    """What each ISO that needs one offers of the stick filesystem's module, by ISO path."""
    wanted = [
        (r, r.detection)
        for r in results
        if r.detection and r.detection.kernel and needs_fs_module(r.detection.method, stick.fs)
    ]
    if not wanted or stick.fs is None:
        return {}
    old = _load(stick.fsmod_cache_file)
    used: dict[str, _Cached] = {}
    found: dict[PurePosixPath, FsModule | NoModules] = {}
    for result, detection in wanted:
        assert detection is not None and detection.kernel is not None
        path = stick.host(result.iso.path)
        flavour = fsmod_flavour(detection.method)
        assert flavour is not None
        try:
            identity = iso_identity(path)
        except OSError as exc:
            found[result.iso.path] = NoModules(f"cannot read the ISO: {exc.strerror}")
            continue
        key = hashlib.sha256(
            f"{identity}\0{detection.kernel}\0{stick.fs}\0{hook_digest(flavour)}".encode()
        ).hexdigest()[:16]
        cached = old.get(key) or _Cached(_locate(path, detection.kernel, stick.fs, key))
        used[key] = cached
        found[result.iso.path] = cached.answer
    if used != old:
        _save(stick.fsmod_cache_file, used)
    return found


def _locate(path: Path, kernel: PurePosixPath, fs: FsType, key: str) -> FsModule | NoModules:
    located = locate_modules(path, kernel, fs)
    if isinstance(located, NoModules):
        return located
    return FsModule(fs, located.release, located.squashfs, located.members, fsmod_initrd_on_stick(key))


def write_fsmod_initrds(stick: Stick, rows: Iterable[PlannedIso]) -> tuple[Path, ...]:
    """Write the fsmod initrd of each entry that loads one and whose file is missing (its name
    says what it holds); return the files written."""
    written = []
    for row in rows:
        module, entry = row.fs_module, row.entry
        if module is None or entry is None:
            continue
        target = stick.host(module.initrd)
        if target.is_file():
            continue
        flavour = fsmod_flavour(entry.method)
        assert flavour is not None
        found = FoundModules(module.release, module.squashfs, module.members)
        data = read_modules(stick.host(entry.iso), found)
        write_file(target, cpio_bytes(fsmod_members(flavour, module.release, data)))
        written.append(target)
    return tuple(written)


def remove_unused_fsmod_initrds(stick: Stick, rows: Iterable[PlannedIso]) -> None:
    """Delete the fsmod initrds no entry loads any more (their ISO left, or changed)."""
    named = {row.fs_module.initrd.name for row in rows if row.fs_module is not None}
    directory = stick.initrd_dir
    for stale in directory.glob(f"{FSMOD_INITRD_PREFIX}*.cpio") if directory.is_dir() else ():
        if stale.name not in named:
            stale.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, _Cached]:
    try:
        raw = json.loads(path.read_bytes())
        if raw.get("format") != _FORMAT or raw.get("sik") != __version__:
            return {}
        return {str(k): decode(_Cached, v) for k, v in raw["entries"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        log.debug("discarding %s: %s", path, exc)
        return {}


def _save(path: Path, entries: dict[str, _Cached]) -> None:
    body = {
        "format": _FORMAT,
        "sik": __version__,
        "entries": {k: encode(v) for k, v in sorted(entries.items())},
    }
    try:
        write_file(path, (json.dumps(body, sort_keys=True, ensure_ascii=False) + "\n").encode())
    except StickError as exc:  # a read-only stick costs time next run, nothing else
        log.debug("cannot write %s: %s", path, exc.message)
