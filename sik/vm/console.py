"""How far a boot got, read from what the guest printed on its serial console.

A boot passes five stages in order; each is recognised by lines the boot loader, the kernel,
the distribution's initramfs or its init print on their own. A boot that stops says why in
lines of its own (a panic, an emergency shell, a refused signature, a GRUB error): those
lines, and the last ones before them, are the evidence a user gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Colours, cursor moves and other escape sequences GRUB, systemd and shells print.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cDEHMZ])|\x0f|\x0e")
EVIDENCE_LINES = 12


class Stage(StrEnum):
    """How far a boot got, in the order a boot passes them."""

    none = "no output"
    grub = "GRUB menu"
    kernel = "kernel started"
    iso = "initramfs found the ISO"
    root = "root filesystem mounted"
    userspace = "userspace"

    def rank(self) -> int:
        return list(Stage).index(self)


class Stop(StrEnum):
    """Why a boot ended before userspace."""

    panic = "kernel panic"
    emergency = "initramfs emergency shell"
    shim = "bad shim signature"
    grub_error = "GRUB error"
    timeout = "timed out"
    exited = "the VM stopped"


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE)


# Each stage's evidence; a later stage implies the earlier ones.
_STAGES = (
    # GRUB's greeting (BIOS), its menu's header, or the line it prints when an entry starts.
    (Stage.grub, _any(r"Welcome to GRUB!", r"GNU GRUB +version", r"Booting `")),
    (Stage.kernel, _any(r"Linux version \d", r"EFI stub: ")),
    (
        Stage.iso,
        _any(
            # The initramfs attached the ISO file as a loop device: the kernel says so for
            # live-boot's findiso=, casper's iso-scan/filename= and dracut's iso-scan alike
            # (GRUB's own loopback is no kernel device, so it never says this).
            r"loop\d+: detected capacity change from 0 to [1-9]",
            # live-boot and casper, in their own words.
            r'Begin: Mounting "/run/live/medium',
            r"/cdrom type iso9660",
        ),
    ),
    (
        Stage.root,
        _any(
            r"Mounted root filesystem",  # dracut
            r"Switching root",  # dracut, systemd in the initramfs
            r"Begin: Running /scripts/init-bottom",  # initramfs-tools (live-boot, casper)
        ),
    ),
    (
        Stage.userspace,
        _any(
            r"^\S+ login: *$",
            r"\blogin: *\Z",
            r"Reached target .*(?:Multi-User System|Graphical Interface)",
        ),
    ),
)

_STOPS = (
    # GRUB refusing an unsigned kernel, shim refusing GRUB or a kernel, sik's stub on an exFAT
    # stick whose GRUB Secure Boot refused (sik/drive/secureboot.py).
    (
        Stop.shim,
        _any(
            r"bad shim signature",
            r"Verification failed: \(0x1A\) Security Violation",
            r"Secure Boot refused sik's GRUB",
        ),
    ),
    (Stop.panic, _any(r"Kernel panic - not syncing")),
    (
        Stop.emergency,
        _any(
            r"^\(initramfs\) ?",
            r"Dropping to a shell",
            r"built-in shell \(ash\)",  # initramfs-tools
            r"Entering emergency mode",
            r"emergency shell",
            r"^dracut:/#",  # dracut, systemd
            r"You are in emergency mode",
            r"rdsosreport\.txt",
        ),
    ),
    # GRUB waits for a key after an entry's command failed: the entry is over.
    (Stop.grub_error, _any(r"Press any key to continue")),
)


@dataclass(frozen=True)
class Verdict:
    stage: Stage  # the furthest stage reached
    stop: Stop | None  # why it ended before userspace (None: it reached userspace)
    evidence: tuple[str, ...]  # console lines that show it

    @property
    def reason(self) -> str:
        if self.stop is None:
            return "reached userspace"
        return (
            f"{self.stop} after {self.stage}"
            if self.stop in (Stop.timeout, Stop.exited)
            else str(self.stop)
        )


def clean(text: str) -> str:
    """The console's text without escape sequences, with carriage returns as line ends."""
    text = _ESCAPES.sub("", text).replace("\r\n", "\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def furthest(text: str, extra: tuple[str, ...] = ()) -> Stage:
    """The furthest stage ``text`` shows; ``extra`` strings count as userspace too (a
    system's own marker line)."""
    if any(marker in text for marker in extra):
        return Stage.userspace
    reached = Stage.none
    for stage, pattern in _STAGES:
        if pattern.search(text):
            reached = stage
    return reached


def stopped(text: str) -> Stop | None:
    """The first sign in ``text`` that the boot ended short of userspace."""
    hits = [(m.start(), stop) for stop, pattern in _STOPS if (m := pattern.search(text))]
    return min(hits)[1] if hits else None


def finished(text: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether waiting longer can tell more: userspace reached, or the boot stopped."""
    text = clean(text)
    return furthest(text, extra) is Stage.userspace or stopped(text) is not None


def judge(raw: str, *, timed_out: bool, extra: tuple[str, ...] = ()) -> Verdict:
    """The verdict on one boot's console output."""
    text = clean(raw)
    stage = furthest(text, extra)
    stop = None if stage is Stage.userspace else stopped(text)
    if stage is not Stage.userspace and stop is None:
        stop = Stop.timeout if timed_out else Stop.exited
    return Verdict(stage, stop, _evidence(text, stop, extra))


def _evidence(text: str, stop: Stop | None, extra: tuple[str, ...]) -> tuple[str, ...]:
    """The lines up to (and a little past) the first that shows the outcome: the sign of
    ``stop``, or the proof of userspace; the last lines for a boot that timed out or ended."""
    lines = [line.rstrip() for line in text.split("\n") if line.strip()]
    if stop is None:
        signs = [dict(_STAGES)[Stage.userspace], *(re.compile(re.escape(m)) for m in extra)]
    else:
        signs = [pattern for kind, pattern in _STOPS if kind is stop]
    first = next((i for i, line in enumerate(lines) if any(p.search(line) for p in signs)), None)
    end = len(lines) if first is None else min(len(lines), first + 4)
    return tuple(lines[max(0, end - EVIDENCE_LINES) : end])
