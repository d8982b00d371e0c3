"""ExtensionImages: one squashfs file per OS extension, in the stick's /boot/extensions/, merged
into /usr and /opt of every booted system by sik's secondary initrd.

An ExtensionImage is a valid systemd-sysext image (systemd-sysext(8)): a squashfs filesystem
holding only /usr and /opt, with usr/lib/extension-release.d/extension-release.NAME. Its ID=_any
lets it merge into any distribution. The file is written reproducibly: fixed times, root as the
owner of every file, no extended attributes, entries in mksquashfs's sorted order.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sik.core.errors import SikError, StickError
from sik.core.run import find_tool, run
from sik.core.staged import staged
from sik.core.stick import EXTENSION_SUFFIX, Stick
from sik.customize.cpio import source_date_epoch

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ALLOWED_TOP = frozenset({"usr", "opt"})
_RELEASE_DIR = Path("usr/lib/extension-release.d")
# systemd-sysext merges an image only when its ID matches the host's os-release ID; "_any"
# matches every distribution.
_RELEASE_TEXT = "ID=_any\n"


@dataclass(frozen=True)
class ExtensionInfo:
    name: str
    size: int


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or name.endswith("."):
        raise SikError(
            f"bad extension name {name!r}",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )


def check_tree(source: Path) -> None:
    """An extension holds /usr and /opt only: anything else would never be merged."""
    if not source.is_dir():
        raise SikError(f"{source} is not a directory")
    top = {p.name for p in source.iterdir()}
    stray = sorted(top - _ALLOWED_TOP)
    if stray:
        raise SikError(
            f"{source} holds {', '.join(stray)}: an ExtensionImage may only hold usr/ and opt/",
            hint="move the files under usr/ (programs in usr/bin, libraries in usr/lib) or opt/",
        )
    if not any(p.is_file() or p.is_symlink() for p in source.rglob("*")):
        raise SikError(f"{source} holds no files")


def build_extension(source: Path, name: str, dest: Path) -> Path:
    """Write ``source`` as the ExtensionImage ``dest``: made under a hidden name, then renamed."""
    check_name(name)
    check_tree(source)
    mksquashfs = find_tool("mksquashfs", reason="build an ExtensionImage", hint="install squashfs-tools")
    with tempfile.TemporaryDirectory(prefix="sik-extension-") as tmp, staged(dest) as partial:
        tree = Path(tmp, "tree")
        shutil.copytree(source, tree, symlinks=True)
        release = tree / _RELEASE_DIR / f"extension-release.{name}"
        if not release.exists():
            release.parent.mkdir(parents=True, exist_ok=True)
            release.write_text(_RELEASE_TEXT)
        epoch = str(source_date_epoch())
        options = ["-noappend", "-comp", "xz", "-all-root", "-no-xattrs", "-no-progress", "-quiet"]
        options += ["-mkfs-time", epoch, "-all-time", epoch]
        run([mksquashfs, tree, partial, *options], capture=True)
    return dest


def extension_path(stick: Stick, name: str) -> Path:
    check_name(name)
    return stick.extension_file(name)


def list_extensions(stick: Stick) -> tuple[ExtensionInfo, ...]:
    found = sorted(stick.extension_dir.glob("*" + EXTENSION_SUFFIX))
    return tuple(ExtensionInfo(p.name[: -len(EXTENSION_SUFFIX)], p.stat().st_size) for p in found)


def remove_extension(stick: Stick, name: str) -> Path:
    stick.claim()
    path = extension_path(stick, name)
    if not path.is_file():
        known = ", ".join(e.name for e in list_extensions(stick)) or "none"
        raise StickError(f"no ExtensionImage named {name!r}", hint=f"extensions are: {known}")
    path.unlink()
    return path
