"""What `sik detect ISO` reports: the verdict, the entry it would get, and with --explain every
detector's questions and answers, as text lines or as one JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sik.core.model import BootEntry, Detection, FsType, IsoFile, Medium, MenuOptions, ScanResult
from sik.core.stick import ISO_DIR
from sik.detection.detect import Probe, Verdict, detect
from sik.detection.kmodules import FoundModules, NoModules, locate_modules
from sik.menu.medium import choose_medium, describe_modules, needs_fs_module
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
    _, (row,) = plan([scan], MenuOptions(), None)
    return row


@dataclass(frozen=True)
class MediumOnFs:
    """How the ISO would find itself on a stick of one filesystem."""

    fs: FsType
    medium: Medium | None  # None: no strategy sik has boots it from this filesystem
    detail: str | None  # what the strategy takes, or why none applies


def media(path: Path, detection: Detection | None) -> tuple[MediumOnFs, ...]:
    """The medium strategy the ISO would get on each filesystem sik makes, looking into the ISO
    for a filesystem module where its initramfs needs one."""
    if detection is None:
        return ()
    found = []
    for fs in FsType:
        module: FoundModules | NoModules | None = None
        if detection.kernel is not None and needs_fs_module(detection.method, fs):
            module = locate_modules(path, detection.kernel, fs)
        medium = choose_medium(detection.method, fs, module)
        detail = None
        if isinstance(module, FoundModules):
            detail = describe_modules(module)
        elif isinstance(module, NoModules):
            detail = module.reason
        found.append(MediumOnFs(fs, medium, detail))
    return tuple(found)


def summary(name: str, row: PlannedIso) -> str:
    detection = row.scan.detection
    if row.entry is not None and detection is not None:
        return f"{name}: {row.entry.title} via {detection.method}"
    return f"{name}: unsupported: {row.notes[0]}"


def explain_lines(verdict: Verdict, row: PlannedIso, on_fs: tuple[MediumOnFs, ...] = ()) -> list[str]:
    lines = [f"  why: {verdict.why}"]
    if row.entry is not None:
        lines += _entry_lines(row.entry)
    for one in on_fs if row.entry is not None else ():
        detail = f" ({one.detail})" if one.detail else ""
        lines.append(f"    medium on {one.fs}: {one.medium or 'none'}{detail}")
    for probe in verdict.probes:
        lines += _probe_lines(probe)
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
