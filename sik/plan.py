"""Detections + stick options -> boot entries. Every decision about the menu lives here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sik.customize import StickCustomizations, customize_entry
from sik.model import (
    BootEntry,
    BootMethod,
    Detection,
    FsType,
    MenuOptions,
    Plan,
    ScanResult,
    Unsupported,
)

# Methods whose initrd receives the ISO's path on the kernel command line. Initramfs scripts
# split /proc/cmdline on white space, and the kernel gives double quotes a meaning of their
# own, so such a path cannot contain either.
_PATH_ON_CMDLINE = frozenset({BootMethod.live_boot, BootMethod.dracut_live})
_CMDLINE_UNSAFE = re.compile(r'[\s"\x00-\x1f\x7f]')


@dataclass(frozen=True)
class PlannedIso:
    """One ISO's row in `sik list`: its scan result, the entry it got (if any), warnings."""

    scan: ScanResult
    entry: BootEntry | None
    status: str  # "ok", "warning" or "unsupported"
    notes: tuple[str, ...]


def plan(
    results: Sequence[ScanResult],
    options: MenuOptions,
    fs: FsType | None,
    customizations: StickCustomizations | None = None,
) -> tuple[Plan, tuple[PlannedIso, ...]]:
    rows: list[PlannedIso] = []
    used_ids: set[str] = set()
    found = customizations or StickCustomizations()
    for result in sorted(results, key=lambda r: (str(r.iso.path).casefold(), str(r.iso.path))):
        rows.append(_plan_one(result, options, fs, used_ids, found))
    entries = _unique_titles([row.entry for row in rows if row.entry is not None])
    return Plan(entries=tuple(entries), options=options), tuple(rows)


def _plan_one(
    result: ScanResult,
    options: MenuOptions,
    fs: FsType | None,
    used_ids: set[str],
    found: StickCustomizations,
) -> PlannedIso:
    detection = result.detection
    if detection is None:
        assert isinstance(result.outcome, Unsupported)
        return PlannedIso(result, None, "unsupported", (result.outcome.reason,))
    iso_path = str(result.iso.path)
    if detection.method in _PATH_ON_CMDLINE and _CMDLINE_UNSAFE.search(iso_path):
        reason = (
            f"{detection.method} cannot find an ISO whose path contains white space or a double quote: "
            "rename the file"
        )
        return PlannedIso(result, None, "unsupported", (reason,))
    notes = list(result.warnings)
    if fs is not None and fs not in detection.method.readable_filesystems():
        notes.append(
            f"{detection.method}'s initrd cannot read a {fs} stick: use an ext4 stick for this ISO"
        )
    entry = BootEntry(
        id=_unique_id(_slug(result.iso.path.name), used_ids),
        title=_title(detection),
        iso=result.iso.path,
        method=detection.method,
        kernel=detection.kernel,
        efi_kernel=detection.efi_kernel,
        initrds=detection.initrds,
        cmdline=_cmdline(detection, iso_path, options),
        grub_class=detection.grub_class,
    )
    entry = customize_entry(entry, found)
    return PlannedIso(result, entry, "warning" if notes else "ok", tuple(notes))


def _cmdline(detection: Detection, iso_path: str, options: MenuOptions) -> tuple[str, ...]:
    own = tuple(arg.replace("{iso}", iso_path) for arg in detection.cmdline)
    return own + options.kernel_args


def _title(detection: Detection) -> str:
    parts = [detection.pretty_name]
    if detection.version and detection.version not in detection.pretty_name:
        parts.append(detection.version)
    if detection.arch:
        parts.append(f"({detection.arch})")
    return " ".join(parts)


def _unique_titles(entries: list[BootEntry]) -> list[BootEntry]:
    """Two ISOs of the same release would get the same title: name the file in both."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.title] = counts.get(entry.title, 0) + 1
    return [replace(e, title=f"{e.title} [{e.iso.name}]") if counts[e.title] > 1 else e for e in entries]


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = ascii_name[:-4] if ascii_name.lower().endswith(".iso") else ascii_name
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return "iso-" + (slug or "unnamed")


def _unique_id(base: str, used: set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate
