"""--kernel-args and sik.toml's values are checked, not coerced (issue 13, item 11)."""

from __future__ import annotations

import pytest

from sik.core.stick import Stick
from tests.clirun import REFUSED, sik
from tests.isobuilder import DEBIAN_LIVE, build_iso
from tests.test_hostile import grub_commands


def test_kernel_args_are_split_as_a_shell_would(stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    sik("generate", "--stick", stick.root, "--kernel-args", 'foo="a b" quiet')
    (linux,) = [c for c in grub_commands(stick.grub_cfg.read_text()) if c[0] == "linux"]
    # ... then sik's one-time arguments of `sik try`, empty on a normal boot
    assert linux[-3:] == ["foo=a b", "quiet", "$sik_once_args"]
    assert 'kernel_args = ["foo=a b", "quiet"]' in stick.options_file.read_text()


@pytest.mark.parametrize(
    ("menu", "message"),
    [
        ('serial = "false"', r"serial must be true or false, not 'false'"),
        ('timeout = "5"', r"timeout must be a whole number of seconds, not '5'"),
        ("timeout = true", r"timeout must be a whole number of seconds, not True"),
        ('kernel_args = "quiet"', r"kernel_args must be a list of strings"),
        ('kernel_args = ["a\\nb"]', "kernel argument 'a\\nb' holds a line break"),
    ],
)
def test_sik_toml_values_have_their_types(stick: Stick, menu: str, message: str) -> None:
    stick.options_file.write_text(f"[menu]\n{menu}\n")
    result = sik("generate", "--stick", stick.root, code=REFUSED)
    assert message in str(result.exception)
    assert not stick.grub_cfg.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [('foo="a\nb"', "holds a line break or control character"), ('foo="a', "No closing quotation")],
)
def test_bad_kernel_args_are_one_clear_error(stick: Stick, args: str, message: str) -> None:
    result = sik("generate", "--stick", stick.root, "--kernel-args", args, code=REFUSED)
    assert message in str(result.exception)
