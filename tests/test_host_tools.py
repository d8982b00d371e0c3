"""sik checks the programs it needs before it changes anything (issue 13, items 6 and 21): every
program `sik install` runs is in check_host_tools' list, a missing mkfs stops the install before
an image exists, and grub.cfg is never written unread by grub-script-check. A program is taken
away the way a host lacks it: in a private mount namespace, a non-executable file is bound over
it, so no PATH lookup finds it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sik.core.model import FsType
from sik.core.stick import Stick
from sik.drive.install import check_host_tools
from tests.clirun import ROOT, sik_process

pytestmark = pytest.mark.root


def _without(program: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`sik ARGS` on a host where ``program`` is not installed."""
    found = shutil.which(program, path="/usr/sbin:/usr/bin:/sbin:/bin")
    assert found, f"{program} is not installed here"
    hide = f"mount --bind /dev/null {shlex.quote(os.path.realpath(found))}"
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{hide} && exec "$@"']
    argv += ["sh", sys.executable, "-m", "sik", *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_install_checks_every_program_it_runs(tmp_path: Path) -> None:
    result = sik_process(
        "--debug", "install", "--image", tmp_path / "x.img", "--size", "200M", "--fs", "exfat"
    )
    ran = {
        Path(shlex.split(line[2:])[0]).name
        for line in result.stderr.splitlines()
        if line.startswith("+ ")
    }
    assert {"mkfs.exfat", "mkfs.fat", "wipefs", "losetup", "blkid"} <= ran
    assert ran <= set(check_host_tools(FsType.exfat)), ran - set(check_host_tools(FsType.exfat))


def test_a_missing_mkfs_stops_install_before_the_image_exists(tmp_path: Path) -> None:
    result = _without(
        "mkfs.exfat", "install", "--image", "x.img", "--size", "200M", "--fs", "exfat", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "error: cannot make a stick (mkfs.exfat)" in result.stderr
    assert "hint: install exfatprogs" in result.stderr
    assert not (tmp_path / "x.img").exists()


def test_grub_cfg_is_never_written_unchecked(stick: Stick, tmp_path: Path) -> None:
    result = _without("grub-script-check", "generate", "--stick", stick.root, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "error: cannot check grub.cfg with GRUB's own parser" in result.stderr
    assert not stick.grub_cfg.exists()
