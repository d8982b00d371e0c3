"""Commands of the customisations: extension build/list/remove, home create, persist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sik.cli.common import ImageOpt, JsonOpt, StickOpt, app, console, parse_size, report_generated

extension_app = typer.Typer(help="Build, list and remove ExtensionImages (merged into /usr and /opt).")
home_app = typer.Typer(help="The persistent $HOME shared by every booted system.")
app.add_typer(extension_app, name="extension")
app.add_typer(home_app, name="home")


@extension_app.command("build")
def extension_build(
    directory: Annotated[Path, typer.Argument(help="A tree holding only usr/ and opt/.")],
    name: Annotated[str, typer.Option("--name", help="The extension's name.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write here instead of the stick.", metavar="FILE"),
    ] = None,
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Build an ExtensionImage (a systemd-sysext squashfs image), onto the stick by default."""
    from sik.customize.extensions import build_extension, check_name, check_tree, extension_path
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import regenerate

    check_name(name)
    check_tree(directory)
    if output is not None:
        build_extension(directory, name, output)
        console.print(f"✓ wrote {output}")
        return
    from sik.files.manifest import record_files

    with open_stick(image, stick) as opened:
        opened.claim()
        written = build_extension(directory, name, extension_path(opened, name))
        record_files(opened, [written])  # so `sik verify` knows it
        console.print(f"✓ wrote {opened.on_stick(written)}")
        raise typer.Exit(report_generated(regenerate(opened)))


@extension_app.command("list")
def extension_list(image: ImageOpt = None, stick: StickOpt = None, as_json: JsonOpt = False) -> None:
    """Show the ExtensionImages on the stick."""
    from sik.customize.extensions import list_extensions
    from sik.drive.open_stick import open_stick

    with open_stick(image, stick) as opened:
        found = list_extensions(opened)
    if as_json:
        typer.echo(json.dumps([{"name": e.name, "size": e.size} for e in found], indent=2))
        return
    if not found:
        console.print("No ExtensionImages in /boot/extensions.")
    for ext in found:
        typer.echo(f"{ext.name}  {ext.size / 2**20:.1f} MiB")


@extension_app.command("remove")
def extension_remove(
    name: Annotated[str, typer.Argument(help="The extension's name (see `sik extension list`).")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Delete an ExtensionImage from the stick."""
    from sik.customize.extensions import remove_extension
    from sik.drive.open_stick import open_stick
    from sik.files.manifest import forget
    from sik.menu.generate import regenerate

    with open_stick(image, stick) as opened:
        removed = remove_extension(opened, name)
        forget(opened, [removed])
        console.print(f"✓ removed {opened.on_stick(removed)}")
        raise typer.Exit(report_generated(regenerate(opened)))


@home_app.command("create")
def home_create(
    size: Annotated[str, typer.Option("--size", help="Size of the home image, e.g. 4G.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Create /home.img: an ext4 image mounted on /home in every booted system."""
    from sik.customize.home import create_home
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import regenerate

    with open_stick(image, stick) as opened:
        created = create_home(opened, parse_size(size))
        console.print(f"✓ created {opened.on_stick(created)} ({size})")
        raise typer.Exit(report_generated(regenerate(opened)))


@app.command()
def persist(
    iso: Annotated[str, typer.Argument(help="An ISO file name in /boot/iso.")],
    size: Annotated[str, typer.Option("--size", help="Size of the persistence store, e.g. 2G.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Create the distribution's own persistence for one ISO, where it has one."""
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import create_persistence_for, regenerate

    with open_stick(image, stick) as opened:
        created, method = create_persistence_for(opened, Path(iso).name, parse_size(size))
        console.print(f"✓ created {opened.on_stick(created)} for {Path(iso).name} ({method})")
        raise typer.Exit(report_generated(regenerate(opened)))
