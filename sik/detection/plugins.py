"""Where detectors come from, and what they are made of: the built-ins in detectors/, the
``sik.detectors`` entry points of installed packages, and folders the user names. Loading runs
their code; the fingerprints say, without loading anything where that is possible, whether a
cached scan is still what these detectors would conclude.

Nothing on a stick ever names a folder to load: extra folders come from the user's own
~/.config/sik/config.toml or from --detector-folder, and are loaded only when owned by root or
the user sik acts for and writable by no one else."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

from sik import __version__
from sik.core.errors import SikError
from sik.core.resources import data_dir
from sik.detection.detect import Detector, LoadedDetector, describe_error

ENTRY_POINT_GROUP = "sik.detectors"
# The format of what a scan concludes; part of every fingerprint.
SCAN_FORMAT = 1
# sik's own modules whose code shapes a scan result besides the detectors themselves.
_SIK_MODULES = (
    "sik.detection.iso",
    "sik.detection.detect",
    "sik.detection.facts",
    "sik.core.model",
    "sik.detection.plugins",
    "sik.detection.scan",
    "sik.detection.scancache",
)


class DetectorConflict(SikError):
    """Two detector plugins claim the same name."""


class UntrustedFolder(SikError):
    """A detector folder that someone other than the user (or root) could have written."""


def invoking_uid() -> int:
    """The user sik acts for: under sudo, the one who ran sudo."""
    sudo_uid = os.environ.get("SUDO_UID", "")
    return int(sudo_uid) if os.geteuid() == 0 and sudo_uid.isdigit() else os.getuid()


def user_config_dir() -> Path:
    """~/.config/sik of the user sik acts for ($XDG_CONFIG_HOME/sik when that is set)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "sik"
    import pwd

    try:
        home = Path(pwd.getpwuid(invoking_uid()).pw_dir)
    except KeyError:
        home = Path.home()
    return home / ".config" / "sik"


def user_detector_folders(config_dir: Path | None = None) -> tuple[Path, ...]:
    """The folders named in the user's own config.toml, ``[detectors] folders = [...]``
    (absolute, ``~/``, or relative to the config folder). Never anything a stick names: a
    stick is data someone may hand you."""
    import tomllib

    config_dir = config_dir if config_dir is not None else user_config_dir()
    path = config_dir / "config.toml"
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("detectors", {})
    except FileNotFoundError:
        return ()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise SikError(f"{path}: {exc}", hint="fix the file") from exc
    folders = table.get("folders", []) if isinstance(table, dict) else None
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise SikError(
            f"{path}: [detectors] folders must be a list of strings",
            hint='e.g. folders = ["~/sik-detectors"]',
        )
    return tuple(config_dir / Path(folder).expanduser() for folder in folders)


def check_trusted(folder: Path) -> None:
    """Refuse a folder of detector modules (and each module in it) unless root or the user
    sik acts for owns it and no other user may write to it: loading a module runs its code,
    as root under sudo."""
    try:
        paths = [folder, *sorted(folder.glob("*.py"))] if folder.is_dir() else None
    except OSError:
        paths = None
    if paths is None:
        raise SikError(f"detector folder {folder} is not a directory", hint="create it, or name another")
    allowed = {0, invoking_uid()}
    for path in paths:
        info = path.stat()
        if info.st_uid not in allowed:
            raise UntrustedFolder(
                f"detector folder {folder}: {path.name} belongs to user {info.st_uid}, "
                "not to you or root",
                hint="sik runs detector modules as code: keep them in a folder of your own",
            )
        if info.st_mode & stat.S_IWOTH:
            raise UntrustedFolder(
                f"detector folder {folder}: {path.name} may be written by any user",
                hint=f"chmod o-w {path}",
            )


def _module_from_file(path: Path, package: str) -> ModuleType:
    module_name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SikError(f"cannot load detector module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a user's module is untrusted code: say which file broke
        del sys.modules[module_name]
        raise SikError(
            f"cannot load detector module {path}: {describe_error(exc)}",
            hint="fix the module, or move it out of the detector folder",
        ) from exc
    return module


def _detectors_in(module: ModuleType) -> list[type[Detector]]:
    return [
        obj
        for _, obj in sorted(vars(module).items())
        if isinstance(obj, type)
        and issubclass(obj, Detector)
        and obj is not Detector
        and obj.name
        and obj.__module__ == module.__name__
    ]


def _from_folder(folder: Path, package: str) -> Iterable[tuple[type[Detector], str]]:
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith(("_", "test_")):  # a detector's own tests may sit beside it
            continue
        for cls in _detectors_in(_module_from_file(path, package)):
            yield cls, str(path)


def _from_entry_points() -> Iterable[tuple[type[Detector], str]]:
    from importlib.metadata import entry_points  # costly: only when detectors load

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # an installed package's bug, not the user's input
            dist = ep.dist.name if ep.dist else "its package"
            raise SikError(
                f"cannot load detector entry point {ep.name} ({ep.value}): {describe_error(exc)}",
                hint=f"upgrade or uninstall {dist}",
            ) from exc
        classes = _detectors_in(loaded) if isinstance(loaded, ModuleType) else [loaded]
        for cls in classes:
            yield cls, f"entry point {ep.name} ({ep.value})"


def load_detectors(
    extra_folders: Sequence[Path] = (), disabled: Iterable[str] = ()
) -> tuple[LoadedDetector, ...]:
    """Built-ins, then entry points, then the user's folders; a name used twice is an error.

    ``disabled`` names detectors to leave out; a name no detector has is an error, since a
    typo there would otherwise silently disable nothing.
    """
    found: dict[str, LoadedDetector] = {}
    sources = [_from_folder(data_dir("detectors"), "sik_builtin_detectors"), _from_entry_points()]
    for folder in extra_folders:
        check_trusted(folder)
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
    unknown = sorted(blocked - found.keys())
    if unknown:
        raise SikError(
            f"cannot disable unknown detector {', '.join(map(repr, unknown))}",
            hint=f"detectors are: {', '.join(sorted(found))}",
        )
    return tuple(d for name, d in sorted(found.items()) if name not in blocked)


class LazyDetectors:
    """The detectors a stick uses, loaded (every plugin module imported) only when an ISO is
    not in the scan cache: a warm `sik generate` loads none."""

    def __init__(self, folders: Sequence[Path] = (), disabled: Iterable[str] = ()) -> None:
        self.folders, self.disabled = tuple(folders), tuple(disabled)
        for folder in self.folders:  # refused on a warm run too, not only when loading
            check_trusted(folder)
        self._loaded: tuple[LoadedDetector, ...] | None = None

    def key(self) -> str | None:
        return source_fingerprint(self.folders, self.disabled)

    def load(self) -> tuple[LoadedDetector, ...]:
        if self._loaded is None:
            self._loaded = load_detectors(self.folders, self.disabled)
        return self._loaded


def fingerprint(detectors: Sequence[LoadedDetector]) -> str | None:
    """A hash of everything a cached answer depends on, or None when a detector's code cannot
    be read (then nothing is cached: an answer that cannot be invalidated is not kept)."""
    digest = hashlib.sha256(f"{SCAN_FORMAT} {__version__}".encode())
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
            code = Path(module.__file__ or "").read_bytes()
        except OSError:
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
    digest = hashlib.sha256(f"{SCAN_FORMAT} {__version__} sources {sorted(set(disabled))}".encode())
    package = Path(__file__).parents[1]
    for name in _SIK_MODULES:
        code = (package / f"{name.removeprefix('sik.').replace('.', '/')}.py").read_bytes()
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
