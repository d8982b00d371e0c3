"""Take an ISO off the stick (`sik remove`) or put a newer one in its place (`sik replace`),
keeping the manifest, SHA256SUMS and the ISO's persistence store in step.

A replacement is copied beside the old file under a hidden staged name, hashed in the same
pass, checked as an ISO, and renamed into place: at every moment the stick holds the old file
or the new one complete under a real name, never a mixture. What is left to do after the
rename (the manifest, the persistence store, the old file under another name) is written down
first in a journal, so a replacement killed half-way is finished, or undone, by the next
command that opens the stick (``finish_interrupted``), `sik generate` among them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from sik.core.errors import SikError, StickError
from sik.core.staged import PARTIAL_SUFFIX, fsync_dir, staged, write_file
from sik.core.stick import Stick
from sik.detection.scan import iso_files
from sik.files.add import CopyJob, Progress, check_is_iso, copy_into, plan_copies
from sik.files.manifest import ChunkHasher, FileRecord, forget, hash_file, key_of, load_manifest, record


class Carry(StrEnum):
    """What became of the old ISO's persistence store."""

    none = "no persistence store"
    stays = "kept: same file name and boot method"
    moved = "moved to the new ISO"
    aside = "kept aside: the new ISO boots another way"


@dataclass(frozen=True)
class Replaced:
    old: Path
    new: Path
    carry: Carry
    store: Path | None  # where the persistence store is now, when there is one


@dataclass(frozen=True)
class _Journal:
    old: str  # file names in /boot/iso
    new: str
    old_record: FileRecord | None
    new_record: FileRecord
    carry: Carry


def on_stick(stick: Stick, name: str) -> Path:
    """The ISO ``name`` (a file name, or its path on the stick) in /boot/iso, or an error that
    lists the names there."""
    wanted = Path(name).name
    names = [path.name for path in iso_files(stick)]
    if wanted not in names:
        raise SikError(
            f"{wanted} is not on the stick", hint=f"ISOs on the stick: {', '.join(names) or 'none'}"
        )
    return stick.iso_dir / wanted


# --- remove -------------------------------------------------------------------------------------


def remove_iso(stick: Stick, name: str, *, drop_store: Callable[[Path], bool]) -> Path | None:
    """Delete the ISO ``name`` and its manifest record; its persistence store too when
    ``drop_store(store)`` says so. Returns the store left on the stick, if any. The menu is
    the caller's to regenerate."""
    stick.claim()
    finish_interrupted(stick)
    path = on_stick(stick, name)
    store = stick.persist_dir(path.name)
    drop = store.exists() and drop_store(store)  # asked before anything is deleted
    path.unlink()
    fsync_dir(path.parent)
    forget(stick, [path])
    if drop:
        _delete_store(stick, store)
    return store if store.exists() else None


def _delete_store(stick: Stick, store: Path) -> None:
    if not any(store.iterdir()):
        # KIWI keeps its store in one cow file for the stick; the ISO's empty folder marks
        # which ISO it belongs to (sik/customize/persistence.py).
        stick.kiwi_cow_file.unlink(missing_ok=True)
    shutil.rmtree(store)
    fsync_dir(store.parent)


# --- replace ------------------------------------------------------------------------------------


def replace_iso(
    stick: Stick, old_name: str, source: Path, *, progress: Progress | None = None
) -> Replaced:
    """Put ``source`` in the place of the ISO ``old_name`` (see the module's docstring)."""
    stick.claim()
    finish_interrupted(stick)
    old = on_stick(stick, old_name)
    (job,) = plan_copies(stick, [source])
    if job.target != old and job.target.exists():
        raise SikError(
            f"{job.target.name} is already on the stick",
            hint=f"remove one of them: sik remove {old.name}",
        )
    carry = _carry(stick, old, job)
    old_record = load_manifest(stick).files.get(key_of(stick, old))
    chunks = ChunkHasher()
    with staged(job.target) as partial:
        digest = copy_into(job, partial, progress, chunks.update)
        check_is_iso(partial)  # the copy as it landed on the stick
        journal = _Journal(
            old.name, job.target.name, old_record, FileRecord(job.size, digest, chunks.chunks()), carry
        )
        write_file(stick.replace_journal, _dump(journal))
        record(stick, {job.target: journal.new_record})
    return _complete(stick, journal)


