"""The dataclass <-> JSON codec (sik/core/codec.py): what goes out comes back equal, and
what does not fit the declared types is refused."""

from __future__ import annotations

import json

import pytest

from sik.core.codec import DecodeError, decode, encode
from sik.core.model import Plan
from tests.test_render import sample_plan


def test_a_plan_round_trips_through_json() -> None:
    """Submenus and entries (a union told apart by "kind"), enums, paths, tuples, options."""
    plan = sample_plan()
    text = json.dumps(encode(plan), sort_keys=True)
    assert decode(Plan, json.loads(text)) == plan
    assert '"kind": "Submenu"' in text and '"kind": "BootEntry"' in text


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["items"][0].update(kind="Nonsense"),
        lambda d: d["options"].update(timeout="5"),
        lambda d: d["items"][1].update(method="no-such-method"),
        lambda d: d["items"][1].update(unexpected=1),
        lambda d: d["items"][1].pop("title"),
        lambda d: d.update(items={}),
    ],
)
def test_what_does_not_fit_is_refused(damage: object) -> None:
    raw = encode(sample_plan())
    damage(raw)  # type: ignore[operator]
    with pytest.raises(DecodeError):
        decode(Plan, raw)
