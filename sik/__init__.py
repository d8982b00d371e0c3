"""sik: turn one USB drive or disk image into a library of bootable operating systems."""

__version__ = "0.1.0"
