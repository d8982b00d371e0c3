"""Everything a detector plugin may use, in one import.

    from sik.api import BootMethod, Detection, Detector, IsoView, read_menu

A plugin imports from here and nowhere else in sik, so sik's own modules can move without
breaking it: the contract (``Detector``), what a probe returns (``Detection``, ``BootMethod``),
what it reads (``IsoView``), and the helpers for facts read from an ISO.
docs/writing-a-detector.md explains each.
"""

from sik.core.model import BootMethod, Detection
from sik.detection.detect import Detector
from sik.detection.facts import (
    DiskInfo,
    MenuItem,
    arch_from_name,
    first_version,
    join,
    kernel_pair,
    newest,
    parse_key_values,
    read_disk_info,
    read_menu,
    read_treeinfo,
    udev_label,
    version_key,
)
from sik.detection.iso import IsoView

__all__ = [
    "BootMethod",
    "Detection",
    "Detector",
    "DiskInfo",
    "IsoView",
    "MenuItem",
    "arch_from_name",
    "first_version",
    "join",
    "kernel_pair",
    "newest",
    "parse_key_values",
    "read_disk_info",
    "read_menu",
    "read_treeinfo",
    "udev_label",
    "version_key",
]
