"""Boot a disk in QEMU and read its serial console: the one harness behind `sik try` and the
boot tests.

Nothing here skips: a missing QEMU or OVMF is an error with the package to install, because a
boot that quietly does not run proves nothing.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sik.core.errors import ToolError
from sik.core.model import Firmware
from sik.core.run import clean_env, find_tool, run

# (code, vars) pairs as distributions ship them: Debian/Ubuntu 4M and 2M builds, Fedora, Arch.
# The plain (not .secboot/.ms) builds: Secure Boot off, no SMM needed, so an unsigned GRUB runs.
_OVMF_CANDIDATES = (
    ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
    ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
    ("/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"),
    ("/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"),
)
# Secure Boot firmware as PCs ship it: the SMM build, with Microsoft's keys enrolled in the
# variable store and Secure Boot on (Debian's ovmf; Fedora's edk2-ovmf names them alike).
_SECBOOT_CANDIDATES = (
    ("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"),
    ("/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"),
)
# The owner GUID shim gives the MOKs it enrols (shim's SHIM_LOCK_GUID).
SHIM_GUID = "605dab50-e046-4300-abb6-3dd810dd8b23"
_POLL_SECONDS = 0.1
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_DISPLAY_ENV = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR")

# Debian's kernel zeroes every page it hands out (init_on_alloc) with `rep stosb` when the CPU
# advertises ERMS; under TCG that path is slow enough to stall a live-boot system for ~55 s
# after switch_root. Hiding the flag changes the virtual CPU, not the boot code under test.
TCG_CPU = "max,-erms"

Popen = subprocess.Popen[bytes]
# Called with each piece of console output as it arrives (`sik try` shows it live).
Echo = Callable[[str], None]
# Called with the whole console output so far: True ends the boot.
Done = Callable[[str], bool]


@dataclass(frozen=True)
class BootResult:
    found: bool  # whether the boot reached what the caller waited for
    seconds: float  # from QEMU's start to that point (or to the end of waiting)
    log: str
    log_path: Path
    accel: str = "tcg"  # "kvm" or "tcg": what this boot ran on


@dataclass(frozen=True)
class Disk:
    """The one disk of the VM: a raw image, a device, or a qcow2 overlay of either."""

    path: Path
    format: str = "raw"
    snapshot: bool = False  # QEMU's own throw-away overlay: the file is never written
    # How it is attached: "virtio" (the quickest), "usb" (USB mass storage behind an xHCI
    # controller, as a stick is plugged in; SeaBIOS and OVMF boot from it), "usb-cd" (a CD in a
    # USB drive on that controller: a SCSI CD-ROM behind usb-bot).
    bus: str = "virtio"

    def argv(self) -> list[str]:
        snapshot = ",snapshot=on" if self.snapshot else ""
        if self.bus == "usb":
            drive = f"if=none,id=stick,file={self.path},format={self.format}{snapshot}"
            return [
                "-device",
                "qemu-xhci",
                "-drive",
                drive,
                "-device",
                "usb-storage,drive=stick,bootindex=0",
            ]
        if self.bus == "usb-cd":
            drive = f"if=none,id=cd,file={self.path},format={self.format},media=cdrom,readonly=on"
            return ["-device", "qemu-xhci", "-device", "usb-bot,id=bot", "-drive", drive,
                    "-device", "scsi-cd,bus=bot.0,drive=cd,bootindex=0"]  # fmt: skip
        return ["-drive", f"file={self.path},format={self.format},if=virtio{snapshot}"]


def accelerator() -> str:
    """The accelerator to boot with: "kvm" only where KVM can run firmware, else "tcg".

    PVM (a paravirtualised KVM for nested guests, /sys/module/kvm_pvm) opens /dev/kvm fine
    but cannot run real-mode firmware or boot loaders, so it counts as no KVM.
    """
    if Path("/sys/module/kvm_pvm").exists():
        return "tcg"
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return "tcg"
    os.close(fd)
    return "kvm"


def ovmf() -> tuple[Path, Path]:
    """OVMF's code and variable-store templates, or an error naming the package."""
    for code, variables in _OVMF_CANDIDATES:
        if Path(code).is_file() and Path(variables).is_file():
            return Path(code), Path(variables)
    raise ToolError("OVMF (UEFI firmware for QEMU) is not installed", hint="install ovmf (edk2-ovmf)")


