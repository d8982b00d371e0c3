"""Gather the build-time facts the medium ladder weighs (sik/menu/medium.py), for the ISOs that
may get past "ISO file": where the file lies on the data partition and what it is (read
fresh on every run: a copied or defragmented file moves), what its initrd holds and which
modules the ISO carries elsewhere (kept in /boot/sik/medium-cache.json, keyed by the ISO's
identity, since reading an initrd costs a second or two).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from sik import __version__
from sik.core.codec import DecodeError, decode, encode
from sik.core.errors import ToolError
from sik.core.extents import LayoutError, file_extents, identity
from sik.core.model import (
    Detection,
    FsModule,
    InitrdFacts,
    IsoFacts,
    IsoIdentity,
    Medium,
    ModuleFile,
    ScanResult,
)
from sik.core.run import run
from sik.core.staged import write_file
from sik.core.stick import Stick
from sik.customize.bundle import host_bundles
from sik.customize.vcd import PATCHED_TEXTS
from sik.detection.initrd import kernel_version, read_initrds
from sik.detection.kmodules import NoModules
from sik.detection.modules import find_modules
from sik.menu.medium import needs_facts

log = logging.getLogger(__name__)

_FORMAT = 1
# The modules a virtual CD or a RAM copy may need from the ISO, when its initrd lacks them.
_MODULES = ("loop", "dm_mod")


def gather_facts(
    stick: Stick,
    results: Sequence[ScanResult],
    prefer: Mapping[str, Medium],
    fs_modules: Mapping[PurePosixPath, FsModule | NoModules] | None = None,
) -> dict[PurePosixPath, IsoFacts]:
    """``fs_modules``: what sik/menu/fsmods.py found (an ISO a module lets boot from its file
    needs nothing more)."""
    offered = fs_modules or {}
    wanted = [
        (r, r.detection)
        for r in results
        if r.detection is not None
        and needs_facts(
            r.detection,
            str(r.iso.path),
            stick.fs,
            prefer.get(r.iso.path.name),
            offered.get(r.iso.path),
        )
    ]
    if not wanted:
        return {}
    bundles = host_bundles()
    device = data_device(stick)
    cache = _Cache.load(stick.medium_cache_file)
    facts: dict[PurePosixPath, IsoFacts] = {}
    for result, detection in wanted:
        assert detection is not None
        path = stick.root / result.iso.path.relative_to("/")
        try:
            ident = identity(path)
        except OSError as exc:
            log.debug("cannot read %s: %s", path, exc)
            continue
        extents, problem = _extents(stick, path, result.iso.path, device)
        initrd, version, modules = cache.get(ident, detection, path)
        facts[result.iso.path] = IsoFacts(
            identity=ident,
            extents=extents,
            extents_problem=problem,
            initrd=initrd,
            kernel_version=version,
            iso_modules=modules,
            tools=bundles.available,
            tools_problem=bundles.problem,
        )
    cache.save()
    return facts


def detached_facts(path: Path, detection: Detection) -> IsoFacts:
    """The facts of an ISO that is not on a stick (`sik detect`): its initrd and modules, and,
    for a layout, the file in one piece."""
    ident = identity(path)
    initrd, version, modules = _Cache(path.with_name(".none"), {}).get(ident, detection, path)
    bundles = host_bundles()
    return IsoFacts(
        identity=ident,
        extents=((0, ident.size),),
        initrd=initrd,
        kernel_version=version,
        iso_modules=modules,
        tools=bundles.available,
        tools_problem=bundles.problem,
    )


def _extents(
    stick: Stick, path: Path, on_stick: PurePosixPath, device: Path | None
) -> tuple[tuple[tuple[int, int], ...] | None, str | None]:
    if stick.fs is None:
        return None, "the stick's filesystem is unknown here"
    try:
        return file_extents(path, stick.fs, device, str(on_stick)), None
    except LayoutError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot read where the file lies: {exc.strerror}"


def data_device(stick: Stick) -> Path | None:
    """The block device the data partition is mounted from (a loop device for an image)."""
    try:
        out = run(["findmnt", "-n", "-o", "SOURCE", "--target", stick.root], capture=True).stdout
    except ToolError:
        return None
    source = out.decode().strip().splitlines()[0] if out.strip() else ""
    return Path(source) if source.startswith("/dev/") else None


class _Cache:
    """Initrd and module facts by ISO identity, entry initrds and kernel."""

    def __init__(self, path: Path, old: dict[str, object]) -> None:
        self._path = path
        self._old = old
        self._used: dict[str, object] = {}

    @classmethod
    def load(cls, path: Path) -> _Cache:
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("format") == _FORMAT and raw.get("sik") == __version__:
                return cls(path, dict(raw["entries"]))
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass
        return cls(path, {})

    def get(
        self, ident: IsoIdentity, detection: Detection, path: Path
    ) -> tuple[InitrdFacts, str | None, tuple[ModuleFile, ...]]:
        key = json.dumps([encode(ident), [str(i) for i in detection.initrds], str(detection.kernel)])
        raw = self._old.get(key)
        if isinstance(raw, dict):
            try:
                found = (
                    decode(InitrdFacts, raw["initrd"]),
                    decode(str | None, raw["version"]),
                    decode(tuple[ModuleFile, ...], raw["modules"]),
                )
                self._used[key] = raw
                return found
            except (DecodeError, KeyError):
                pass
        initrd = read_initrds(path, detection.initrds, PATCHED_TEXTS)
        version = kernel_version(path, detection.kernel) if detection.kernel else None
        missing = [m for m in _MODULES if m not in initrd.modules]
        modules = (
            find_modules(path, version, missing) if version and missing and not initrd.problem else ()
        )
        self._used[key] = {"initrd": encode(initrd), "version": version, "modules": encode(modules)}
        return initrd, version, modules

    def save(self) -> None:
        if self._used == self._old:
            return
        body = {"format": _FORMAT, "sik": __version__, "entries": self._used}
        try:
            write_file(self._path, (json.dumps(body, sort_keys=True) + "\n").encode())
        except OSError as exc:  # a read-only stick costs time next run, nothing else
            log.debug("cannot write %s: %s", self._path, exc)
