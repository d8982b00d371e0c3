"""Small readers of facts an ISO carries, shared by detectors so none copies another."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sik.detection.iso import IsoView

_VERSION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)(?![\w.]*[A-Za-z])")
_ARCH = re.compile(r"\b(amd64|x86_64|i386|i686|arm64|aarch64)\b")
_ARCH_IN_NAME = re.compile(r"(?<![A-Za-z0-9])(amd64|x86_64|i386|i686|arm64|aarch64)(?![A-Za-z0-9])")
_NUMBERS = re.compile(r"\d+|\D+", re.ASCII)


@dataclass(frozen=True)
class DiskInfo:
    """The first line of /.disk/info, e.g. 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 ...'."""

    text: str
    name: str | None
    version: str | None
    arch: str | None


def read_disk_info(iso: IsoView) -> DiskInfo | None:
    text = iso.read_text(".disk/info", limit=4096)
    if not text or not text.strip():
        return None
    line = text.strip().splitlines()[0].strip()
    version = _VERSION.search(line)
    name = line[: version.start()].strip(' -"') if version else None
    arch = _ARCH.search(line)
    return DiskInfo(
        line, name or None, version.group(1) if version else None, arch.group(1) if arch else None
    )


def version_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders 'vmlinuz-6.1.0-10' after 'vmlinuz-6.1.0-9'."""
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int() (found by fuzzing).
    parts = _NUMBERS.findall(text)
    return tuple((0, int(part)) if part.isascii() and part.isdigit() else (1, part) for part in parts)


def newest(names: list[str] | tuple[str, ...], prefix: str) -> str | None:
    """The highest-versioned name that is ``prefix`` or starts with ``prefix`` + '-' or '.'."""
    matching = [n for n in names if n == prefix or n.startswith((prefix + "-", prefix + "."))]
    return max(matching, key=version_key) if matching else None


def udev_label(label: str) -> str:
    """A volume label as udev spells it under /dev/disk/by-label (dracut's CDLABEL= uses this):
    bytes outside a safe set become \\xHH."""
    safe = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#+-.:=@_")
    return "".join(c if c in safe else "".join(f"\\x{b:02x}" for b in c.encode()) for c in label)


def arch_from_name(name: str) -> str | None:
    """'nixos-minimal-24.11-x86_64' -> 'x86_64'; '_' and '-' separate words, except in x86_64."""
    found = _ARCH_IN_NAME.search(name)
    return found.group(1) if found else None


def join(directory: str, name: str) -> PurePosixPath:
    return PurePosixPath("/") / directory.strip("/") / name


def kernel_pair(
    iso: IsoView, directories: tuple[str, ...], kernel: str = "vmlinuz", initrd: str = "initrd.img"
) -> tuple[PurePosixPath, PurePosixPath] | None:
    """The first directory holding both ``kernel`` and ``initrd``: their paths, or None."""
    for directory in directories:
        found = iso.first_existing(f"{directory}/{kernel}"), iso.first_existing(f"{directory}/{initrd}")
        if found[0] and found[1]:
            return found[0], found[1]
    return None


@dataclass(frozen=True)
class MenuItem:
    """One boot entry of an ISO's own menu (isolinux.cfg or grub.cfg), as written there."""

    title: str
    kernel: str | None
    initrds: tuple[str, ...]
    args: tuple[str, ...]


_GRUB_ENTRY = re.compile(r"""^\s*menuentry\s+(?:'([^']*)'|"([^"]*)"|(\S+))""")


def parse_grub_menu(text: str) -> tuple[MenuItem, ...]:
    """menuentry blocks of a grub.cfg: title, the ``linux`` line's path and arguments, and the
    ``initrd`` line's paths. Nested submenus are flattened; anything else is ignored."""
    items: list[MenuItem] = []
    title: str | None = None
    kernel: str | None = None
    initrds: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    for line in text.splitlines():
        entry = _GRUB_ENTRY.match(line)
        if entry:
            if title is not None:
                items.append(MenuItem(title, kernel, initrds, args))
            title = next(g for g in entry.groups() if g is not None)
            kernel, initrds, args = None, (), ()
            continue
        words = line.split()
        if title is None or not words:
            continue
        if words[0] in ("linux", "linuxefi", "linux16") and len(words) > 1:
            kernel, args = words[1], tuple(words[2:])
        elif words[0] in ("initrd", "initrdefi", "initrd16"):
            initrds = tuple(words[1:])
    if title is not None:
        items.append(MenuItem(title, kernel, initrds, args))
    return tuple(items)


def parse_isolinux_menu(text: str) -> tuple[MenuItem, ...]:
    """LABEL blocks of an isolinux/syslinux config: ``menu label`` as the title, KERNEL or
    LINUX, INITRD, and APPEND (whose ``initrd=a,b`` moves to the initrd list)."""
    items: list[MenuItem] = []
    for block in re.split(r"(?im)^\s*label\s+", text)[1:]:
        lines = block.splitlines()
        if not lines:  # a bare "label" line right before the next one: no block at all
            continue
        title, kernel = lines[0].strip(), None
        initrds: list[str] = []
        args: list[str] = []
        for line in lines[1:]:
            words = line.split()
            key = words[0].lower() if words else ""
            if key == "menu" and len(words) > 1 and words[1].lower() == "label":
                title = " ".join(words[2:]).replace("^", "")
            elif key in ("kernel", "linux") and len(words) > 1:
                kernel = words[1]
            elif key == "initrd" and len(words) > 1:
                initrds = words[1].split(",")
            elif key == "append":
                initrds += [i for w in words[1:] if w.startswith("initrd=") for i in w[7:].split(",")]
                args += [w for w in words[1:] if not w.startswith("initrd=")]
        items.append(MenuItem(title, kernel, tuple(initrds), tuple(args)))
    return tuple(items)


def read_menu(iso: IsoView, *paths: str) -> tuple[MenuItem, ...]:
    """The entries of the first of ``paths`` that exists and has any, parsed by its kind."""
    for path in paths:
        text = iso.read_text(path)
        if not text:
            continue
        parse = parse_grub_menu if path.endswith("grub.cfg") else parse_isolinux_menu
        items = parse(text)
        if items:
            return items
    return ()


def parse_key_values(text: str) -> dict[str, str]:
    """os-release(5)-style ``KEY=value`` lines (also Proxmox's /.cd-info), quotes removed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#") or not key.replace("_", "").isalnum():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def read_treeinfo(iso: IsoView) -> dict[str, dict[str, str]]:
    """Sections of an installable tree's /.treeinfo (productmd's INI file), or {}."""
    text = iso.read_text(".treeinfo")
    if not text:
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return {name: dict(parser[name]) for name in parser.sections()}


def first_version(text: str) -> str | None:
    """The first dotted number that stands as a word: 'MX-23.4_x64' -> '23.4'."""
    found = _VERSION.search(text.replace("_", " ").replace("-", " "))
    return found.group(1) if found else None