def ovmf_secboot() -> tuple[Path, Path]:
    """The Secure Boot OVMF build and its variable store with Microsoft's keys enrolled."""
    for code, variables in _SECBOOT_CANDIDATES:
        if Path(code).is_file() and Path(variables).is_file():
            return Path(code), Path(variables)
    raise ToolError("OVMF's Secure Boot build is not installed", hint="install ovmf (edk2-ovmf)")


def vars_with_moks(dest: Path, certificates: list[Path]) -> Path:
    """A copy of the Microsoft-keys variable store with ``certificates`` enrolled as MOKs, as
    MokManager would leave them (virt-fw-vars, PyPI virt-firmware)."""
    tool = Path(sys.executable).with_name("virt-fw-vars")
    if not tool.is_file():
        raise ToolError("virt-fw-vars is missing", hint="pip install virt-firmware (in .venv)")
    argv: list[str | os.PathLike[str]] = [tool, "-i", ovmf_secboot()[1], "-o", dest]
    for cert in certificates:
        argv += ["--add-mok", SHIM_GUID, cert]
    run(argv, capture=True)
    return dest


def _qemu() -> Path:
    return find_tool(
        "qemu-system-x86_64", reason="boot a stick in a virtual machine", hint="install qemu-system-x86"
    )


def _secboot_args(workdir: Path, template: Path) -> list[str]:
    code, _ = ovmf_secboot()
    variables = workdir / "OVMF_VARS.secboot.fd"
    shutil.copyfile(template, variables)
    return [
        "-global", "driver=cfi.pflash01,property=secure,value=on",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
        "-drive", f"if=pflash,format=raw,unit=1,file={variables}",
    ]  # fmt: skip


def _firmware_args(firmware: Firmware, workdir: Path, sercon: bool = False) -> list[str]:
    if firmware is Firmware.bios:
        if not sercon:
            return []  # QEMU's default firmware is SeaBIOS
        # SeaBIOS's serial console: the BIOS's own text output (INT 10h), which programs such as
        # iPXE use, is copied to the first serial port (SeaBIOS's etc/sercon-port, a binary int).
        port = workdir / "sercon-port"
        port.write_bytes((0x3F8).to_bytes(2, "little"))
        return ["-fw_cfg", f"name=etc/sercon-port,file={port}"]
    code, template = ovmf()
    # Each run writes its own copy of the variable store (boot entries OVMF adds), so runs
    # neither share state nor touch the installed template.
    variables = workdir / "OVMF_VARS.fd"
    shutil.copyfile(template, variables)
    return [
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
        "-drive", f"if=pflash,format=raw,unit=1,file={variables}",
    ]  # fmt: skip


def machine_argv(
    firmware: Firmware,
    workdir: Path,
    memory_mb: int,
    *,
    sercon: bool = False,
    gui: bool = False,
    accel: str | None = None,
    secboot_vars: Path | None = None,
) -> list[str]:
    """QEMU and the machine every boot uses (q35, the accelerator, CPU, memory, firmware, the
    screen), without default devices: the caller adds the disks and the serial port."""
    accel = accel or accelerator()
    screen = ["-display", "gtk", "-vga", "std"] if gui else ["-display", "none", "-vga", "none"]
    if secboot_vars is not None:
        # Secure Boot: OVMF keeps its variables safe from the OS only in SMM.
        machine, firmware_args = "q35,smm=on", _secboot_args(workdir, secboot_vars)
    else:
        machine, firmware_args = "q35", _firmware_args(firmware, workdir, sercon)
    return [
        os.fspath(_qemu()),
        "-machine", machine,
        "-accel", accel,
        "-cpu", "host" if accel == "kvm" else TCG_CPU,
        "-m", str(memory_mb),
        *firmware_args,
        *screen, "-nodefaults", "-monitor", "none",
        "-no-reboot",
    ]  # fmt: skip


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return ""


