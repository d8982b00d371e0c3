"""The whole pipeline behind `sik generate` and `sik list`: scan -> detect -> plan -> render
-> write. Only ``write_menu`` touches the stick."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sik.core.errors import SikError
from sik.core.model import IsoFacts, MenuOptions, Plan
from sik.core.run import find_tool, run
from sik.core.staged import PARTIAL_SUFFIX, fsync_dir, remove_leftovers, write_error, write_file
from sik.core.stick import Stick
from sik.customize.hooks import StickCustomizations
from sik.customize.initrds import read_customizations, write_initrds
from sik.detection.plugins import LazyDetectors, user_detector_folders
from sik.detection.scan import scan_stick
from sik.menu.fsmods import find_fs_modules, remove_unused_fsmod_initrds, write_fsmod_initrds
from sik.menu.mediumfacts import gather_facts
from sik.menu.menucache import cached_menu, menu_key, remember_menu
from sik.menu.options import (
    dump_options,
    load_detector_options,
    load_medium_preferences,
    load_options,
    merge_options,
)
from sik.menu.plan import PlannedIso, plan
from sik.menu.vcdinitrds import forget_other_vcd_initrds, write_vcd_initrds

if TYPE_CHECKING:
    from sik.detection.detect import LoadedDetector


@dataclass(frozen=True)
class Menu:
    plan: Plan
    rows: tuple[PlannedIso, ...]
    grub_cfg: str
    customizations: StickCustomizations = StickCustomizations()
    key: str = ""  # the menu cache's name for what was rendered (sik/menu/menucache.py)
    facts: Mapping[PurePosixPath, IsoFacts] = field(default_factory=dict)  # for virtual CDs


def plan_stick(
    stick: Stick,
    options: MenuOptions | None = None,
    detectors: tuple[LoadedDetector, ...] | None = None,
    found: StickCustomizations | None = None,
    folders: Sequence[Path] = (),
) -> tuple[Plan, tuple[PlannedIso, ...]]:
    """Scan, detect and plan without rendering: all that `sik list` needs. ``folders`` are
    detector folders named on the command line, loaded after those of the user's config."""
    menu_plan, rows, _ = _plan_with_facts(stick, options, detectors, found, folders)
    return menu_plan, rows


def _plan_with_facts(
    stick: Stick,
    options: MenuOptions | None,
    detectors: tuple[LoadedDetector, ...] | None,
    found: StickCustomizations | None,
    folders: Sequence[Path],
) -> tuple[Plan, tuple[PlannedIso, ...], Mapping[PurePosixPath, IsoFacts]]:
    stick.check()
    options = options if options is not None else load_options(stick.options_file)
    if detectors is None:
        chosen = load_detector_options(stick.options_file)
        extra = (*user_detector_folders(), *folders)
        results = scan_stick(stick, LazyDetectors(extra, chosen.disable))
    else:
        results = scan_stick(stick, detectors)
    found = found if found is not None else read_customizations(stick)
    prefer = load_medium_preferences(stick.options_file)
    modules = find_fs_modules(stick, results)
    facts = gather_facts(stick, results, prefer, modules)
    menu_plan, rows = plan(
        results, options, stick.fs, stick.uuid, found, facts, prefer, fs_modules=modules
    )
    return menu_plan, rows, facts


def build_menu(
    stick: Stick,
    options: MenuOptions | None = None,
    detectors: tuple[LoadedDetector, ...] | None = None,
    folders: Sequence[Path] = (),
) -> Menu:
    """Everything `sik generate` would write, computed without writing anything."""
    found = read_customizations(stick)
    menu_plan, rows, facts = _plan_with_facts(stick, options, detectors, found, folders)
    templates = stick.templates_dir
    key = menu_key(menu_plan, templates)
    text = cached_menu(stick, key)
    if text is None:
        from sik.menu.render import render_grub_cfg  # jinja2 is only loaded when a menu is rendered

        text = render_grub_cfg(menu_plan, user_templates=templates)
    return Menu(menu_plan, rows, text, found, key, facts)


@dataclass(frozen=True)
class Generated:
    """What `sik generate` did: the menu it wrote (or found already there) and its rows."""

    menu: Menu
    changed: bool  # whether grub.cfg was rewritten

    @property
    def skipped(self) -> tuple[PlannedIso, ...]:
        """ISOs that got no entry; each row's first note says why."""
        return tuple(row for row in self.menu.rows if row.entry is None)

    @property
    def warnings(self) -> tuple[tuple[PlannedIso, str], ...]:
        return tuple(
            (row, note) for row in self.menu.rows if row.entry is not None for note in row.notes
        )


def regenerate(
    stick: Stick,
    *,
    timeout: int | None = None,
    kernel_args: tuple[str, ...] | None = None,
    serial: bool | None = None,
    folders: Sequence[Path] = (),
) -> Generated:
    """The whole of `sik generate`: the options saved on the stick, changed where an argument
    is not None (and saved again), then scan, plan, render and write."""
    stick.claim()
    remove_leftovers(stick)  # what a killed `sik add` or generate left: hidden, dead space
    saved = load_options(stick.options_file)
    options = merge_options(saved, timeout=timeout, kernel_args=kernel_args, serial=serial)
    menu = build_menu(stick, options, folders=folders)
    return Generated(menu, write_menu(stick, menu))


