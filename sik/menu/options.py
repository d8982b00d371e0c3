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
import re
import shlex
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from sik.core.errors import SikError, StickError
from sik.core.model import Medium, MenuOptions

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
    """[menu] of sik.toml, each value of the type it must have: ``serial = "false"`` is an
    error, not true."""
    menu = _read(path).get("menu", {})
    if not isinstance(menu, dict):
        raise StickError(f"{path}: [menu] must be a table")
    timeout = menu.get("timeout", MenuOptions.timeout)
    kernel_args = menu.get("kernel_args", [])
    serial = menu.get("serial", False)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise StickError(f"{path}: [menu] timeout must be a whole number of seconds, not {timeout!r}")
    if not isinstance(kernel_args, list) or not all(isinstance(a, str) for a in kernel_args):
        raise StickError(f"{path}: [menu] kernel_args must be a list of strings")
    if not isinstance(serial, bool):
        raise StickError(f"{path}: [menu] serial must be true or false, not {serial!r}")
    try:
        checked = check_kernel_args(tuple(kernel_args))
    except SikError as exc:
        raise StickError(f"{path}: {exc.message}", hint=exc.hint) from exc
    return MenuOptions(timeout=timeout, kernel_args=checked, serial=serial)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_kernel_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """Kernel parameters one line of grub.cfg can hold: no line break or other control
    character (GRUB's `linux` takes words of one line)."""
    for arg in args:
        if _CONTROL.search(arg):
            raise SikError(
                f"kernel argument {arg!r} holds a line break or control character",
                hint="give each kernel parameter on one line",
            )
    return args


def parse_kernel_args(text: str) -> tuple[str, ...]:
    """``--kernel-args`` split as a shell would: ``foo="a b" quiet`` is two parameters, the
    first holding a space (GRUB puts it in double quotes on the command line)."""
    try:
        return check_kernel_args(tuple(shlex.split(text)))
    except ValueError as exc:
        raise SikError(f"--kernel-args {text!r}: {exc}", hint="close the quote") from exc


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
    if detectors and detectors.disable:
        text += f"\n[detectors]\ndisable = {json.dumps(list(detectors.disable), ensure_ascii=False)}\n"
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
