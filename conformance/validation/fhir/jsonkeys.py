"""Repeated property names in a JSON text that orjson has already parsed (orjson keeps the last value silently).

The text is parsed a second time, with a hook that sees every object's pairs, only when a count says it may
hold a repeated name: outside strings a JSON text has one `:` per property, so with no `\\u003x` escape in
it (the only way to write a `:` without one) the text has as many colons as `orjson.dumps` of the parse
exactly when no property was dropped. Every other case (an escape, a tree orjson cannot write back) is
parsed again, as before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

CHECK_LIMIT = 4 * 1024 * 1024  # larger texts are not checked (a streamed Bundle is scanned by stream.py)


class _DuplicateKeyError(ValueError):
    pass


def duplicate_key(text: str | bytes, parsed: Any) -> str | None:
    """The first repeated property name of `text` in the order the hook meets objects (innermost first), or
    None; `parsed` is orjson's parse of `text`."""
    if len(text) > CHECK_LIMIT:
        return None
    if isinstance(text, bytes):
        if b"\\u003" not in text and _colons_agree(text.count(b":"), parsed):
            return None
    elif "\\u003" not in text and _colons_agree(text.count(":"), parsed):
        return None
    return _parse_for_duplicates(text)


def _colons_agree(colons: int, parsed: Any) -> bool:
    try:
        return orjson.dumps(parsed).count(b":") == colons
    except orjson.JSONEncodeError:  # nested past orjson's writing depth: parse again
        return False


def _no_duplicates(pairs: list[tuple[str, Any]]) -> None:
    """Raises on the object's first repeated key; the parsed value itself is not kept (orjson's is)."""
    if len(pairs) > 1 and len(dict(pairs)) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)


def _parse_for_duplicates(text: str | bytes) -> str | None:
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKeyError as exc:
        return str(exc)
    except ValueError:
        return None
    except RecursionError:  # deeper than the recursive parser goes (orjson reads up to 1,024 levels)
        return _scan_for_duplicates(text)
    return None


def _scan_for_duplicates(text: str | bytes) -> str | None:
    """The same answer as the hook's, without recursion: an object's first repeated key, reported when the
    first object holding one closes."""
    import ijson

    stack: list[tuple[set[str], list[str]]] = []
    try:
        for _prefix, event, value in ijson.parse(text.encode() if isinstance(text, str) else text):
            if event == "start_map":
                stack.append((set(), []))
            elif event == "map_key":
                seen, repeated = stack[-1]
                if value in seen:
                    repeated.append(value)
                seen.add(value)
            elif event == "end_map":
                _seen, repeated = stack.pop()
                if repeated:
                    return str(repeated[0])
    except ijson.JSONError:
        return None
    return None
