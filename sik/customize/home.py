"""The persistent $HOME: one ext4 image file, /home.img on the data partition, that sik's
secondary initrd mounts on /home in every booted system."""

from __future__ import annotations

from pathlib import Path

from sik.core.errors import StickError
from sik.core.stick import HOME_IMAGE, Stick
from sik.customize.images import check_room, make_image

HOME_LABEL = "sik-home"


def create_home(stick: Stick, size: int) -> Path:
    stick.claim()
    path = stick.home_image
    if path.exists():
        raise StickError(
            f"the stick already has a persistent home ({HOME_IMAGE})",
            hint="delete it first if you really want an empty one: its files would be lost",
        )
    check_room(stick, path, size)
    make_image(path, size, ext4_label=HOME_LABEL)
    return path
