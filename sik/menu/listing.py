"""What `sik list` shows: one typed row per ISO on the stick (what it is, how it boots or why
not, the entry it got and where that sits in the menu, the customisations it picks up)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sik.core.codec import encode
from sik.core.model import Plan, SecureBootFacts
from sik.core.stick import Stick
from sik.customize.hooks import StickCustomizations, applicable
from sik.customize.initrds import read_customizations
from sik.menu.generate import plan_stick
from sik.menu.plan import PlannedIso


@dataclass(frozen=True)
class MenuRef:
    """The GRUB submenu an entry sits in (several versions of one distribution)."""

    id: str
    title: str


@dataclass(frozen=True)
class ListRow:
    file: str
    distribution: str | None
    version: str | None
    arch: str | None
    method: str | None
    # How the booted system finds its ISO (sik.core.model.Medium's value), and what that takes
    # beyond the file (the module taken from the ISO, ...).
    medium: str | None
    medium_detail: str | None
    status: str  # "ok", "warning" or "unsupported"
    notes: tuple[str, ...]
    entry: str | None  # the entry's id, for `sik boot-once`
    edition: str | None
    persistence: str | None
    title: str | None
    menu: MenuRef | None
    # What the ISO's boot method supports of the stick's customisations; a star marks those
    # the stick holds now.
    customizations: tuple[str, ...]
    # Whether its entry starts with Secure Boot on, and why (None for an ISO without an entry).
    secure_boot: SecureBootFacts | None = None

    @property
    def shown_title(self) -> str:
        """The entry's title as the user finds it in the menu: "Submenu › Entry" inside one."""
        if self.menu is not None:
            return f"{self.menu.title} › {self.title}"
        return self.title or "—"

    @property
    def shown_medium(self) -> str:
        """ "ISO file + filesystem module from the ISO (exfat.ko for 6.1.0-57-amd64 from ...)"."""
        detail = f" ({self.medium_detail})" if self.medium_detail else ""
        return f"{self.medium or '—'}{detail}"

    def json(self) -> dict[str, object]:
        encoded: dict[str, object] = encode(self)
        return encoded


def list_stick(stick: Stick, folders: Sequence[Path] = ()) -> tuple[ListRow, ...]:
    found = read_customizations(stick)
    plan, planned = plan_stick(stick, found=found, folders=folders)
    return tuple(_row(row, plan, found) for row in planned)


def _row(row: PlannedIso, plan: Plan, found: StickCustomizations) -> ListRow:
    d = row.scan.detection
    submenu = plan.submenu_of(row.entry.id) if row.entry else None
    name = row.scan.iso.path.name
    return ListRow(
        file=name,
        distribution=d.pretty_name if d else None,
        version=d.version if d else None,
        arch=d.arch if d else None,
        method=str(d.method) if d else None,
        medium=str(row.entry.medium) if row.entry else None,
        medium_detail=row.medium_detail,
        status=row.status,
        notes=row.notes,
        entry=row.entry.id if row.entry else None,
        edition=d.edition if d else None,
        persistence=d.persistence if d else None,
        title=row.entry.title if row.entry else None,
        menu=MenuRef(submenu.id, submenu.title) if submenu else None,
        customizations=applicable(d.method, found, name) if d else (),
        secure_boot=row.scan.secure_boot if row.entry else None,
    )
