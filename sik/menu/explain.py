"""What `sik detect ISO` reports: the verdict, the entry it would get, and with --explain every
detector's questions and answers, as text lines or as one JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from sik.core.model import BootEntry, Detection, IsoFile, Medium, MenuOptions, ScanResult
from sik.core.stick import ISO_DIR
from sik.detection.detect import Probe, Verdict, detect
from sik.menu.medium import needs_facts
from sik.menu.mediumfacts import detached_facts
from sik.menu.plan import PlannedIso, plan


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


def summary(name: str, row: PlannedIso) -> str:
    detection = row.scan.detection
    if row.entry is not None and detection is not None:
        medium = f", {row.medium.summary}" if row.medium else ""
        return f"{name}: {row.entry.title} via {detection.method}{medium}"
    return f"{name}: unsupported: {row.notes[0]}"


def explain_lines(verdict: Verdict, row: PlannedIso) -> list[str]:
    lines = [f"  why: {verdict.why}"]
    if row.medium is not None:
        lines += _medium_lines(row)
    if row.entry is not None:
        lines += _entry_lines(row.entry)
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


def explain_json(path: Path, verdict: Verdict, row: PlannedIso) -> dict[str, object]:
    outcome = verdict.outcome
    return asdict(outcome) | {
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
