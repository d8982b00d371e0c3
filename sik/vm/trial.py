"""`sik try`: boot one entry of a stick in QEMU, on a copy-on-write overlay, and tell how far
it got.

The entry is chosen the way `sik boot-once` chooses it, through GRUB's environment block, with
one more one-time value: kernel arguments that put the guest's console on the serial port sik
reads. Both are written into the overlay only, at the place the stick's filesystem keeps
grubenv, so the stick's own grubenv, its menu and every other byte stay as they are.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sik.core.errors import SikError
from sik.core.model import Firmware
from sik.drive.open_stick import StickDisk
from sik.menu.entries import MenuChoice, menu_choices
from sik.menu.grubenv import decode, encode
from sik.vm.console import Verdict, finished, judge
from sik.vm.locate import locate
from sik.vm.overlay import make_overlay, read_from, write_into
from sik.vm.qemu import Disk, Echo, boot, ovmf_secboot

# For the tried boot only: the kernel's console on the first serial port (last, so it is
# /dev/console, where init and an emergency shell write), and still on the screen (--gui);
# the kernel's and systemd's progress shown even after a `quiet` (the later loglevel wins),
# since the stages are read from those lines.
ONCE_ARGS = ("console=tty0", "console=ttyS0,115200n8", "loglevel=7", "systemd.show_status=1")
# The variable the generated grub.cfg appends to every kernel line (grub-templates/grub.cfg.j2).
_ONCE_VARIABLE = "sik_once_args"


@dataclass(frozen=True)
class Trial:
    """How to boot: firmware, limits, and what else counts as userspace."""

    firmware: Firmware = Firmware.uefi
    timeout: float = 300
    memory_mb: int = 2048
    expect: tuple[str, ...] = ()  # a system's own line that proves userspace
    gui: bool = False
    secure_boot: bool = False  # UEFI with Secure Boot on and Microsoft's keys, as PCs ship


@dataclass(frozen=True)
class TryResult:
    choice: MenuChoice
    firmware: Firmware
    verdict: Verdict
    seconds: float
    accel: str  # "kvm" or "tcg"
    log: Path | None  # the console log, when kept

    @property
    def ok(self) -> bool:
        return self.verdict.stop is None

    def json(self) -> dict[str, object]:
        return {
            "entry": self.choice.title,
            "id": self.choice.path,
            "firmware": str(self.firmware),
            "stage": str(self.verdict.stage),
            "stopped": str(self.verdict.stop) if self.verdict.stop else None,
            "reason": self.verdict.reason,
            "seconds": round(self.seconds, 1),
            "accelerator": self.accel,
            "evidence": list(self.verdict.evidence),
        }


def choices_on(opened: StickDisk) -> tuple[MenuChoice, ...]:
    """The entries the stick's GRUB shows: grub.cfg's, then the user's custom.cfg's."""
    stick = opened.stick
    try:
        text = stick.grub_cfg.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise SikError("the stick has no menu yet", hint="run `sik generate`") from None
    if _ONCE_VARIABLE not in text:
        raise SikError("the menu on the stick was written by an older sik", hint="run `sik generate`")
    custom = stick.custom_cfg.read_text(errors="replace") if stick.custom_cfg.is_file() else ""
    return menu_choices(text) + menu_choices(custom)


def try_entries(
    opened: StickDisk,
    choices: tuple[MenuChoice, ...],
    trial: Trial,
    *,
    echo: Echo | None = None,
    keep_logs: Path | None = None,
) -> list[TryResult]:
    """Boot each of ``choices`` in turn, each on a fresh overlay of the stick."""
    stick = opened.stick
    if not stick.grubenv.is_file():
        raise SikError("the stick has no grubenv", hint="run `sik install --update` on it")
    offset = locate(stick.grubenv, stick.fs, opened.disk, opened.data_start)
    current = decode(stick.grubenv.read_bytes())
    results = []
    for choice in choices:
        env = encode(current | {"next_entry": choice.path, "next_args": " ".join(ONCE_ARGS)})
        results.append(_try_one(opened.disk, offset, env, choice, trial, echo, keep_logs))
    return results


def _try_one(
    disk: Path,
    offset: int,
    env: bytes,
    choice: MenuChoice,
    trial: Trial,
    echo: Echo | None,
    keep_logs: Path | None,
) -> TryResult:
    with tempfile.TemporaryDirectory(prefix="sik-try-") as tmp:
        overlay = make_overlay(disk, Path(tmp) / "stick.qcow2")
        write_into(overlay, offset, env)
        if read_from(overlay, offset, len(env)) != env:
            raise SikError("the VM's overlay did not take the one-time menu choice")
        log_dir = keep_logs if keep_logs is not None else Path(tmp)
        log_path = log_dir / f"{_file_name(choice.path)}.{trial.firmware}.log"
        result = boot(
            Disk(overlay, "qcow2"),
            trial.firmware,
            lambda text: finished(text, trial.expect),
            timeout=trial.timeout,
            log_path=log_path,
            memory_mb=trial.memory_mb,
            sercon=True,
            echo=echo,
            gui=trial.gui,
            secboot_vars=ovmf_secboot()[1] if trial.secure_boot else None,
        )
    verdict = judge(result.log, timed_out=result.seconds >= trial.timeout, extra=trial.expect)
    kept = log_path if keep_logs is not None else None
    return TryResult(choice, trial.firmware, verdict, result.seconds, result.accel, kept)


def _file_name(path: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in path)
