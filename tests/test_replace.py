"""`sik remove` and `sik replace` on a real image: the ISO files, the manifest, SHA256SUMS, the
menu and the persistence stores stay in step (`sik verify` passes after each)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sik.cli import app
from sik.core.errors import SikError
from sik.drive.open_stick import open_stick
from sik.files.manifest import load_manifest
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, build_iso

pytestmark = pytest.mark.root

OLD = "debian-live-12.11.0-amd64.iso"
NEWER = "debian-live-12.12.0-amd64.iso"
FEDORA = "Fedora-Workstation-Live-x86_64-40-1.14.iso"


def sik(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def refused(result: Result) -> str:
    """The error's message and hint, as the one red line and hint a user sees."""
    assert result.exit_code == 1 and isinstance(result.exception, SikError), result.output
    return f"{result.exception.message} ({result.exception.hint})"


def ok(*args: str | Path) -> Result:
    result = sik(*args)
    assert result.exit_code == 0, f"sik {args[0]}: {result.output}{result.exception or ''}"
    return result


@dataclass(frozen=True)
class Files:
    image: Path
    old: Path
    newer: Path  # a later release of the same distribution (same boot method)
    fedora: Path  # another distribution, which boots another way
    same_name: Path  # a different ISO under OLD's name


@pytest.fixture
def files(tmp_path: Path) -> Files:
    sources = tmp_path / "sources"
    (sources / "again").mkdir(parents=True)
    newer_live: dict[str, bytes | str] = dict(DEBIAN_LIVE)
    newer_live[".disk/info"] = 'Debian GNU/Linux 12.12.0 "Bookworm" - Official amd64 LIVE\n'
    found = Files(
        image=tmp_path / "sik.img",
        old=build_iso(sources / OLD, DEBIAN_LIVE, volume_id="d-live 12.11.0 ld amd64"),
        newer=build_iso(sources / NEWER, newer_live, volume_id="d-live 12.12.0 ld amd64"),
        fedora=build_iso(sources / FEDORA, FEDORA_LIVE, volume_id="Fedora-WS-Live-40-1-14"),
        same_name=build_iso(sources / "again" / OLD, newer_live, volume_id="d-live 12.12.0 ld amd64"),
    )
    ok("install", "--image", found.image, "--size", "300M")
    ok("add", "--image", found.image, found.old)
    return found


def look(files: Files) -> dict[str, object]:
    """What is on the stick: ISO names, manifest keys, SHA256SUMS names, menu ISOs, stores."""
    menu = sorted(Path(str(r["file"])).name for r in _list(files) if r["status"] != "unsupported")
    with open_stick(files.image, None) as stick:  # one mount at a time: never two of one image
        sums = stick.sums_file.read_text().splitlines()
        return {
            "isos": sorted(p.name for p in stick.iso_dir.iterdir()),
            "manifest": sorted(Path(k).name for k in load_manifest(stick).files),
            "sums": sorted(Path(line.split("  ", 1)[1]).name for line in sums),
            "menu": menu,
            "stores": sorted(p.name for p in stick.persist_root.iterdir())
            if stick.persist_root.is_dir()
            else [],
            "journal": stick.replace_journal.exists(),
        }


def _list(files: Files) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(ok("list", "--image", files.image, "--json").stdout)
    return rows


def _customizations(files: Files) -> list[str]:
    (row,) = _list(files)
    items = row["customizations"]
    assert isinstance(items, list)
    return [str(item) for item in items]


def in_step(files: Files, *names: str, stores: tuple[str, ...] = ()) -> None:
    state = look(files)
    want = sorted(names)
    expected = {"isos": want, "manifest": want, "sums": want, "menu": want}
    assert state == expected | {"stores": sorted(stores), "journal": False}
    ok("verify", "--image", files.image)


def test_remove_takes_the_file_its_record_and_its_entry(files: Files) -> None:
    ok("add", "--image", files.image, files.fedora)
    result = ok("remove", "--image", files.image, OLD)
    assert f"removed {OLD}" in result.output
    in_step(files, FEDORA)


def test_remove_refuses_a_name_not_on_the_stick_and_lists_those_that_are(files: Files) -> None:
    error = refused(sik("remove", "--image", files.image, "ubuntu.iso"))
    assert "ubuntu.iso is not on the stick" in error and OLD in error
    in_step(files, OLD)


def test_remove_asks_before_deleting_a_persistence_store(files: Files) -> None:
    ok("persist", OLD, "--size", "16M", "--image", files.image)
    stem = OLD.removesuffix(".iso")
    # No terminal to ask on (CliRunner's stdin is not a TTY): refused, nothing removed.
    assert "--keep-persistence" in refused(sik("remove", "--image", files.image, OLD))
    ok("remove", "--image", files.image, OLD, "--keep-persistence")
    in_step(files, stores=(stem,))


def test_remove_yes_deletes_the_persistence_store(files: Files) -> None:
    ok("persist", OLD, "--size", "16M", "--image", files.image)
    ok("remove", "--image", files.image, OLD, "--yes")
    in_step(files)


def test_replace_by_a_newer_release_moves_its_persistence(files: Files) -> None:
    ok("persist", OLD, "--size", "16M", "--image", files.image)
    result = ok("replace", "--image", files.image, OLD, files.newer)
    assert f"replaced {OLD} with {NEWER}" in result.output
    assert "moved to the new ISO" in result.output
    in_step(files, NEWER, stores=(NEWER.removesuffix(".iso"),))
    # A star: the stick holds a store for this ISO, which its entry turns on.
    assert "persistence*" in _customizations(files), "the new ISO's entry does not use the store"


def test_replace_by_another_boot_method_keeps_the_store_aside(files: Files) -> None:
    ok("persist", OLD, "--size", "16M", "--image", files.image)
    result = ok("replace", "--image", files.image, OLD, files.fedora)
    assert "kept aside" in result.output
    in_step(files, FEDORA, stores=(OLD.removesuffix(".iso") + ".kept",))
    assert "persistence" in _customizations(files), "dracut-live has persistence of its own"


def test_replace_under_the_same_name_swaps_the_content(files: Files, tmp_path: Path) -> None:
    ok("persist", OLD, "--size", "16M", "--image", files.image)
    ok("replace", "--image", files.image, OLD, files.same_name)
    in_step(files, OLD, stores=(OLD.removesuffix(".iso"),))
    with open_stick(files.image, None) as stick:
        assert (stick.iso_dir / OLD).read_bytes() == files.same_name.read_bytes()
    assert _list(files)[0]["version"] == "12.12.0"


def test_replace_refuses_an_unknown_old_name_or_a_file_that_is_no_iso(
    files: Files, tmp_path: Path
) -> None:
    unknown = refused(sik("replace", "--image", files.image, "ubuntu.iso", files.newer))
    assert "ubuntu.iso is not on the stick" in unknown
    junk = tmp_path / NEWER
    junk.write_bytes(b"not an ISO" * 10000)
    assert "ISO 9660" in refused(sik("replace", "--image", files.image, OLD, junk))
    in_step(files, OLD)
    with open_stick(files.image, None) as stick:
        assert not list(stick.iso_dir.glob(".*")), "the refused copy left a file behind"
