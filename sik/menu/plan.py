"""Detections + stick options -> boot entries. Every decision about the menu lives here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from sik.core.model import (
    BootEntry,
    BootMethod,
    Detection,
    FsModule,
    FsType,
    Medium,
    MenuOptions,
    Plan,
    ScanResult,
    Submenu,
    Unsupported,
)
from sik.customize.hooks import StickCustomizations, customize_entry
from sik.detection.facts import version_key
from sik.detection.kmodules import NoModules
from sik.menu.medium import choose_medium, describe_modules

# Methods whose initrd receives the ISO's path on the kernel command line. Initramfs scripts
# split /proc/cmdline on white space; the kernel gives double quotes a meaning of their own;
# and GRUB, building the command line from `linux`'s words, puts a backslash before every \,
# ' and " (grub_create_loader_cmdline, grub-core/lib/cmdline.c), so the initrd would look for
# it\'s.iso. Such a path can hold none of them.
_PATH_ON_CMDLINE = frozenset(
    {
        BootMethod.live_boot,
        BootMethod.dracut_live,
        BootMethod.casper,
        BootMethod.anaconda,
        BootMethod.archiso,
        BootMethod.miso,
        BootMethod.linuxrc,
        BootMethod.nixos,
        BootMethod.antix,
        BootMethod.slax,
        BootMethod.genkernel,
        BootMethod.kiwi_live,
    }
)
# Methods whose template boots ``kernel`` itself: a detection without one cannot be booted.
_NEEDS_KERNEL = _PATH_ON_CMDLINE | {BootMethod.linux}
_CMDLINE_UNSAFE = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")
# A loopback.cfg hand-over passes the path in $iso_path, which the ISO's own menu puts on its
# command line unquoted (iso-scan/filename=${iso_path}): GRUB splits it there at white space,
# then escapes it as above.
_PATH_IN_ISO_MENU = frozenset({BootMethod.loopback_cfg})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_C1_CONTROL = re.compile(r"[\x80-\x9f]")


@dataclass(frozen=True)
class PlannedIso:
    """One ISO's row in `sik list`: its scan result, the entry it got (if any), warnings."""

    scan: ScanResult
    entry: BootEntry | None
    status: str  # "ok", "warning" or "unsupported"
    notes: tuple[str, ...]
    # The filesystem module taken from the ISO, when the entry's medium strategy loads one.
    fs_module: FsModule | None = None

    @property
    def medium_detail(self) -> str | None:
        """What the medium strategy uses beyond the ISO file, in words for `sik list`."""
        return describe_modules(self.fs_module) if self.fs_module else None


def plan(
    results: Sequence[ScanResult],
    options: MenuOptions,
    fs: FsType | None,
    data_uuid: str | None = None,
    customizations: StickCustomizations | None = None,
    fs_modules: Mapping[PurePosixPath, FsModule | NoModules] | None = None,
) -> tuple[Plan, tuple[PlannedIso, ...]]:
    """``data_uuid`` is the data partition's filesystem UUID, for "{data_uuid}" in command lines;
    ``fs_modules`` what ISOs offer of the stick filesystem's module (sik/menu/fsmods.py), by path."""
    rows: list[PlannedIso] = []
    used_ids: set[str] = set()
    found = customizations or StickCustomizations()
    modules = fs_modules or {}
    for result in sorted(results, key=lambda r: (str(r.iso.path).casefold(), str(r.iso.path))):
        module = modules.get(result.iso.path)
        rows.append(_plan_one(result, options, fs, used_ids, data_uuid, found, module))
    titled = _unique_titles([row.entry for row in rows if row.entry is not None])
    rows = [replace(row, entry=titled.pop(0)) if row.entry else row for row in rows]
    # No marker for a name grub.cfg cannot hold (it has no entry): GRUB lists that file under
    # "New ISOs", and `sik generate` says why it has no entry.
    known = tuple(sorted({r.iso.path.name for r in results if not _unnameable(str(r.iso.path))}))
    plan_ = Plan(_group(rows, used_ids), options=options, data_uuid=data_uuid, known_isos=known)
    return plan_, tuple(rows)