def spawn(argv: list[str], stdout: int | IO[bytes], stderr: IO[bytes], gui: bool = False) -> Popen:
    """Start QEMU: no input, a clean environment, and an end when this process ends."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=_env(gui),
        preexec_fn=_die_with_parent,
    )


def stop(process: Popen) -> None:
    """Stop QEMU (politely first) and wait for it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def boot_until(
    image: Path,
    firmware: Firmware,
    marker: str,
    *,
    timeout: float,
    log_path: Path,
    memory_mb: int = 1024,
    snapshot: bool = True,
    sercon: bool = False,
    poweroff_grace: float = 0,
    secboot_vars: Path | None = None,
    then: str | None = None,
    bus: str = "virtio",
) -> BootResult:
    """Boot the raw disk ``image`` under ``firmware`` until ``marker`` shows on the serial
    console, QEMU exits, or ``timeout`` seconds pass (see ``boot``). With ``then``, the marker
    counts only once ``then`` has shown after it. ``bus``: see Disk."""
    return boot(
        Disk(image, snapshot=snapshot, bus=bus),
        firmware,
        lambda text: _seen(text, marker, then),
        timeout=timeout,
        log_path=log_path,
        memory_mb=memory_mb,
        sercon=sercon,
        poweroff_grace=poweroff_grace,
        secboot_vars=secboot_vars,
    )


def _seen(text: str, marker: str, then: str | None) -> bool:
    at = text.find(marker)
    return at >= 0 and (then is None or then in text[at + len(marker) :])


def boot(
    disk: Disk,
    firmware: Firmware,
    done: Done,
    *,
    timeout: float,
    log_path: Path,
    memory_mb: int = 1024,
    sercon: bool = False,
    poweroff_grace: float = 0,
    echo: Echo | None = None,
    gui: bool = False,
    secboot_vars: Path | None = None,
) -> BootResult:
    """Boot ``disk`` under ``firmware`` until ``done`` says yes to the serial console's text,
    QEMU exits, or ``timeout`` seconds pass; QEMU is stopped in every case and the log
    returned. ``sercon`` copies SeaBIOS's screen output to the serial port too (no effect under
    UEFI, whose console already is the serial port when QEMU has no display). ``poweroff_grace``
    seconds after ``done`` let the system sync and power off by itself (the fixtures do) before
    QEMU is stopped, for callers that read what it wrote. ``echo`` hears the console as it
    comes; ``gui`` opens a window on the VM's screen; ``secboot_vars`` boots the Secure Boot
    firmware with a copy of that variable store (UEFI only)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(b"")
    accel = accelerator()
    with tempfile.TemporaryDirectory(prefix="sik-qemu-") as tmp:
        machine = machine_argv(
            firmware,
            Path(tmp),
            memory_mb,
            sercon=sercon,
            gui=gui,
            accel=accel,
            secboot_vars=secboot_vars,
        )
        argv = [*machine, *disk.argv(), "-serial", f"file:{log_path}"]
        stderr_path = Path(tmp, "stderr")
        start = time.monotonic()
        with stderr_path.open("wb") as stderr:
            process = spawn(argv, stdout=stderr, stderr=stderr, gui=gui)
        try:
            found = _watch(process, log_path, done, start + timeout, echo)
            if found and poweroff_grace:
                try:
                    process.wait(timeout=poweroff_grace)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            stop(process)
        seconds = time.monotonic() - start
        problems = _read(stderr_path).strip()
    log = _read(log_path)
    if problems and not found:
        log += f"\n--- qemu stderr (exit {process.returncode}) ---\n{problems}\n"
    return BootResult(found=found, seconds=seconds, log=log, log_path=log_path, accel=accel)


def _die_with_parent() -> None:
    """In the child, before QEMU starts: the kernel ends it when sik ends, however sik ends
    (a killed `sik try` must not leave a VM running)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _env(gui: bool) -> dict[str, str]:
    if not gui:
        return clean_env()
    # The window needs the user's display.
    return clean_env({k: v for k, v in os.environ.items() if k in _DISPLAY_ENV})


def _watch(
    process: subprocess.Popen[bytes], log_path: Path, done: Done, deadline: float, echo: Echo | None
) -> bool:
    shown = 0
    while True:
        text = _read(log_path)
        if echo is not None and len(text) > shown:
            echo(text[shown:])
            shown = len(text)
        if done(text):
            return True
        if process.poll() is not None or time.monotonic() > deadline:
            # One last look: QEMU may have written the last lines just before exiting.
            text = _read(log_path)
            if echo is not None and len(text) > shown:
                echo(text[shown:])
            return done(text)
        time.sleep(_POLL_SECONDS)
