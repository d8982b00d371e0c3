"""The menu cache: a plan that has not changed reuses grub.cfg as it is on the stick, and any
change to what a render reads (plan, templates, the file itself) renders again."""

from __future__ import annotations

import json
import shutil

import pytest

import sik.menu.render
from sik.core.model import MenuOptions
from sik.core.resources import data_dir
from sik.core.stick import Stick
from sik.detection.detect import LoadedDetector
from sik.menu.generate import build_menu, write_menu
from tests.isobuilder import DEBIAN_LIVE, build_iso


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per real jinja2 render."""
    seen: list[int] = []
    real = sik.menu.render.render_grub_cfg

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sik.menu.render, "render_grub_cfg", counting)
    return seen


@pytest.fixture
def written(stick: Stick, detectors: tuple[LoadedDetector, ...], renders: list[int]) -> bytes:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    assert write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert len(renders) == 1 and stick.menu_cache_file.is_file()
    renders.clear()
    return stick.grub_cfg.read_bytes()


def test_unchanged_plan_reuses_grub_cfg_without_rendering(
    stick: Stick, detectors: tuple[LoadedDetector, ...], renders: list[int], written: bytes
) -> None:
    menu = build_menu(stick, MenuOptions(), detectors)
    assert renders == [] and menu.grub_cfg.encode() == written
    assert not write_menu(stick, menu)


def test_changed_options_render_again(
    stick: Stick, detectors: tuple[LoadedDetector, ...], renders: list[int], written: bytes
) -> None:
    menu = build_menu(stick, MenuOptions(timeout=42), detectors)
    assert renders == [1] and "timeout=42" in menu.grub_cfg


def test_hand_edited_grub_cfg_is_rendered_again(
    stick: Stick, detectors: tuple[LoadedDetector, ...], renders: list[int], written: bytes
) -> None:
    stick.grub_cfg.write_bytes(written + b"# edited\n")
    menu = build_menu(stick, MenuOptions(), detectors)
    assert renders == [1] and menu.grub_cfg.encode() == written


def test_user_template_renders_again(
    stick: Stick, detectors: tuple[LoadedDetector, ...], renders: list[int], written: bytes
) -> None:
    templates = stick.sik_dir / "templates"
    templates.mkdir()
    shutil.copy(data_dir("grub-templates") / "grub.cfg.j2", templates / "grub.cfg.j2")
    with (templates / "grub.cfg.j2").open("a") as f:
        f.write("# mine\n")
    menu = build_menu(stick, MenuOptions(), detectors)
    assert renders == [1] and menu.grub_cfg.endswith("# mine\n")


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"format": 1, "key": 3}'])
def test_corrupt_cache_file_renders_again(
    stick: Stick,
    detectors: tuple[LoadedDetector, ...],
    renders: list[int],
    written: bytes,
    content: bytes,
) -> None:
    stick.menu_cache_file.write_bytes(content)
    assert build_menu(stick, MenuOptions(), detectors).grub_cfg.encode() == written
    assert renders == [1]
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert json.loads(stick.menu_cache_file.read_text())["format"] == 1


def test_file_in_a_template_subfolder_renders_again(
    stick: Stick, detectors: tuple[LoadedDetector, ...], renders: list[int], written: bytes
) -> None:
    extra = stick.sik_dir / "templates" / "parts" / "note.cfg"
    extra.parent.mkdir(parents=True)
    extra.write_text("# note\n")
    build_menu(stick, MenuOptions(), detectors)
    assert renders == [1]
