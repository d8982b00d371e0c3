"""A test kit for detector authors: describe a distribution's ISO layout in a few lines, build
a real (tiny) ISO from it, and run sik's own pipeline on it, scan -> detect -> plan -> render,
to check the menu entry it gets. sik's tests use it too; docs/writing-a-detector.md shows how.

    WOMBAT = IsoLayout("WOMBAT_3_2", {"wombat/kernel": b"...", "wombat/release": "Wombat 3.2"})
    entry = assert_entry(WOMBAT, Wombat, title="Wombat Linux 3.2 (x86_64)",
                         cmdline=("wombat.from=/boot/iso/test.iso",))

The ISOs are built with pycdlib: every file of the layout, each directory implied by a path,
with Rock Ridge names (and Joliet names when asked), as mkisofs-made media carry them.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

try:
    import pycdlib
except ImportError as exc:  # an extra, so that sik itself does not need it
    raise ImportError("sik.testkit needs pycdlib: pip install 'sik[testkit]'") from exc

from sik.core.model import BootEntry, FsType, MenuOptions
from sik.core.stick import Stick
from sik.detection.detect import Detector, LoadedDetector, Verdict
from sik.detection.plugins import load_detectors
from sik.detection.scan import scan_one
from sik.menu.explain import explain_lines
from sik.menu.plan import PlannedIso, plan
from sik.menu.render import render_grub_cfg

# The data partition UUID the test kit's scratch stick pretends to have.
EXAMPLE_DATA_UUID = "0c5e7f1a-5ac3-4d6e-9b1f-51c0de5e1d2a"


@dataclass(frozen=True)
class IsoLayout:
    """What a distribution's ISO holds, reduced to what detectors read: its volume label and
    its files (ISO path -> content; parent directories are implied)."""

    volume_id: str
    files: Mapping[str, bytes | str]
    joliet: bool = False
    rock_ridge: bool = True


def build_iso(layout: IsoLayout, path: Path) -> Path:
    """Write ``layout`` as an ISO 9660 image at ``path``."""
    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3,
        vol_ident=layout.volume_id,
        rock_ridge="1.09" if layout.rock_ridge else None,
        joliet=3 if layout.joliet else None,
    )
    made: dict[PurePosixPath, str] = {PurePosixPath("/"): "/"}
    for n, (name, content) in enumerate(sorted(layout.files.items())):
        target = PurePosixPath("/") / name.strip("/")
        parent_iso = _ensure_dirs(iso, layout, target.parent, made)
        data = content.encode() if isinstance(content, str) else content
        iso_name = parent_iso.rstrip("/") + "/" + _iso9660_name(target.name, False, n)
        rr_name, joliet_path = _names(layout, target)
        iso.add_fp(io.BytesIO(data), len(data), iso_name, rr_name=rr_name, joliet_path=joliet_path)
    iso.write(str(path))
    iso.close()
    return path


def _names(layout: IsoLayout, target: PurePosixPath) -> tuple[str | None, str | None]:
    """The Rock Ridge name and Joliet path of ``target``, where the layout has those trees."""
    return (target.name if layout.rock_ridge else None), (str(target) if layout.joliet else None)


def _iso9660_name(part: str, is_dir: bool, index: int) -> str:
    # Plain ISO 9660 level 3 names: upper case, limited charset; Rock Ridge carries the real one.
    base = "".join(c if c.isalnum() else "_" for c in part.upper())[:24] or f"F{index}"
    if is_dir:
        return base[:31]
    stem, _, ext = part.upper().rpartition(".")
    stem = "".join(c if c.isalnum() else "_" for c in (stem or ext))[:24] or f"F{index}"
    ext = "".join(c if c.isalnum() else "_" for c in ext)[:3] if stem != ext and "." in part else ""
    return f"{stem}.{ext};1" if ext else f"{stem}.;1"


def _ensure_dirs(
    iso: pycdlib.PyCdlib, layout: IsoLayout, directory: PurePosixPath, made: dict[PurePosixPath, str]
) -> str:
    if directory in made:
        return made[directory]
    parent = _ensure_dirs(iso, layout, directory.parent, made)
    iso_name = parent.rstrip("/") + "/" + _iso9660_name(directory.name, True, len(made))
    rr_name, joliet_path = _names(layout, directory)
    iso.add_directory(iso_name, rr_name=rr_name, joliet_path=joliet_path)
    made[directory] = iso_name
    return iso_name


@dataclass(frozen=True)
class Result:
    """What sik made of one ISO: the detectors' verdict, its `sik list` row, and grub.cfg."""

    verdict: Verdict
    row: PlannedIso
    grub_cfg: str

    @property
    def entry(self) -> BootEntry | None:
        return self.row.entry

    def explain(self) -> str:
        """What `sik detect --explain` would print about the ISO."""
        return "\n".join(explain_lines(self.verdict, self.row))


def plan_layout(
    layout: IsoLayout,
    *detectors: type[Detector],
    file_name: str = "test.iso",
    options: MenuOptions | None = None,
    data_uuid: str = EXAMPLE_DATA_UUID,
) -> Result:
    """Put ``layout`` as /boot/iso/``file_name`` on a scratch stick and run sik's pipeline on
    it with the installed detectors plus ``detectors`` (classes not installed yet).
    ``data_uuid`` stands for the stick's data partition UUID ("{data_uuid}" in a cmdline)."""
    with tempfile.TemporaryDirectory(prefix="sik-testkit-") as scratch:
        stick = Stick(Path(scratch), FsType.ext4)
        stick.initialise()
        path = build_iso(layout, stick.iso_dir / file_name)
        scan, verdict = scan_one(stick, path, _with(detectors))
    menu, (row,) = plan([scan], options or MenuOptions(), stick.fs, data_uuid)
    if verdict is None:  # the file could not be read as an ISO at all
        verdict = Verdict(scan.outcome, (), "the ISO could not be read")
    return Result(verdict, row, render_grub_cfg(menu))


def _with(classes: Sequence[type[Detector]]) -> tuple[LoadedDetector, ...]:
    own = {cls.name: cls for cls in classes}
    # The class under test may also be installed (an entry point): test the one given.
    installed = [d for d in load_detectors() if d.detector.name not in own]
    return tuple(installed) + tuple(LoadedDetector(cls(), "given to the test kit") for cls in classes)


def assert_entry(
    layout: IsoLayout,
    *detectors: type[Detector],
    title: str | None = None,
    kernel: str | None = None,
    initrds: Sequence[str] | None = None,
    cmdline: Sequence[str] | None = None,
    file_name: str = "test.iso",
) -> BootEntry:
    """Assert that ``layout`` gets a menu entry with the given facts (those not None), and
    return it. On failure the message carries sik's explanation of what the detectors saw."""
    result = plan_layout(layout, *detectors, file_name=file_name)
    entry = result.entry
    if entry is None:
        raise AssertionError(f"no menu entry: {'; '.join(result.row.notes)}\n{result.explain()}")
    expected = {
        "title": title,
        "kernel": PurePosixPath(kernel) if kernel is not None else None,
        "initrds": tuple(PurePosixPath(i) for i in initrds) if initrds is not None else None,
        "cmdline": tuple(cmdline) if cmdline is not None else None,
    }
    wrong = [
        f"{field}: expected {want!r}, planned {getattr(entry, field)!r}"
        for field, want in expected.items()
        if want is not None and getattr(entry, field) != want
    ]
    if wrong:
        raise AssertionError("\n".join(wrong) + "\n" + result.explain())
    return entry
