"""ISO paths on the kernel command line (issue 13, item 10): GRUB puts a backslash before every
\\, ' and " when it builds the command line, so a name holding one gets no entry, with the
reason, for every method that puts the path there (the loopback.cfg hand-over included). Names
that merely look odd ($, ;, #, non-ASCII) keep their entry; tests/boot/test_odd_names.py boots
one."""

from __future__ import annotations

import json

import pytest

from sik.core.stick import Stick
from tests.clirun import sik
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, LOOPBACK, build_iso

LAYOUTS = {"live-boot": DEBIAN_LIVE, "dracut-live": FEDORA_LIVE, "loopback.cfg": LOOPBACK}
REASON = "cannot find an ISO whose path contains white space, a quote or a backslash: rename the file"


@pytest.mark.parametrize("method", sorted(LAYOUTS))
def test_quote_and_backslash_in_a_name_get_no_entry(stick: Stick, method: str) -> None:
    for name in ("it's.iso", "back\\slash.iso", "odd $x;y #z é.iso".replace(" ", "_")):
        build_iso(stick.iso_dir / name, LAYOUTS[method])
    rows = {r["file"]: r for r in json.loads(sik("list", "--stick", stick.root, "--json").stdout)}
    for name in ("it's.iso", "back\\slash.iso"):
        # The later rungs (virtual CD, in RAM) say why they cannot help either: these
        # layouts' initrds are placeholders. tests/boot/test_odd_names.py has a real one.
        assert rows[name]["entry"] is None and f"{method} {REASON}" in rows[name]["notes"][0]
    assert rows["odd_$x;y_#z_é.iso"]["entry"] is not None
