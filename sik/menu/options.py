"""The stick's own options, /boot/sik/sik.toml: what `sik generate` was told last time, so a
later `sik add` regenerates the same menu, and which detectors to leave out::

    [detectors]
    disable = ["loopback.cfg"]

A stick names no detector folders: it is data, and sik never imports code because a stick says
so. A ``folders`` key written by an older sik is ignored (with a warning) and dropped when
sik.toml is next written; the user's own ~/.config/sik/config.toml names folders instead.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from sik.core.errors import StickError
from sik.core.model import MenuOptions

log = logging.getLogger("sik.menu.options")


@dataclass(frozen=True)
class DetectorOptions:
    """The [detectors] table: detectors to leave out."""

    disable: tuple[str, ...] = ()


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
    if lists["folders"]:
        log.warning(
            "warning: %s names detector folders; sik never loads code a stick names "
            "(put them in ~/.config/sik/config.toml, or pass --detector-folder)",
            path,
        )
    return DetectorOptions(tuple(lists["disable"]))


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


def dump_options(options: MenuOptions, detectors: DetectorOptions | None = None) -> str:
    # JSON string and list syntax is valid TOML for the values we store.
    text = (
        "# sik's options for this stick; `sik generate --timeout/--kernel-args/--serial` update it.\n"
        "[menu]\n"
        f"timeout = {options.timeout}\n"
        f"kernel_args = {json.dumps(list(options.kernel_args), ensure_ascii=False)}\n"
        f"serial = {'true' if options.serial else 'false'}\n"
    )
    if detectors and detectors.disable:
        text += f"\n[detectors]\ndisable = {json.dumps(list(detectors.disable), ensure_ascii=False)}\n"
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
