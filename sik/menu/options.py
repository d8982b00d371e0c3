"""The stick's own options, /boot/sik/sik.toml: what `sik generate` was told last time, so a
later `sik add` regenerates the same menu, and which extra detectors the user wants::

    [detectors]
    folders = ["detectors", "/home/me/sik-detectors"]   # relative to the stick's root
    disable = ["loopback.cfg"]
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from sik.core.errors import StickError
from sik.core.model import Medium, MenuOptions


@dataclass(frozen=True)
class DetectorOptions:
    """The [detectors] table: folders of extra detector modules, and detectors to leave out.
    Folders stay as written, so that rewriting sik.toml keeps them relative."""

    folders: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()

    def folder_paths(self, stick_root: Path) -> tuple[Path, ...]:
        paths = tuple(stick_root / folder for folder in self.folders)  # an absolute one wins
        for path in paths:
            if not path.is_dir():
                raise StickError(
                    f"detector folder {path} (named in sik.toml [detectors] folders) is not a directory",
                    hint="create it, or remove it from /boot/sik/sik.toml",
                )
        return paths


def _read(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StickError(f"{path}: {exc}", hint="fix or delete the file; sik rewrites it") from exc


def load_detector_options(path: Path) -> DetectorOptions:
    table = _read(path).get("detectors", {})
    if not isinstance(table, dict) or set(table) - {"folders", "disable"}:
        raise StickError(
            f"{path}: [detectors] takes only folders = [...] and disable = [...]",
            hint='e.g. folders = ["detectors"] and disable = ["loopback.cfg"]',
        )
    lists = {key: table.get(key, []) for key in ("folders", "disable")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StickError(f"{path}: [detectors] {key} must be a list of strings")
    return DetectorOptions(tuple(lists["folders"]), tuple(lists["disable"]))


# What [medium] values may say: the Medium's own words, or a short name.
_MEDIUM_NAMES = {str(m).casefold(): m for m in Medium} | {
    "iso-file": Medium.iso_file,
    "virtual-cd": Medium.virtual_cd,
    "cd": Medium.virtual_cd,
    "ram": Medium.in_ram,
    "in-ram": Medium.in_ram,
}


def load_medium_preferences(path: Path) -> dict[str, Medium]:
    """The [medium] table: ISO file name -> the medium sik should try first for it, e.g.
    ``"Fedora-Live.iso" = "virtual CD"`` (sik/menu/medium.py; the rungs above it are skipped)."""
    table = _read(path).get("medium", {})
    if not isinstance(table, dict):
        raise StickError(f"{path}: [medium] must be a table of ISO file name = medium")
    chosen = {}
    for name, value in table.items():
        medium = _MEDIUM_NAMES.get(str(value).casefold())
        if medium is None:
            raise StickError(
                f"{path}: [medium] {name!r} = {value!r} names no medium",
                hint='use "ISO file", "virtual CD" or "in RAM"',
            )
        chosen[str(name)] = medium
    return chosen


def load_options(path: Path) -> MenuOptions:
    menu = _read(path).get("menu", {})
    if not isinstance(menu, dict):
        raise StickError(f"{path}: [menu] must be a table")
    try:
        return MenuOptions(
            timeout=int(menu.get("timeout", MenuOptions.timeout)),
            kernel_args=tuple(str(a) for a in menu.get("kernel_args", ())),
            serial=bool(menu.get("serial", False)),
        )
    except (TypeError, ValueError) as exc:
        raise StickError(f"{path}: bad value in [menu]: {exc}") from exc


def dump_options(
    options: MenuOptions,
    detectors: DetectorOptions | None = None,
    medium: dict[str, Medium] | None = None,
) -> str:
    # JSON string and list syntax is valid TOML for the values we store.
    text = (
        "# sik's options for this stick; `sik generate --timeout/--kernel-args/--serial` update it.\n"
        "[menu]\n"
        f"timeout = {options.timeout}\n"
        f"kernel_args = {json.dumps(list(options.kernel_args), ensure_ascii=False)}\n"
        f"serial = {'true' if options.serial else 'false'}\n"
    )
    if detectors and (detectors.folders or detectors.disable):
        text += (
            "\n[detectors]\n"
            f"folders = {json.dumps(list(detectors.folders), ensure_ascii=False)}\n"
            f"disable = {json.dumps(list(detectors.disable), ensure_ascii=False)}\n"
        )
    if medium:
        text += "\n[medium]\n" + "".join(
            f"{json.dumps(name, ensure_ascii=False)} = {json.dumps(str(chosen))}\n"
            for name, chosen in sorted(medium.items())
        )
    return text


def merge_options(
    current: MenuOptions,
    *,
    timeout: int | None = None,
    kernel_args: tuple[str, ...] | None = None,
    serial: bool | None = None,
) -> MenuOptions:
    changes: dict[str, object] = {}
    if timeout is not None:
        changes["timeout"] = timeout
    if kernel_args is not None:
        changes["kernel_args"] = kernel_args
    if serial is not None:
        changes["serial"] = serial
    return replace(current, **changes)  # type: ignore[arg-type]