def _carry(stick: Stick, old: Path, job: CopyJob) -> Carry:
    """What to do with the old ISO's persistence store: it follows the ISO when the new one
    boots the same way (its initramfs reads the same store), else it stays aside."""
    store = stick.persist_dir(old.name)
    if not store.exists():
        return Carry.none
    same_method = _method(stick, old) == _method(stick, job.source) is not None
    if job.target.name == old.name:
        return Carry.stays if same_method else Carry.aside
    if stick.persist_dir(job.target.name).exists():
        raise StickError(
            f"{job.target.name} already has a persistence store on the stick",
            hint=f"delete {stick.persist_dir(job.target.name)} first, or `sik remove` the old ISO",
        )
    return Carry.moved if same_method else Carry.aside


def _method(stick: Stick, iso: Path) -> str | None:
    """The boot method the stick's detectors find for ``iso``; None when none knows it."""
    from sik.core.model import Detection
    from sik.detection.detect import detect
    from sik.detection.iso import open_iso
    from sik.detection.plugins import load_detectors, user_detector_folders
    from sik.menu.options import load_detector_options

    chosen = load_detector_options(stick.options_file)
    detectors = load_detectors(user_detector_folders(), chosen.disable)
    with open_iso(iso) as view:
        outcome = detect(view, detectors).outcome
    return str(outcome.method) if isinstance(outcome, Detection) else None


def _aside(stick: Stick, name: str) -> Path:
    return stick.persist_root / f"{Path(name).stem}.kept"


def _complete(stick: Stick, journal: _Journal) -> Replaced:
    """Everything after the rename; each step may run again after a kill."""
    old, new = stick.iso_dir / journal.old, stick.iso_dir / journal.new
    store = stick.persist_dir(journal.old)
    if journal.carry is Carry.moved:
        store = _move(store, stick.persist_dir(journal.new))
    elif journal.carry is Carry.aside:
        store = _move(store, _aside(stick, journal.old))
    if old != new:
        old.unlink(missing_ok=True)
        fsync_dir(old.parent)
        forget(stick, [old])
    stick.replace_journal.unlink(missing_ok=True)
    fsync_dir(stick.sik_dir)
    return Replaced(old, new, journal.carry, store if journal.carry is not Carry.none else None)


def _move(source: Path, dest: Path) -> Path:
    if source.exists() and not dest.exists():
        os.replace(source, dest)
        fsync_dir(dest.parent)
    return dest


def finish_interrupted(stick: Stick) -> Replaced | None:
    """Finish a replacement that was killed after its rename, or undo one killed before it:
    the manifest then describes the file that is there. None when there was none. Copies a
    killed `sik add` or `sik replace` left under their staged names go too: they hold space
    that no command will use."""
    for leftover in stick.iso_dir.glob(f".*.iso.*{PARTIAL_SUFFIX}"):
        leftover.unlink(missing_ok=True)
    try:
        journal = _load(stick.replace_journal.read_bytes())
    except FileNotFoundError:
        return None
    new = stick.iso_dir / journal.new
    if _holds(new, journal.new_record, journal.old_record if journal.new == journal.old else None):
        record(stick, {new: journal.new_record})
        return _complete(stick, journal)
    if journal.new == journal.old and journal.old_record is not None:
        record(stick, {new: journal.old_record})  # the old file is still the one there
    elif journal.new != journal.old:
        forget(stick, [new])
    stick.replace_journal.unlink()
    fsync_dir(stick.sik_dir)
    return None


def _holds(path: Path, wanted: FileRecord, other: FileRecord | None) -> bool:
    """Whether ``path`` is the file ``wanted`` describes rather than ``other``: by size where
    that tells them apart, by hashing it where it does not."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        if size != wanted.size:
            return False
        if other is None or other.size != size:
            return True
        return hash_file(path).sha256 == wanted.sha256
    return False


def _dump(journal: _Journal) -> bytes:
    return json.dumps(asdict(journal), indent=1, sort_keys=True).encode() + b"\n"


def _load(data: bytes) -> _Journal:
    raw = json.loads(data)
    new_record = _record(raw["new_record"])
    if new_record is None:
        raise StickError("the replace journal on the stick is damaged", hint="run `sik verify`")
    return _Journal(
        str(raw["old"]), str(raw["new"]), _record(raw["old_record"]), new_record, Carry(raw["carry"])
    )


def _record(value: object) -> FileRecord | None:
    if not isinstance(value, dict):
        return None
    return FileRecord(int(value["size"]), str(value["sha256"]), tuple(str(c) for c in value["chunks"]))
