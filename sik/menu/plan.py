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
    IsoFacts,
    Medium,
    MenuOptions,
    Plan,
    ScanResult,
    Submenu,
    Unsupported,
)
from sik.customize.hooks import StickCustomizations, customize_entry
from sik.customize.vcd import vcd_initrds
from sik.detection.facts import version_key
from sik.detection.kmodules import NoModules
from sik.menu.medium import (
    NO_FACTS,
    PATH_ON_CMDLINE,
    MediumChoice,
    choose_medium,
    unsafe_on_cmdline,
)

# Methods whose template boots ``kernel`` itself: a detection without one cannot be booted.
_NEEDS_KERNEL = PATH_ON_CMDLINE | {
    BootMethod.linux,
    BootMethod.mkinitfs,
    BootMethod.proxmox,
    BootMethod.debian_installer,
    BootMethod.puppy,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_C1_CONTROL = re.compile(r"[\x80-\x9f]")


@dataclass(frozen=True)
class PlannedIso:
    """One ISO's row in `sik list`: its scan result, the entry it got (if any), warnings."""

    scan: ScanResult
    entry: BootEntry | None
    status: str  # "ok", "warning" or "unsupported"
    notes: tuple[str, ...]
    medium: MediumChoice | None = None  # how the booted system finds the ISO, and why

    @property
    def fs_module(self) -> FsModule | None:
        """The filesystem module taken from the ISO, when the entry's medium loads one."""
        return self.medium.fs_module if self.entry and self.medium else None

    @property
    def medium_detail(self) -> str | None:
        """What the medium takes, in words for `sik list` ("exfat.ko for 6.1.0-57-amd64 from
        /live/filesystem.squashfs", "loop device at the file's offset")."""
        return (self.medium.detail or None) if self.entry and self.medium else None


def plan(
    results: Sequence[ScanResult],
    options: MenuOptions,
    fs: FsType | None,
    data_uuid: str | None = None,
    customizations: StickCustomizations | None = None,
    facts: Mapping[PurePosixPath, IsoFacts] | None = None,
    prefer: Mapping[str, Medium] | None = None,
    fs_modules: Mapping[PurePosixPath, FsModule | NoModules] | None = None,
) -> tuple[Plan, tuple[PlannedIso, ...]]:
    """``data_uuid`` is the data partition's filesystem UUID, for "{data_uuid}" in command lines.
    ``facts`` holds what sik/menu/generate.py learnt of the ISOs that may need more than their
    own ISO-file parameter (keyed by ISO path); ``prefer`` a medium per ISO file name, asked for
    in sik.toml; ``fs_modules`` what ISOs offer of the stick filesystem's module
    (sik/menu/fsmods.py), by path."""
    rows: list[PlannedIso] = []
    used_ids: set[str] = set()
    stick = _StickFacts(
        fs,
        data_uuid,
        customizations or StickCustomizations(),
        facts or {},
        prefer or {},
        fs_modules or {},
    )
    for result in sorted(results, key=lambda r: (str(r.iso.path).casefold(), str(r.iso.path))):
        rows.append(_plan_one(result, options, used_ids, stick))
    titled = _unique_titles([row.entry for row in rows if row.entry is not None])
    rows = [replace(row, entry=titled.pop(0)) if row.entry else row for row in rows]
    # No marker for a name grub.cfg cannot hold (it has no entry): GRUB lists that file under
    # "New ISOs", and `sik generate` says why it has no entry.
    known = tuple(sorted({r.iso.path.name for r in results if not _unnameable(str(r.iso.path))}))
    plan_ = Plan(_group(rows, used_ids), options=options, data_uuid=data_uuid, known_isos=known)
    return plan_, tuple(rows)


@dataclass(frozen=True)
class _StickFacts:
    fs: FsType | None
    data_uuid: str | None
    found: StickCustomizations
    facts: Mapping[PurePosixPath, IsoFacts]
    prefer: Mapping[str, Medium]
    fs_modules: Mapping[PurePosixPath, FsModule | NoModules]


def _plan_one(
    result: ScanResult, options: MenuOptions, used_ids: set[str], stick: _StickFacts
) -> PlannedIso:
    detection = result.detection
    if detection is None:
        assert isinstance(result.outcome, Unsupported)
        return PlannedIso(result, None, "unsupported", (result.outcome.reason,))
    data_uuid = stick.data_uuid
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
    # The ISO's own menu takes its path: no other medium can help a name it cannot pass on.
    if detection.method is BootMethod.loopback_cfg and (
        unsafe := unsafe_on_cmdline(detection, iso_path)
    ):
        return PlannedIso(result, None, "unsupported", (unsafe,))
    choice = choose_medium(
        detection,
        iso_path,
        result.iso.size,
        stick.fs,
        data_uuid,
        stick.facts.get(result.iso.path),
        stick.prefer.get(result.iso.path.name),
        stick.fs_modules.get(result.iso.path),
    )
    notes = list(result.warnings)
    if choice.medium is None:
        fallback = _iso_file_anyway(detection, choice, stick.fs)
        if fallback is None:
            return PlannedIso(result, None, "unsupported", (why_not(choice),), choice)
        choice, warning = fallback
        notes.append(warning)
    entry = BootEntry(
        id=_unique_id(_slug(result.iso.path.name), used_ids),
        title=title(detection),
        iso=result.iso.path,
        method=detection.method,
        kernel=detection.kernel,
        efi_kernel=detection.efi_kernel,
        initrds=detection.initrds,
        cmdline=_cmdline(choice, detection.method, iso_path, options, data_uuid or ""),
        grub_class=detection.grub_class,
        secure_boot=result.secure_boot,
        medium=choice.medium or Medium.iso_file,
        vcd=choice.vcd,
    )
    if choice.fs_module is not None:
        entry = replace(entry, extra_initrds=(*entry.extra_initrds, choice.fs_module.initrd))
    entry = customize_entry(entry, stick.found)
    if entry.vcd is not None:
        entry = replace(
            entry, extra_initrds=(*entry.extra_initrds, *vcd_initrds(entry.id, entry.vcd, entry.iso))
        )
    return PlannedIso(result, entry, "warning" if notes else "ok", tuple(notes), choice)


def _iso_file_anyway(
    detection: Detection, choice: MediumChoice, fs: FsType | None
) -> tuple[MediumChoice, str] | None:
    """An ISO whose only obstacle is a stick filesystem its initrd is not known to read keeps
    its ISO-file entry, with a warning: some releases do read it, and the user may know."""
    if detection.blocker or fs is None or fs in detection.method.readable_filesystems():
        return None
    warning = f"{detection.method}'s initrd cannot read the stick's {fs}: use an ext4 stick for this ISO"
    others = "; ".join(
        f"{_AS[m]}: {why}" for m, why in choice.refused if m in _AS and m is not Medium.iso_file
    )
    return MediumChoice(Medium.iso_file, "", choice.refused, detection.cmdline), (
        f"{warning} ({others})" if others else warning
    )


def why_not(choice: MediumChoice) -> str:
    """The reason `sik list` shows for an ISO no rung takes: why not from its file, then what
    each later rung lacks (rungs refused for one reason share it)."""
    parts: list[tuple[list[Medium], str]] = []
    for medium, why in choice.refused:
        if medium not in _AS or not why or why == NO_FACTS:
            continue
        if parts and parts[-1][1] == why and medium is not Medium.iso_file:
            parts[-1][0].append(medium)
        else:
            parts.append(([medium], why))
    if len(parts) == 1:
        return parts[0][1]
    words = []
    for media, why in parts:
        head = _AS[media[0]] + "".join(f" or {_AS[m].removeprefix('nor ')}" for m in media[1:])
        words.append(f"{head}: {why}")
    return "; ".join(words) or "sik knows no way to boot it"


_AS = {
    Medium.iso_file: "cannot boot from an ISO file",
    Medium.iso_file_fsmod: "nor with a filesystem module from the ISO",
    Medium.virtual_cd: "nor as a virtual CD",
    Medium.in_ram: "nor in RAM",
}


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
    choice: MediumChoice, method: BootMethod, iso_path: str, options: MenuOptions, data_uuid: str
) -> tuple[str, ...]:
    own = tuple(
        # The file name goes in last, so that text in it is never taken for a placeholder.
        arg.replace("{data_uuid}", data_uuid).replace("{iso}", iso_path)
        for arg in choice.cmdline
    )
    # Only an ISO file is looked for on the data partition; a virtual CD names its own device.
    from_file = choice.medium in (Medium.iso_file, Medium.iso_file_fsmod, None)
    hint = _device_hint(method, data_uuid) if from_file else ()
    return own + hint + options.kernel_args


def _device_hint(method: BootMethod, data_uuid: str) -> tuple[str, ...]:
    """Which partition holds the ISO, for an initramfs that would otherwise try every one.

    live-boot looks for findiso='s file on the device named by live-media= first, and scans
    all block devices (mounting each) only if it is not there (live-boot(7)). On a sik stick the
    ISO is on the data partition, which comes after the BIOS boot and EFI System partitions that
    the scan tries first: the hint saves those tries (1 to 2.5 s under QEMU's TCG, measured by
    `python -m benchmarks boot`). Without the UUID (an unknown --stick folder) the scan remains.
    """
    if method is BootMethod.live_boot and data_uuid:
        return (f"live-media=/dev/disk/by-uuid/{data_uuid}",)
    return ()


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