def _plan_one(
    result: ScanResult,
    options: MenuOptions,
    fs: FsType | None,
    used_ids: set[str],
    data_uuid: str | None,
    found: StickCustomizations,
    module: FsModule | NoModules | None = None,
) -> PlannedIso:
    detection = result.detection
    if detection is None:
        assert isinstance(result.outcome, Unsupported)
        return PlannedIso(result, None, "unsupported", (result.outcome.reason,))
    if detection.blocker:
        return PlannedIso(result, None, "unsupported", (detection.blocker,))
    if data_uuid is None and any("{data_uuid}" in arg for arg in detection.cmdline):
        reason = (
            f"{detection.method} needs the data partition's filesystem UUID on the kernel command "
            "line, and sik could not read it here: run sik on the stick's mounted data partition "
            "or its image"
        )
        return PlannedIso(result, None, "unsupported", (reason,))
    iso_path = str(result.iso.path)
    if unnameable := _unnameable(iso_path):
        return PlannedIso(result, None, "unsupported", (unnameable,))
    broken = _broken(detection)
    if broken:
        return PlannedIso(result, None, "unsupported", (broken,))
    path_on_cmdline = detection.method in _PATH_ON_CMDLINE | _PATH_IN_ISO_MENU or any(
        "{iso}" in a for a in detection.cmdline
    )
    if path_on_cmdline and _CMDLINE_UNSAFE.search(iso_path):
        reason = (
            f"{detection.method} cannot find an ISO whose path contains white space, a quote or "
            "a backslash: rename the file"
        )
        return PlannedIso(result, None, "unsupported", (reason,))
    notes = list(result.warnings)
    medium = choose_medium(detection.method, fs, module)
    if medium is None:
        why = f" ({module.reason})" if isinstance(module, NoModules) else ""
        notes.append(
            f"{detection.method}'s initrd cannot read a {fs} stick{why}: use an ext4 stick for this ISO"
        )
    entry = BootEntry(
        id=_unique_id(_slug(result.iso.path.name), used_ids),
        title=title(detection),
        iso=result.iso.path,
        method=detection.method,
        kernel=detection.kernel,
        efi_kernel=detection.efi_kernel,
        initrds=detection.initrds,
        cmdline=_cmdline(detection, iso_path, options, data_uuid or ""),
        grub_class=detection.grub_class,
        secure_boot=result.secure_boot,
        medium=medium or Medium.iso_file,
    )
    fs_module = module if medium is Medium.iso_file_fsmod and isinstance(module, FsModule) else None
    if fs_module is not None:
        entry = replace(entry, extra_initrds=(*entry.extra_initrds, fs_module.initrd))
    entry = customize_entry(entry, found)
    return PlannedIso(result, entry, "warning" if notes else "ok", tuple(notes), fs_module)


def _unnameable(iso_path: str) -> str | None:
    """Why GRUB cannot name this file in grub.cfg (UTF-8 text, one line per command), if so."""
    if _CONTROL.search(iso_path):
        return "its file name holds a line break or control character: rename the file"
    try:
        iso_path.encode("utf-8")
    except UnicodeEncodeError:
        return "its file name is not valid UTF-8: rename the file"
    return None


def _broken(detection: Detection) -> str | None:
    """A detector's mistake (a plugin's, maybe) that would make a broken menu entry."""
    if detection.method in _NEEDS_KERNEL and detection.kernel is None:
        return f"detector {detection.detector} found no kernel for {detection.method}"
    if any(_CONTROL.search(arg) for arg in detection.cmdline):
        return f"detector {detection.detector} gave a kernel parameter with a control character"
    return None


def _cmdline(
    detection: Detection, iso_path: str, options: MenuOptions, data_uuid: str
) -> tuple[str, ...]:
    own = tuple(
        # The file name goes in last, so that text in it is never taken for a placeholder.
        arg.replace("{data_uuid}", data_uuid).replace("{iso}", iso_path)
        for arg in detection.cmdline
    )
    return own + options.kernel_args


def title(detection: Detection) -> str:
    """'Ubuntu 24.04.1 LTS Desktop (amd64)': the richest facts known, none said twice."""
    text = detection.pretty_name
    if detection.version and detection.version not in text:
        text += " " + detection.version
    if detection.edition and not _words(detection.edition) <= _words(text):
        text += " " + detection.edition
    if detection.arch and detection.arch.casefold() not in _words(text):
        text += f" ({detection.arch})"
    return _printable(text)


def _printable(text: str) -> str:
    """A title holds facts read from the ISO (its label, .disk/info): a control character
    there would break the menu line, and says nothing a user could read anyway. A title that
    starts with '-' would be read by `menuentry` as one of its options (--users=, --hotkey=,
    ...) however it is quoted, so it gets a word in front."""
    text = " ".join(_C1_CONTROL.sub(" ", _CONTROL.sub(" ", text)).split()) or "(no name)"
    return f"ISO {text}" if text.startswith("-") else text


def _words(text: str) -> set[str]:
    return set(re.split(r"[\s()\[\]]+", text.casefold())) - {""}


def _group(rows: Sequence[PlannedIso], used_ids: set[str]) -> tuple[BootEntry | Submenu, ...]:
    """Put ISOs of one distribution and edition in a submenu, newest version first, where
    the first of them would have stood; a distribution with one ISO stays at the top."""
    families: dict[tuple[str, str], list[PlannedIso]] = {}
    for row in rows:
        key = _family(row)
        if key is not None:
            families.setdefault(key, []).append(row)
    menu: list[BootEntry | Submenu] = []
    placed: set[tuple[str, str]] = set()
    for row in rows:
        if row.entry is None:
            continue
        key = _family(row)
        if key is None or len(families[key]) < 2:
            menu.append(row.entry)
        elif key not in placed:
            placed.add(key)
            menu.append(_submenu(key, families[key], used_ids))
    return tuple(menu)


def _family(row: PlannedIso) -> tuple[str, str] | None:
    detection = row.scan.detection
    # "unknown" is what a fallback says of ISOs it cannot name: they are not one family.
    if row.entry is None or detection is None or detection.distro in ("", "unknown"):
        return None
    return detection.distro, detection.edition or ""


def _submenu(key: tuple[str, str], members: list[PlannedIso], used_ids: set[str]) -> Submenu:
    def newest_first(row: PlannedIso) -> tuple[object, ...]:
        assert row.scan.detection is not None
        return (_Reversed(version_key(row.scan.detection.version or "")), row.scan.iso.path.name)

    ordered = sorted(members, key=newest_first)
    newest = ordered[0].scan.detection
    assert newest is not None
    name = newest.pretty_name
    for row in ordered:
        version = row.scan.detection.version if row.scan.detection else None
        name = name.replace(version, " ") if version else name
    name = " ".join(name.split()) or newest.distro
    if newest.edition and not _words(newest.edition) <= _words(name):
        name += " " + newest.edition
    name = _printable(name)
    menu_id = _unique_id("menu-" + _words_slug("-".join(k for k in key if k)), used_ids)
    entries = tuple(row.entry for row in ordered if row.entry is not None)
    return Submenu(id=menu_id, title=name, entries=entries, grub_class=newest.grub_class)


@dataclass(frozen=True)
class _Reversed:
    """Sorts its key descending inside an otherwise ascending tuple key."""

    key: tuple[tuple[int, int | str], ...]

    def __lt__(self, other: _Reversed) -> bool:
        return self.key > other.key


def _unique_titles(entries: list[BootEntry]) -> list[BootEntry]:
    """Two ISOs of the same release would get the same title: name the file in both."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.title] = counts.get(entry.title, 0) + 1
    return [replace(e, title=f"{e.title} [{e.iso.name}]") if counts[e.title] > 1 else e for e in entries]


def _slug(name: str) -> str:
    stem = name[:-4] if name.lower().endswith(".iso") else name
    return "iso-" + _words_slug(stem)


def _words_slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "unnamed"


def _unique_id(base: str, used: set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate
