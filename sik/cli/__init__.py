"""sik's command line: thin typer commands, one module per region they drive (drive, files,
menu, customisations). A command parses its options, calls library functions and prints; the
one place errors become a red line and an exit code is sik/__main__.py."""

import importlib

from sik.cli.common import app, console

# Each module registers its commands on `app` when imported, in this order: that of `sik --help`.
for _region in ("drive", "files", "menu", "customize", "secureboot", "vm"):
    importlib.import_module(f"sik.cli.{_region}")

__all__ = ["app", "console"]
