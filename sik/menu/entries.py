"""The menu entries a stick's GRUB offers, read from the grub.cfg on the stick (and the user's
custom.cfg): what `sik try` can boot is what GRUB will show, not what a new scan would plan."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from sik.core.errors import SikError

_OPENER = re.compile(r"^\s*(menuentry|submenu)\s+(.*)\{\s*$")
_ISO_PATH = re.compile(r"^\s*set iso_path=(.+)$")


@dataclass(frozen=True)
class MenuChoice:
    title: str
    path: str  # what GRUB's `default` takes: "id", or "submenu_id>id" inside a submenu
    iso: PurePosixPath | None  # the ISO the entry opens, when it names one


def menu_choices(text: str) -> tuple[MenuChoice, ...]:
    """Every bootable entry with an --id, in menu order. GRUB syntax is read only as far as
    sik writes it: one ``menuentry``/``submenu`` opener per line, closed by a lone ``}``."""
    found: list[MenuChoice] = []
    stack: list[tuple[str, str]] = []  # (kind, id) of each open block
    current: dict[str, object] | None = None
    for line in text.splitlines():
        opener = _OPENER.match(line)
        if opener:
            kind, words = opener.group(1), _words(opener.group(2))
            ident = _option(words, "--id")
            stack.append((kind, ident or ""))
            # An id holding a GRUB variable is made at boot (the "New ISOs" submenu): there is
            # no fixed entry to name ahead of time.
            if kind == "menuentry" and ident and "$" not in ident and words:
                parents = [i for k, i in stack[:-1] if k == "submenu"]
                current = {"title": words[0], "path": ">".join([*parents, ident]), "iso": None}
            continue
        iso = _ISO_PATH.match(line)
        if iso and current is not None:
            current["iso"] = PurePosixPath(_words(iso.group(1))[0])
        if line.strip() == "}" and stack:
            kind, _ = stack.pop()
            if kind == "menuentry" and current is not None:
                found.append(MenuChoice(str(current["title"]), str(current["path"]), _iso(current)))
                current = None
    return tuple(found)


def _iso(values: dict[str, object]) -> PurePosixPath | None:
    iso = values["iso"]
    return iso if isinstance(iso, PurePosixPath) else None


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return []


def _option(words: list[str], name: str) -> str | None:
    for index, word in enumerate(words[:-1]):
        if word == name:
            return words[index + 1]
    return None


def pick(choices: tuple[MenuChoice, ...], wanted: str) -> MenuChoice:
    """The entry ``wanted`` names: its id or path, its title, its ISO's file name, or a part
    of its title that no other entry's title holds (case ignored)."""
    for test in (
        lambda c: wanted in (c.path, c.path.rsplit(">", 1)[-1], c.title),
        lambda c: c.iso is not None and c.iso.name == wanted,
        lambda c: wanted.casefold() in c.title.casefold(),
    ):
        matches = [c for c in choices if test(c)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = "; ".join(c.title for c in matches)
            raise SikError(f"{wanted!r} names {len(matches)} entries: {names}", hint="give its id")
    known = ", ".join(c.path for c in choices) or "none"
    raise SikError(f"no menu entry {wanted!r} on the stick", hint=f"entries are: {known}")
