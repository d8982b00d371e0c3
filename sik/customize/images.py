"""Sized files on the stick that hold a filesystem of their own (the persistent $HOME, a
distribution's persistence store): checked against the stick before anything is written, made
under a hidden name and renamed into place once complete."""

from __future__ import annotations

from pathlib import Path

from sik.core.errors import StickError
from sik.core.run import Arg, run
from sik.core.staged import check_free_space, staged
from sik.core.stick import Stick

MIN_SIZE = 16 * 1024**2  # below this mkfs.ext4 leaves almost no room for data


def check_room(stick: Stick, path: Path, size: int) -> None:
    """Refuse a file the stick's filesystem cannot hold, or has no room for."""
    if size < MIN_SIZE:
        raise StickError(f"{size} bytes is too small", hint="give at least 16M")
    if stick.fs is not None and not stick.fs.fits(size):
        raise StickError(
            f"a {stick.fs} stick cannot hold a file of {size / 2**30:.1f} GiB (its limit is 4 GiB)",
            hint="choose --size 4000M or less, or make the stick with `sik install --fs ext4`",
        )
    # The file starts sparse where the filesystem allows, but it fills up as it is used: a
    # stick without room for all of it would fail later, inside a booted system.
    check_free_space(stick, size, f" for {path.name}", "choose a smaller --size or remove ISOs")


def make_image(path: Path, size: int, *, ext4_label: str | None, populate: Path | None = None) -> None:
    """Create ``path`` of ``size`` bytes: an ext4 filesystem labelled ``ext4_label`` (holding
    the files of ``populate``), or zeros when the label is None."""
    with staged(path) as partial:
        with open(partial, "wb") as handle:
            handle.truncate(size)
        if ext4_label is not None:
            options: list[Arg] = ["-q", "-F", "-L", ext4_label]
            if populate is not None:
                options += ["-d", populate]
            run(["mkfs.ext4", *options, partial])
