"""Errors a user can act on: a message, and a hint saying what to do about it."""

from __future__ import annotations


class SikError(Exception):
    """Base of every error sik reports to the user as one line (plus an optional hint)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ToolError(SikError):
    """An external program is missing or failed."""


class IsoReadError(SikError):
    """A file in /boot/iso could not be read as an ISO 9660 image."""


class StickError(SikError):
    """The stick (image file, device or mounted directory) is not usable as asked."""


class DriveError(SikError):
    """Partitioning, formatting or installing the boot loader failed."""


class SecureBootError(SikError):
    """Secure Boot: a key, a signature or a signed boot loader is missing or unusable."""
