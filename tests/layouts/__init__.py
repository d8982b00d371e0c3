"""Real layouts of each distribution family's ISOs, reduced to what detectors read: the file
tree (tiny contents), the volume label, /.disk/info and the boot menus that matter.

Each module holds ``LAYOUTS``: a name -> Layout mapping; ``ALL`` merges them. Build one with
``tests.isobuilder.build_iso(path, layout.files, volume_id=layout.volume_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    files: Mapping[str, bytes | str]
    volume_id: str

    def build(self, path: Path) -> Path:
        from tests.isobuilder import build_iso

        return build_iso(path, self.files, volume_id=self.volume_id)


def grub_entry(title: str, kernel: str, initrd: str, args: str) -> str:
    """A grub.cfg menuentry as distributions write them."""
    return f'menuentry "{title}" {{\n\tlinux\t{kernel} {args}\n\tinitrd\t{initrd}\n}}\n'


def isolinux_entry(label: str, title: str, kernel: str, append: str) -> str:
    return f"label {label}\n  menu label {title}\n  kernel {kernel}\n  append {append}\n"


def _all() -> dict[str, Layout]:
    from tests.layouts import arch, debian, others, redhat, suse, ubuntu

    merged: dict[str, Layout] = {}
    for module in (ubuntu, debian, redhat, suse, arch, others):
        overlap = merged.keys() & module.LAYOUTS.keys()
        assert not overlap, overlap
        merged.update(module.LAYOUTS)
    return merged


ALL: Mapping[str, Layout] = _all()
