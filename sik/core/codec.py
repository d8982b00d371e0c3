"""Frozen dataclasses <-> JSON values, checked on the way back: what sik keeps on a stick (the
scan cache) and what it shows of a plan are its own dataclasses, and a file on a stick is
untrusted input, so decoding refuses anything that does not fit the declared types exactly.

Supported field types: str, int, bool, None, enums, PurePosixPath, ``tuple[X, ...]``,
frozenset of str, nested dataclasses, and unions of these. A union of several dataclasses is
told apart by a ``"kind"`` member holding the class name, which ``encode`` adds where the
declared type needs it.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from enum import Enum
from pathlib import PurePosixPath
from typing import Any, Union, get_args, get_origin, get_type_hints


class DecodeError(ValueError):
    """The JSON value does not fit the declared type."""


def encode(value: Any, hint: Any = None) -> Any:
    """A JSON value for ``value``, whose declared type is ``hint`` (its own type when None)."""
    hint = type(value) if hint is None else hint
    if _is_union(hint):
        options = [o for o in get_args(hint) if o is not type(None)]
        tagged = sum(1 for o in options if _is_dataclass_type(o)) > 1
        encoded = encode(value, type(value) if value is not None else type(None))
        if tagged and dataclasses.is_dataclass(value):
            encoded["kind"] = type(value).__name__
        return encoded
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = _hints(type(value))
        return {f.name: encode(getattr(value, f.name), hints[f.name]) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePosixPath):
        return str(value)
    if isinstance(value, tuple):
        item = get_args(hint)[0] if get_origin(hint) is tuple else None
        return [encode(v, item) for v in value]
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def decode(hint: Any, raw: Any) -> Any:
    """Rebuild a value of type ``hint`` from JSON, refusing anything that does not fit."""
    if _is_union(hint):
        return _decode_union(hint, raw)
    origin = get_origin(hint)
    if origin is tuple:
        item, *more = get_args(hint)
        if more != [Ellipsis] or not isinstance(raw, list):
            raise DecodeError(f"expected a list for {hint}")
        return tuple(decode(item, v) for v in raw)
    if origin is frozenset:
        if not isinstance(raw, list):
            raise DecodeError(f"expected a list for {hint}")
        return frozenset(decode(get_args(hint)[0], v) for v in raw)
    if _is_dataclass_type(hint):
        return _decode_dataclass(hint, raw)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(raw)
        except ValueError as exc:
            raise DecodeError(str(exc)) from None
    if hint is PurePosixPath and isinstance(raw, str):
        return PurePosixPath(raw)
    if hint is type(None) and raw is None:
        return None
    if hint in (str, int, bool) and type(raw) is hint:
        return raw
    raise DecodeError(f"{raw!r} is not a {getattr(hint, '__name__', hint)}")


def _decode_union(hint: Any, raw: Any) -> Any:
    options = get_args(hint)
    if raw is None and type(None) in options:
        return None
    classes = [o for o in options if _is_dataclass_type(o)]
    if len(classes) > 1 and isinstance(raw, dict):
        kind = raw.get("kind")
        matching = [o for o in classes if o.__name__ == kind]
        if len(matching) != 1:
            raise DecodeError(f"unknown kind {kind!r}")
        return _decode_dataclass(matching[0], {k: v for k, v in raw.items() if k != "kind"})
    rest = [o for o in options if o is not type(None)]
    if len(rest) != 1:
        raise DecodeError(f"cannot decode {hint}")
    return decode(rest[0], raw)


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode_dataclass(cls: type, raw: Any) -> Any:
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(raw, dict) or set(raw) - names:
        raise DecodeError(f"fields do not match {cls.__name__}")
    try:
        return cls(**{k: decode(hints[k], v) for k, v in raw.items()})
    except TypeError as exc:  # a required field is missing
        raise DecodeError(str(exc)) from None
