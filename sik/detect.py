"""The detector contract and registry: every detector looks at every ISO; the most specific
match wins, and two equally specific matches are an error rather than a silent choice."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import ClassVar

from sik.errors import SikError
from sik.iso import IsoView
from sik.model import Detection, Unsupported
from sik.resources import data_dir

ENTRY_POINT_GROUP = "sik.detectors"


class Detector:
    """Base class of a detector plugin.

    A subclass sets ``name`` and ``priority`` in its class statement and implements
    ``probe``::

        class LiveBoot(Detector, name="debian-live", priority=50):
            def probe(self, iso: IsoView) -> Detection | None: ...

    ``probe`` answers None when the ISO is not of its kind; it must not raise for odd input.
    A higher priority means a more specific detector: it wins over a lower one that also
    matched.
    """

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 50

    def __init_subclass__(cls, *, name: str = "", priority: int = 50, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
            cls.priority = priority

    def probe(self, iso: IsoView) -> Detection | None:
        raise NotImplementedError


class DetectorConflict(SikError):
    """Two detector plugins claim the same name."""


@dataclass(frozen=True)
class LoadedDetector:
    detector: Detector
    source: str  # where it came from, for error messages and `sik detect --explain`


def _module_from_file(path: Path, package: str) -> ModuleType:
    module_name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SikError(f"cannot load detector module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _detectors_in(module: ModuleType) -> list[type[Detector]]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Detector)
        and obj is not Detector
        and obj.name
        and obj.__module__ == module.__name__
    ]


def _from_folder(folder: Path, package: str) -> Iterable[tuple[type[Detector], str]]:
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        for cls in _detectors_in(_module_from_file(path, package)):
            yield cls, str(path)


def _from_entry_points() -> Iterable[tuple[type[Detector], str]]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        classes = _detectors_in(loaded) if isinstance(loaded, ModuleType) else [loaded]
        for cls in classes:
            yield cls, f"entry point {ep.name} ({ep.value})"


def load_detectors(
    extra_folders: Sequence[Path] = (), disabled: Iterable[str] = ()
) -> tuple[LoadedDetector, ...]:
    """Built-ins, then entry points, then the user's folders; a name used twice is an error."""
    found: dict[str, LoadedDetector] = {}
    sources = [_from_folder(data_dir("detectors"), "sik_builtin_detectors"), _from_entry_points()]
    sources += [
        _from_folder(folder, f"sik_user_detectors_{i}") for i, folder in enumerate(extra_folders)
    ]
    blocked = set(disabled)
    for source in sources:
        for cls, origin in source:
            if cls.name in found:
                raise DetectorConflict(
                    f"two detectors are named {cls.name!r}: {found[cls.name].source} and {origin}",
                    hint="rename one of them, or disable one with --disable-detector",
                )
            found[cls.name] = LoadedDetector(cls(), origin)
    return tuple(d for name, d in sorted(found.items()) if name not in blocked)


@dataclass(frozen=True)
class Verdict:
    outcome: Detection | Unsupported
    matches: tuple[tuple[str, int, Detection], ...]  # every detector that matched, for --explain


def detect(iso: IsoView, detectors: Sequence[LoadedDetector]) -> Verdict:
    matches: list[tuple[str, int, Detection]] = []
    for loaded in detectors:
        detection = loaded.detector.probe(iso)
        if detection is not None:
            matches.append((loaded.detector.name, loaded.detector.priority, detection))
    if not matches:
        return Verdict(Unsupported(_unknown_reason(iso)), ())
    matches.sort(key=lambda m: (-m[1], m[0]))
    best = [m for m in matches if m[1] == matches[0][1]]
    if len(best) > 1:
        names = " and ".join(m[0] for m in best)
        reason = f"ambiguous: detectors {names} both match at priority {best[0][1]}"
        return Verdict(Unsupported(reason), tuple(matches))
    return Verdict(best[0][2], tuple(matches))


def _unknown_reason(iso: IsoView) -> str:
    label = iso.volume_id or "(none)"
    return (
        f"no detector recognises this ISO (volume label {label!r}; no /live, /LiveOS, "
        "memtest86+ files or /boot/grub/loopback.cfg)"
    )
