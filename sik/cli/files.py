"""Commands of the files on a stick: add, verify, remove, replace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sik.cli.common import ImageOpt, StickOpt, app, console, printable, progress_bars, report_generated
from sik.core.errors import SikError


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="ISO files to copy to /boot/iso.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Copy ISO files onto the stick, then regenerate the menu."""
    from sik.drive.open_stick import open_stick
    from sik.files.add import add_isos
    from sik.menu.generate import regenerate

    with open_stick(image, stick) as opened:
        with progress_bars() as bar:
            add_isos(
                opened,
                files,
                progress_for=lambda job: bar(job.source.name, job.size),
                copied=lambda job: console.print(f"✓ copied {job.source.name}"),
            )
        result = regenerate(opened)
    raise typer.Exit(report_generated(result))


@app.command()
def verify(
    image: ImageOpt = None,
    stick: StickOpt = None,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="A distribution's SHA256SUMS file.", metavar="FILE"),
    ] = None,
    signature: Annotated[
        Path | None,
        typer.Option("--signature", help="Detached OpenPGP signature of it.", metavar="SIG"),
    ] = None,
    keyring: Annotated[
        Path | None,
        typer.Option("--keyring", help="Keys for --signature (not .kbx).", metavar="K"),
    ] = None,
    record_new: Annotated[
        bool,
        typer.Option("--record", help="Add unrecorded files to the manifest as they are now."),
    ] = False,
) -> None:
    """Check every ISO and ExtensionImage against the manifest (and a distribution's sums)."""
    from sik.drive.open_stick import open_stick
    from sik.files.verify import read_sums, total_bytes, verify_all

    if against is None and (signature is not None or keyring is not None):
        raise SikError("--signature and --keyring go together, with --against")
    sums = None
    if against is not None:
        sums, signer = read_sums(against, signature, keyring)
        if signer is not None:
            console.print(f"✓ {against.name}: good signature by {signer}", style="green")
    with open_stick(image, stick) as opened, progress_bars() as bar:
        progress = bar("verifying", total_bytes(opened))
        result = verify_all(opened, sums, record_new=record_new, progress=progress)
    if result.recorded:
        console.print(f"✓ recorded {result.recorded} file(s) in the manifest")
    for finding in result.findings:
        style = "red" if finding.status.is_problem() else "green"
        detail = f": {finding.detail}" if finding.detail else ""
        console.print(f"{finding.status}: {finding.path}{detail}", style=style)
    if result.problems:
        raise SikError(f"{len(result.problems)} problem(s) found", hint="re-copy the files named above")
    console.print(f"✓ {result.checked} file(s) intact", style="green")


@app.command()
def remove(
    name: Annotated[str, typer.Argument(help="File name of an ISO in /boot/iso.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete its persistence store without asking.")
    ] = False,
    keep_persistence: Annotated[
        bool, typer.Option("--keep-persistence", help="Keep its persistence store on the stick.")
    ] = False,
) -> None:
    """Delete an ISO from the stick, with its manifest record and menu entry."""
    from sik.drive.open_stick import open_stick
    from sik.files.replace import remove_iso
    from sik.menu.generate import regenerate

    if yes and keep_persistence:
        raise SikError("--yes deletes the persistence store, --keep-persistence keeps it: give one")

    def drop(store: Path) -> bool:
        if keep_persistence or yes:
            return yes
        if not sys.stdin.isatty():
            raise SikError(
                f"{printable(name)} has a persistence store ({store.name}); not deleting it unasked",
                hint="pass --yes to delete it, or --keep-persistence to keep it",
            )
        return typer.confirm(f"Delete its persistence store {store} (changes saved in its live system)?")

    with open_stick(image, stick) as opened:
        kept = remove_iso(opened, name, drop_store=drop)
        console.print(f"✓ removed {printable(Path(name).name)}")
        if kept is not None:
            console.print(f"  kept its persistence store: {opened.on_stick(kept)}")
        result = regenerate(opened)
    raise typer.Exit(report_generated(result))


@app.command()
def replace(
    old: Annotated[str, typer.Argument(help="File name of the ISO in /boot/iso to replace.")],
    new: Annotated[Path, typer.Argument(help="The ISO file to put in its place.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Put a newer ISO in the place of one on the stick, safely, keeping its persistence."""
    from sik.drive.open_stick import open_stick
    from sik.files.replace import Carry, replace_iso
    from sik.menu.generate import regenerate

    with open_stick(image, stick) as opened:
        with progress_bars() as bar:
            done = replace_iso(
                opened, old, new, progress=bar(new.name, new.stat().st_size if new.is_file() else 0)
            )
        console.print(f"✓ replaced {printable(done.old.name)} with {printable(done.new.name)}")
        if done.store is not None:
            where = opened.on_stick(done.store)
            style = "yellow" if done.carry is Carry.aside else None
            console.print(f"  persistence store {done.carry}: {where}", style=style)
        result = regenerate(opened)
    raise typer.Exit(report_generated(result))
