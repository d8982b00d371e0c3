"""A cleanup that fails never hides the error that caused it (issue 13, item 13): when the body
of a mount fails and the unmount then fails too (a busy directory), the user reads the first
error, and the second as a warning."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from sik.core.errors import SikError
from sik.core.model import FsType
from sik.core.run import run
from sik.drive.layout import PartitionSpan
from sik.drive.mount import mounted_partition

pytestmark = pytest.mark.root


def test_the_first_error_survives_a_busy_unmount(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image = tmp_path / "fs.img"
    image.write_bytes(b"")
    os.truncate(image, 64 * 2**20)
    run(["mkfs.ext4", "-q", "-F", image])
    span = PartitionSpan(1, 0, 64 * 2**20)
    held = None
    where: Path | None = None
    try:
        with (
            caplog.at_level(logging.WARNING),
            pytest.raises(SikError, match="^the real problem$"),
            mounted_partition(image, span, FsType.ext4) as root,
        ):
            where = root
            held = (root / "busy").open("w")  # umount: target is busy
            raise SikError("the real problem")
        assert f"unmounting {where} failed too: umount failed" in caplog.text
    finally:
        if held is not None:
            held.close()
        if where is not None and os.path.ismount(where):
            run(["umount", where])
            where.rmdir()
