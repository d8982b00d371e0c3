"""Plan -> grub.cfg text, through jinja2 templates that hold GRUB syntax and nothing else."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import jinja2

from sik import __version__
from sik.core.model import Plan
from sik.core.resources import data_dir
from sik.core.stick import (
    CUSTOM_CFG,
    ESP_KEYS_DIR,
    ESP_MOKMANAGER,
    ISO_DIR,
    KNOWN_ISOS_DIR,
    SUMS_FILE,
)

# Characters GRUB's script lexer treats as plain word characters. Anything else (white space,
# quotes, $, ;, |, &, <, >, {, }, \, non-ASCII, ...) is wrapped in single quotes, inside which
# GRUB expands nothing; a single quote itself is spelt '\''.
_GRUB_PLAIN = re.compile(r"[A-Za-z0-9_./:=,+@%()-]+")


def grub_quote(value: object) -> str:
    text = str(value)
    if "\n" in text or "\r" in text or "\x00" in text:
        raise ValueError(f"a GRUB word cannot hold a line break or NUL: {text!r}")
    if _GRUB_PLAIN.fullmatch(text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def _environment(user_templates: Path | None) -> jinja2.Environment:
    folders: list[Path] = [user_templates] if user_templates and user_templates.is_dir() else []
    folders.append(data_dir("grub-templates"))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["grub_quote"] = grub_quote
    return env


def render_grub_cfg(plan: Plan, *, user_templates: Path | None = None) -> str:
    """The whole grub.cfg. ``user_templates`` (the stick's /boot/sik/templates) may override
    any built-in template by file name."""
    template = _environment(user_templates).get_template("grub.cfg.j2")
    return template.render(
        plan=plan,
        entries=plan.entries,
        options=plan.options,
        version=__version__,
        custom_cfg=str(CUSTOM_CFG),
        sums_file=str(SUMS_FILE),
        esp_keys=str(ESP_KEYS_DIR),
        esp_mokmanager=str(ESP_MOKMANAGER),
        iso_dir=str(ISO_DIR),
        known_isos_dir=str(KNOWN_ISOS_DIR),
    )


def template_names() -> Sequence[str]:
    return sorted(p.name for p in data_dir("grub-templates").glob("*.j2"))