def boot_once(stick: Stick, entry: str) -> str:
    """Make GRUB boot ``entry`` (an entry id or an ISO file name) at the next start only;
    returns the path GRUB will follow, "submenu_id>entry_id" inside a submenu."""
    from sik.menu.grubenv import update_env

    stick.claim()
    menu = build_menu(stick)
    ids = {e.id: e.id for e in menu.plan.entries} | {e.iso.name: e.id for e in menu.plan.entries}
    if entry not in ids:
        known = ", ".join(sorted(e.id for e in menu.plan.entries)) or "none"
        raise SikError(f"no menu entry {entry!r}", hint=f"entries are: {known}")
    chosen = menu.plan.grub_path(ids[entry])
    update_env(stick.grubenv, next_entry=chosen)
    return chosen


def create_persistence_for(stick: Stick, iso_name: str, size: int) -> tuple[Path, str]:
    """The distribution's own persistence store for the ISO ``iso_name`` on the stick, made the
    way its boot method needs; returns the store and the method."""
    from sik.customize.persistence import create_persistence

    stick.claim()
    menu = build_menu(stick)
    rows = {row.scan.iso.path.name: row for row in menu.rows}
    row = rows.get(iso_name)
    if row is None or row.scan.detection is None:
        known = ", ".join(sorted(n for n, r in rows.items() if r.entry)) or "none"
        raise SikError(f"no bootable ISO named {iso_name!r} on the stick", hint=f"ISOs are: {known}")
    method = str(row.scan.detection.method)
    uuid = menu.customizations.data_uuid
    return create_persistence(stick, iso_name, method, size, uuid), method


def warm_up() -> None:
    """Import, in a background thread, what planning and rendering a menu need beyond a warm
    run (the detector registry, jinja2), for a caller about to wait seconds on a disk: `sik add`
    regenerates the menu right after its copy, and imports cost it CPU time the copy leaves
    idle."""

    def load() -> None:
        import sik.detection.detect
        import sik.menu.render  # noqa: F401

    threading.Thread(target=load, name="sik-warm-up", daemon=True).start()


def write_menu(stick: Stick, menu: Menu) -> bool:
    """Write grub.cfg (keeping the previous one as grub.cfg.old) and sik.toml atomically.
    Returns whether grub.cfg changed."""
    data = menu.grub_cfg.encode("utf-8")
    try:
        old: bytes | None = stick.grub_cfg.read_bytes()
    except FileNotFoundError:
        old = None
    if old != data:  # the bytes already on the stick passed the check when sik wrote them
        check_grub_script(data)
    # The initrds first: a new grub.cfg must never name one that is not there yet.
    write_initrds(stick, menu.plan.entries, menu.customizations.data_uuid)
    write_fsmod_initrds(stick, menu.rows)
    write_vcd_initrds(stick, menu.plan.entries, menu.facts)
    kept = load_detector_options(stick.options_file)
    medium = load_medium_preferences(stick.options_file)
    write_file(stick.options_file, dump_options(menu.plan.options, kept, medium).encode())
    if menu.key:
        remember_menu(stick, menu.key, data)
    changed = False
    if old != data:
        if old is not None:
            write_file(stick.grub_cfg_old, old)
        changed = write_file(stick.grub_cfg, data)
        remove_unused_fsmod_initrds(stick, menu.rows)
    forget_other_vcd_initrds(stick, menu.plan.entries)
    # After grub.cfg (and whether it changed or not: it names no ISO): a marker for an ISO the
    # old menu lacks, left by a sik killed before the new grub.cfg, would hide that ISO from
    # both the menu and GRUB's "New ISOs" submenu.
    mark_known_isos(stick, menu.plan.known_isos)
    return changed


def mark_known_isos(stick: Stick, names: tuple[str, ...]) -> None:
    """One empty file per ISO the menu was made from, none for any other: what GRUB's "New
    ISOs" submenu tells new files by (grub-templates/new-isos.j2). Only missing markers are
    written, so a second run writes nothing."""
    directory = stick.known_isos_dir
    wanted = set(names)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # A partial file is remove_leftovers' business: it may be a running sik's.
        present = {p.name for p in directory.iterdir() if not p.name.endswith(PARTIAL_SUFFIX)}
        for name in sorted(present - wanted):
            (directory / name).unlink(missing_ok=True)
    except OSError as exc:
        raise write_error(directory, exc) from exc
    for name in sorted(wanted - present):
        write_file(directory / name, b"")
    fsync_dir(directory)


def grub_script_checker() -> Path:
    """GRUB's own parser, which reads every grub.cfg before it replaces the old one: a menu no
    parser has read is never written."""
    return find_tool(
        "grub-script-check",
        "grub2-script-check",
        reason="check grub.cfg with GRUB's own parser before writing it",
        hint="install grub-common (Debian, Ubuntu; grub2-tools on Fedora)",
    )


def check_grub_script(data: bytes) -> None:
    """Let GRUB's own parser read the file first."""
    checker = grub_script_checker()
    with tempfile.NamedTemporaryFile(suffix=".cfg") as tmp:
        tmp.write(data)
        tmp.flush()
        run([checker, Path(tmp.name)])
