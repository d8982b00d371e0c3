"""Commands that boot a stick in a virtual machine: try."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sik.cli.common import ImageOpt, JsonOpt, StickOpt, app, console, printable
from sik.core.errors import SikError
from sik.core.model import Firmware

if TYPE_CHECKING:
    from sik.vm.trial import TryResult

_COLUMNS = ("entry", "firmware", "furthest stage", "seconds", "reason")


@app.command("try")
def try_(
    entry: Annotated[
        str | None,
        typer.Argument(help="Entry id, title (or a unique part of it) or ISO file name."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Boot every entry that opens an ISO.")] = False,
    image: ImageOpt = None,
    stick: StickOpt = None,
    timeout: Annotated[
        int, typer.Option("--timeout", help="Seconds to wait for each boot.", metavar="SECONDS")
    ] = 300,
    bios: Annotated[
        bool, typer.Option("--bios", help="Boot with legacy BIOS (SeaBIOS), not UEFI.")
    ] = False,
    gui: Annotated[bool, typer.Option("--gui", help="Show the VM's screen in a window.")] = False,
    secure_boot: Annotated[
        bool, typer.Option("--secure-boot", help="UEFI with Secure Boot on, as PCs ship it.")
    ] = False,
    memory: Annotated[
        int, typer.Option("--memory", help="The VM's memory in MiB.", metavar="MIB")
    ] = 2048,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            help="A line the system prints once booted (counts as userspace).",
            metavar="TEXT",
        ),
    ] = None,
    logs: Annotated[
        Path | None, typer.Option("--logs", help="Keep each boot's console log in DIR.", metavar="DIR")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Boot an entry of the stick in QEMU, without writing the stick, and tell how far it got."""
    from sik.drive.open_stick import open_stick_disk
    from sik.menu.entries import pick
    from sik.vm.trial import Trial, choices_on, try_entries

    if (entry is None) == (not every):
        raise SikError("name one ENTRY, or give --all")
    if bios and secure_boot:
        raise SikError("Secure Boot is UEFI's: give --bios or --secure-boot, not both")
    firmware = Firmware.bios if bios else Firmware.uefi
    trial = Trial(firmware, timeout, memory, tuple(expect or ()), gui, secure_boot)
    live = not every and not as_json
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    with open_stick_disk(image, stick) as opened:
        choices = choices_on(opened)
        chosen = (
            tuple(c for c in choices if c.iso is not None) if every else (pick(choices, entry or ""),)
        )
        if not chosen:
            raise SikError("the stick's menu has no entry that opens an ISO", hint="run `sik add ISO`")
        for choice in chosen:
            console.print(f"• booting {printable(choice.title)} ({trial.firmware})")
        results = try_entries(opened, chosen, trial, echo=_show if live else None, keep_logs=logs)
    if as_json:
        typer.echo(json.dumps([r.json() for r in results], indent=2, ensure_ascii=False))
    elif every:
        _table(results)
    else:
        _verdict(results[0])
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _show(text: str) -> None:
    from sik.vm.console import clean

    sys.stderr.write(clean(text))
    sys.stderr.flush()


def _verdict(result: TryResult) -> None:
    verdict = result.verdict
    console.print()
    if result.ok:
        console.print(f"✓ {printable(result.choice.title)}: reached userspace", style="green")
    else:
        console.print(f"✗ {printable(result.choice.title)}: {verdict.reason}", style="red")
        for line in verdict.evidence:
            console.print(f"  | {printable(line)}", style="dim")
    console.print(
        f"  furthest stage: {verdict.stage}; {result.seconds:.0f} s under {_accel(result.accel)}"
    )


def _accel(name: str) -> str:
    return "KVM" if name == "kvm" else "TCG (no usable KVM: slower)"


def _table(results: list[TryResult]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="sik try --all", title_justify="left")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for r in results:
        style = "green" if r.ok else "red"
        cells = (printable(r.choice.title), str(r.firmware), str(r.verdict.stage), f"{r.seconds:.0f}")
        table.add_row(*(Text(c) for c in cells), Text(r.verdict.reason, style=style))
    console.print(table)
    if results:
        console.print(f"under {_accel(results[0].accel)}")
