"""What `sik detect ISO` reports: the verdict, the entry it would get, and with --explain every
detector's questions and answers, as text lines or as one JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sik.core.model import (
    BootEntry,
    Detection,
    FsType,
    IsoFacts,
    IsoFile,
    Medium,
    MenuOptions,
    ScanResult,
)
from sik.core.stick import ISO_DIR
from sik.detection.detect import Probe, Verdict, detect
from sik.detection.kmodules import FoundModules, NoModules, locate_modules
from sik.menu.medium import choose_medium, needs_facts, needs_fs_module
from sik.menu.mediumfacts import detached_facts
from sik.menu.plan import PlannedIso, plan, why_not


def explain_iso(
    path: Path, folders: Sequence[Path] = (), disabled: Sequence[str] = ()
) -> tuple[Verdict, PlannedIso]:
    """Every detector's look at the ISO file at ``path``, and the row it would get on a stick."""
    from sik.detection.iso import open_iso
    from sik.detection.plugins import load_detectors

    detectors = load_detectors(folders, disabled)
    with open_iso(path) as view:
        verdict = detect(view, detectors)
        return verdict, planned(path, view.volume_id, verdict)


def planned(path: Path, volume_id: str, verdict: Verdict) -> PlannedIso:
    # Where the ISO would sit on a stick, to show the command line it would get there.
    scan = ScanResult(IsoFile(ISO_DIR / path.name, path.stat().st_size, volume_id), verdict.outcome)
    detection = scan.detection
    facts = {}
    if detection is not None and needs_facts(detection, str(scan.iso.path), None, None):
        facts[scan.iso.path] = detached_facts(path, detection)
    _, (row,) = plan([scan], MenuOptions(), None, facts=facts)
    return row


@dataclass(frozen=True)
class MediumOnFs:
    """How the ISO would find itself on a stick of one filesystem."""

    fs: FsType
    medium: Medium | None  # None: no strategy sik has boots it from this filesystem
    detail: str | None  # what the strategy takes, or why none applies


# A stick sik would make (for `sik detect`, which has none): the virtual-CD rung only needs
# to know its initrd can find the data partition by a UUID of the right shape.
_EXAMPLE_UUID = {
    FsType.ext4: "00000000-0000-0000-0000-000000000000",
    FsType.exfat: "0000-0000",
    FsType.fat32: "0000-0000",
}


def media(path: Path, detection: Detection | None) -> tuple[MediumOnFs, ...]:
    """The medium strategy the ISO would get on each filesystem sik makes: the ladder of
    sik/menu/medium.py, looking into the ISO for a filesystem module where its initramfs needs
    one, and into its initrd where a virtual CD or RAM copy may."""
    if detection is None:
        return ()
    iso_path = str(ISO_DIR / path.name)
    facts: IsoFacts | None = None
    found = []
    for fs in FsType:
        module: FoundModules | NoModules | None = None
        if detection.kernel is not None and needs_fs_module(detection.method, fs):
            module = locate_modules(path, detection.kernel, fs)
        if facts is None and needs_facts(detection, iso_path, fs, None, module):
            facts = detached_facts(path, detection)
        size = path.stat().st_size
        choice = choose_medium(detection, iso_path, size, fs, _EXAMPLE_UUID[fs], facts, None, module)
        detail = choice.detail if choice.medium else why_not(choice)
        found.append(MediumOnFs(fs, choice.medium, detail or None))
    return tuple(found)


def summary(name: str, row: PlannedIso) -> str:
    detection = row.scan.detection
    if row.entry is not None and detection is not None:
        medium = f", {row.medium.summary}" if row.medium else ""
        return f"{name}: {row.entry.title} via {detection.method}{medium}"
    return f"{name}: unsupported: {row.notes[0]}"


def explain_lines(verdict: Verdict, row: PlannedIso, on_fs: tuple[MediumOnFs, ...] = ()) -> list[str]:
    lines = [f"  why: {verdict.why}"]
    if row.medium is not None:
        lines += _medium_lines(row)
    if row.entry is not None:
        lines += _entry_lines(row.entry)
    for one in on_fs if row.entry is not None else ():
        detail = f" ({one.detail})" if one.detail else ""
        lines.append(f"    medium on {one.fs}: {one.medium or 'none'}{detail}")
    for probe in verdict.probes:
        lines += _probe_lines(probe)
    return lines


def _medium_lines(row: PlannedIso) -> list[str]:
    """The medium ladder, rung by rung: why each earlier one did not apply."""
    assert row.medium is not None
    lines = [f"  medium: {row.medium.summary if row.medium.medium else 'none'}"]
    lines += [
        f"    not {medium}: {why}"
        for medium, why in row.medium.refused
        if why and medium is not Medium.grub
    ]
    return lines


def _entry_lines(entry: BootEntry) -> list[str]:
    lines = [f"  entry {entry.id}: {entry.title}"]
    if entry.kernel is not None:
        lines.append(f"    kernel  {entry.kernel}")
    if entry.efi_kernel is not None:
        lines.append(f"    kernel under UEFI  {entry.efi_kernel}")
    if entry.initrds:
        lines.append(f"    initrd  {' '.join(map(str, entry.initrds))}")
    if entry.cmdline:
        lines.append(f"    cmdline {' '.join(entry.cmdline)}")
    return lines


def _probe_lines(probe: Probe) -> list[str]:
    head = f"  {probe.name} (priority {probe.priority}): "
    if probe.error:
        head += f"FAILED: {probe.error}"
    elif probe.detection is not None:
        head += "; ".join(probe.detection.evidence) or "matched"
    else:
        head += "no match"
    return [head, f"    from {probe.source}"] + [f"    {q}" for q in probe.questions]


def explain_json(
    path: Path, verdict: Verdict, row: PlannedIso, on_fs: tuple[MediumOnFs, ...] = ()
) -> dict[str, object]:
    outcome = verdict.outcome
    return asdict(outcome) | {
        # Per stick filesystem: the medium strategy (sik.core.model.Medium) and what it takes.
        "media": {
            str(one.fs): {"medium": str(one.medium) if one.medium else None, "detail": one.detail}
            for one in (on_fs if row.entry is not None else ())
        },
        "file": path.name,
        "status": "detected" if isinstance(outcome, Detection) else "unsupported",
        "title": row.entry.title if row.entry else None,
        "entry": asdict(row.entry) if row.entry else None,
        "notes": list(row.notes),
        "medium": str(row.medium.medium) if row.medium and row.medium.medium else None,
        "medium_detail": row.medium.detail if row.medium else None,
        "medium_refused": [[str(m), why] for m, why in row.medium.refused] if row.medium else [],
        "why": verdict.why,
        "matches": [name for name, _, _ in verdict.matches],
        "detectors": [_probe_json(p) for p in verdict.probes],
    }


def _probe_json(probe: Probe) -> dict[str, object]:
    return {
        "name": probe.name,
        "priority": probe.priority,
        "source": probe.source,
        "status": probe.status,
        "error": probe.error,
        "evidence": list(probe.detection.evidence) if probe.detection else [],
        "questions": [{"asked": q.asked, "answer": q.answer} for q in probe.questions],
    }
