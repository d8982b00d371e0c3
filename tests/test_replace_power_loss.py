"""`sik replace` killed with SIGKILL at random points, on the loop-mounted ext4 data partition of
a real sik image, with `sync` and an unmount/mount after each kill (tests/test_power_loss.py
says what such a kill proves, and what it does not).

After every kill: the old ISO or the new one is on the stick complete under its real name
(both may be, between the rename and the old file's removal), never a mixture and never
neither. The next `sik generate` then repairs the rest: one ISO, the manifest and SHA256SUMS
describing exactly it, the menu opening exactly it, no journal left.

Replacements alternate between a new name (a newer release) and the same name (other bytes).
SIK_REPLACE_KILLS sets the number of kills (default 30: about 2 minutes here).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sik.core.run import run
from sik.drive.layout import attached, read_layout
from sik.files.manifest import load_manifest
from tests.clirun import sik as _sik
from tests.isobuilder import LOOPBACK, build_iso
from tests.test_power_loss import ForkServer, MountedImage

KILLS = int(os.environ.get("SIK_REPLACE_KILLS", "30"))
NAMES = ("distro-1.0.iso", "distro-1.1.iso")
VARIANTS = (0, 1)
MIB = 2**20

Version = tuple[str, int]  # (file name, which bytes)


@dataclass
class Bench(MountedImage):
    sources: dict[Version, Path]
    digests: dict[Version, str]
    seconds: float = 0.0  # one whole `sik replace`


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    work = tmp_path_factory.mktemp("replace-kills")
    sources: dict[Version, Path] = {}
    for name in NAMES:
        for variant in VARIANTS:
            folder = work / f"v{variant}"
            folder.mkdir(exist_ok=True)
            # Big enough that the copy takes a while: the kills must land inside it too.
            sources[(name, variant)] = build_iso(folder / name, LOOPBACK | {"pad": os.urandom(16 * MIB)})
    image = work / "sik.img"
    # ext4: the test mounts the data partition with this kernel, which has no exFAT driver.
    _sik("install", "--image", image, "--size", "300M", "--fs", "ext4")
    _sik("add", "--image", image, sources[(NAMES[0], 0)])
    mountpoint = work / "mnt"
    mountpoint.mkdir()
    with attached(image, read_layout(image).data) as device:
        run(["mount", "-t", "ext4", device, mountpoint])
        try:
            yield Bench(image, mountpoint, device, sources, {v: _sha(p) for v, p in sources.items()})
        finally:
            run(["umount", mountpoint])


def _present(bench: Bench) -> dict[str, str]:
    """ISO name -> SHA-256, for each ISO on the stick under a real name."""
    found = {p.name: _sha(p) for p in bench.stick.iso_dir.glob("*.iso")}
    assert set(found) <= set(NAMES), found
    return found


def _check_after_kill(bench: Bench, old: Version, new: Version) -> bool:
    """Old or new complete under its name, never a mixture; True when the new one is there."""
    present = _present(bench)
    whole = {version for version in (old, new) if present.get(version[0]) == bench.digests[version]}
    assert set(present) == {v[0] for v in whole}, f"a file that is neither {old} nor {new}: {present}"
    assert whole, f"neither {old} nor {new} is on the stick"
    return new in whole


def _check_repaired(bench: Bench) -> Version:
    """After a whole `sik generate`: one ISO, and the manifest, sums and menu say just it."""
    stick = bench.stick
    ((name, digest),) = _present(bench).items()
    (version,) = [v for v, d in bench.digests.items() if v[0] == name and d == digest]
    manifest = load_manifest(stick).files
    assert {k: r.sha256 for k, r in manifest.items()} == {f"boot/iso/{name}": digest}
    assert stick.sums_file.read_text() == f"{digest}  boot/iso/{name}\n"
    menu = stick.grub_cfg.read_text()
    assert f"/boot/iso/{name}" in menu
    assert all(f"/boot/iso/{other}" not in menu for other in NAMES if other != name)
    assert not stick.replace_journal.exists()
    assert not list(stick.iso_dir.glob(".*")), "a staged copy was left behind"
    return version


@pytest.mark.root
def test_kills_during_replace_leave_old_or_new_whole(bench: Bench) -> None:
    rng = random.Random(int(os.environ.get("SIK_POWER_SEED", "14")))
    server = ForkServer()
    current: Version = (NAMES[0], 0)
    mid_run = finished_new = 0
    started = time.monotonic()
    try:
        # Two replacements to the end, there and back: how long the window is (the second,
        # warm one; the first also loads what the fork server had not).
        for target in ((NAMES[1], 0), (NAMES[0], 0)):
            start = time.monotonic()
            argv = ("replace", "--stick", bench.mountpoint, current[0], bench.sources[target])
            assert server.run(*argv) == 0
            bench.seconds = time.monotonic() - start
            current = _check_repaired(bench)
        for _ in range(KILLS):
            other = current[0] if rng.random() < 0.5 else next(n for n in NAMES if n != current[0])
            target: Version = (other, rng.choice([v for v in VARIANTS if (other, v) != current]))
            pid = server.start("replace", "--stick", bench.mountpoint, current[0], bench.sources[target])
            time.sleep(bench.seconds * rng.uniform(0, 1.1))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            mid_run += server.wait() == -signal.SIGKILL
            bench.remount()
            finished_new += _check_after_kill(bench, current, target)
            assert server.run("generate", "--stick", bench.mountpoint) == 0
            bench.remount()
            current = _check_repaired(bench)
    finally:
        server.close()
    print(
        f"\nreplace kills: {KILLS} ({mid_run} mid-run, {finished_new} after the new file was in "
        f"place) in {time.monotonic() - started:.0f} s; one replace takes {bench.seconds:.1f} s"
    )
    # The kills must hit sik at work, both before and after the rename.
    assert mid_run > KILLS // 4 and 0 < finished_new < KILLS
