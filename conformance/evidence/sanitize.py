"""Making untrusted text safe to show: on a terminal and in XML. One place for both.

Server strings, file names and messages may carry control characters. On a terminal an ESC sequence can
move the cursor, erase a line or colour a forged verdict; in XML most C0 characters are illegal and make the
writer fail. Both are shown escaped, visibly, never dropped silently:

    for_terminal("ok\\x1b[2K")  -> "ok\\\\x1b[2K"     (tab and newline kept; CR and every other control escaped)
    for_xml("bell\\x07")        -> "bell\\\\x07"      (what XML 1.0 cannot carry)

`clean_data` applies `for_xml` to every string (keys too) of a JSON-like structure: the report writers take
their input through it (after redaction and pseudonymisation), so HTML, JUnit, Allure, TestReport and
results.json agree on what a hostile string became.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# C0 controls except tab/newline, DEL, C1 controls, and the bidirectional overrides that reorder a line.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What XML 1.0 cannot carry (tab, LF, CR are legal), plus the non-characters U+FFFE / U+FFFF and lone surrogates.
_LINE_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: object, *, one_line: bool = False) -> str:
    """`text` with every character that could steer a terminal shown as an escape (\\x1b, \\x0d, \\u202e).
    `one_line`: newlines and tabs too, for a value (a file name) that must not start a line of its own."""
    return (_LINE_UNSAFE if one_line else _TERMINAL_UNSAFE).sub(_escape, str(text))


def for_xml(text: str) -> str:
    """`text` with the characters XML 1.0 forbids shown as escapes; legal text is returned unchanged."""
    return _XML_ILLEGAL.sub(_escape, text) if _XML_ILLEGAL.search(text) else text


def clean_data(value: Any) -> Any:
    """A JSON-like structure with every string (keys too) made XML-safe."""
    if isinstance(value, str):
        return for_xml(value)
    if isinstance(value, Mapping):
        return {for_xml(str(k)): clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value
