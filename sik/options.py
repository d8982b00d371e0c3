"""The stick's own options, /boot/sik/sik.toml: what `sik generate` was told last time, so a
later `sik add` regenerates the same menu."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

from sik.errors import StickError
from sik.model import MenuOptions


def load_options(path: Path) -> MenuOptions:
    if not path.exists():
        return MenuOptions()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StickError(f"{path}: {exc}", hint="fix or delete the file; sik rewrites it") from exc
    menu = data.get("menu", {})
    try:
        return MenuOptions(
            timeout=int(menu.get("timeout", MenuOptions.timeout)),
            kernel_args=tuple(str(a) for a in menu.get("kernel_args", ())),
            serial=bool(menu.get("serial", False)),
        )
    except (TypeError, ValueError) as exc:
        raise StickError(f"{path}: bad value in [menu]: {exc}") from exc


def dump_options(options: MenuOptions) -> str:
    # JSON string and list syntax is valid TOML for the values we store.
    return (
        "# sik's options for this stick; `sik generate --timeout/--kernel-args/--serial` update it.\n"
        "[menu]\n"
        f"timeout = {options.timeout}\n"
        f"kernel_args = {json.dumps(list(options.kernel_args), ensure_ascii=False)}\n"
        f"serial = {'true' if options.serial else 'false'}\n"
    )


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
