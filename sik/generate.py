"""The whole pipeline behind `sik generate` and `sik list`: scan -> detect -> plan -> render
-> write. Only ``write_menu`` touches the stick."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sik.customize import StickCustomizations
from sik.detect import LoadedDetector, load_detectors
from sik.model import MenuOptions, Plan
from sik.options import dump_options, load_detector_options, load_options
from sik.plan import PlannedIso, plan
from sik.run import run
from sik.scan import scan_stick
from sik.secondary import read_customizations, write_initrds
from sik.stick import Stick, write_atomically


@dataclass(frozen=True)
class Menu:
    plan: Plan
    rows: tuple[PlannedIso, ...]
    grub_cfg: str
    customizations: StickCustomizations = StickCustomizations()


def plan_stick(
    stick: Stick,
    options: MenuOptions | None = None,
    detectors: tuple[LoadedDetector, ...] | None = None,
    found: StickCustomizations | None = None,
) -> tuple[Plan, tuple[PlannedIso, ...]]:
    """Scan, detect and plan without rendering: all that `sik list` needs."""
    stick.check()
    options = options if options is not None else load_options(stick.options_file)
    results = scan_stick(stick, detectors if detectors is not None else stick_detectors(stick))
    found = found if found is not None else read_customizations(stick)
    return plan(results, options, stick.fs, stick.uuid, found)


def build_menu(
    stick: Stick, options: MenuOptions | None = None, detectors: tuple[LoadedDetector, ...] | None = None
) -> Menu:
    """Everything `sik generate` would write, computed without writing anything."""
    from sik.render import render_grub_cfg  # jinja2 is only loaded when a menu is rendered

    found = read_customizations(stick)
    menu_plan, rows = plan_stick(stick, options, detectors, found)
    text = render_grub_cfg(menu_plan, user_templates=stick.sik_dir / "templates")
    return Menu(menu_plan, rows, text, found)


def stick_detectors(stick: Stick) -> tuple[LoadedDetector, ...]:
    """Built-in and installed detectors, plus the stick's own folders from sik.toml."""
    chosen = load_detector_options(stick.options_file)
    return load_detectors(chosen.folder_paths(stick.root), chosen.disable)


def write_menu(stick: Stick, menu: Menu) -> bool:
    """Write grub.cfg (keeping the previous one as grub.cfg.old) and sik.toml atomically.
    Returns whether grub.cfg changed."""
    data = menu.grub_cfg.encode("utf-8")
    check_grub_script(data)
    # The initrds first: a new grub.cfg must never name one that is not there yet.
    write_initrds(stick, menu.plan.entries, menu.customizations.data_uuid)
    kept = load_detector_options(stick.options_file)
    write_atomically(stick.options_file, dump_options(menu.plan.options, kept).encode())
    if stick.grub_cfg.exists() and stick.grub_cfg.read_bytes() == data:
        return False
    if stick.grub_cfg.exists():
        write_atomically(stick.grub_cfg.with_name("grub.cfg.old"), stick.grub_cfg.read_bytes())
    return write_atomically(stick.grub_cfg, data)


def check_grub_script(data: bytes) -> None:
    """Let GRUB's own parser read the file first, when the host has it (grub-common)."""
    checker = shutil.which("grub-script-check")
    if checker is None:
        return
    with tempfile.NamedTemporaryFile(suffix=".cfg") as tmp:
        tmp.write(data)
        tmp.flush()
        run([checker, Path(tmp.name)])
