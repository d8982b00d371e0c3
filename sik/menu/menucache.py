"""The menu cache, /boot/sik/menu-cache.json: which grub.cfg the last `sik generate` rendered
from which inputs, so a run whose plan has not changed reuses it without loading jinja2,
compiling templates or running grub-script-check.

The key covers everything a render reads: the plan (frozen dataclasses, whose repr spells
every field), sik's version, the code of the modules the templates call into, jinja2's
installed files, and the name and bytes of every file under the template folders, built-in or
the stick's own. The cached text is only used while grub.cfg on the stick still hashes to what
was recorded, so a hand-edited or half-written grub.cfg is rendered again; a corrupt cache
file is ignored.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from sik import __version__
from sik.core.codec import encode
from sik.core.model import Plan
from sik.core.resources import data_dir
from sik.core.staged import write_file
from sik.core.stick import Stick

_FORMAT = 1
# The render's own code and the model whose methods templates call.
_CODE = ("menu/render.py", "core/model.py")


def menu_key(plan: Plan, user_templates: Path) -> str:
    # The plan as JSON (sik/core/codec.py): every field, in a spelling that does not change
    # between Python versions the way a repr could.
    plan_json = json.dumps(encode(plan), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{_FORMAT} {__version__}\0{plan_json}".encode())
    package = Path(__file__).parents[1]
    for name in _CODE:
        digest.update(b"\0" + (package / name).read_bytes())
    digest.update(f"\0jinja2 {_stat_of_module('jinja2')}".encode())
    for folder in (user_templates, data_dir("grub-templates")):
        # Every file, not only *.j2: a template may include any file under its folder.
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                digest.update(f"\0{folder == user_templates} {name}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def _stat_of_module(name: str) -> str:
    """Where a module is installed and when it was last written: a reinstall changes it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return "missing"
    stat = os.stat(spec.origin)
    return f"{spec.origin} {stat.st_size} {stat.st_mtime_ns}"


def cached_menu(stick: Stick, key: str) -> str | None:
    """The grub.cfg text on the stick, when the cache says it was rendered from ``key``."""
    try:
        record = json.loads(stick.menu_cache_file.read_bytes())
        if not isinstance(record, dict) or record.get("format") != _FORMAT or record.get("key") != key:
            return None
        data = stick.grub_cfg.read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def remember_menu(stick: Stick, key: str, data: bytes) -> None:
    record = {"format": _FORMAT, "key": key, "sha256": hashlib.sha256(data).hexdigest()}
    write_file(stick.menu_cache_file, (json.dumps(record, indent=1) + "\n").encode())
