"""Finding English in French output: the words a French reviewer would stop at, outside identifiers."""

from __future__ import annotations

import html
import re

# Whole words (case-sensitive where the capital matters), and phrases.
ENGLISH = re.compile(
    r"\b(?:errors?|warnings?|required|unknown|Failed|failed|not found|is not|must be|"
    r"reference endpoints|Signing key generated|should|cannot|Warning|Error|Try)\b"
    # English function words: a French sentence has none of them (identifiers and quotes are removed first)
    # (lower case, and a capital where a sentence starts: "MAIL FROM" is an SMTP command, not prose)
    r"|\b(?:the|and|with|when|which|this|that|from|only|must|does|has|have|not|are|for|of|to|is|be|by|into|"
    r"shall|will|missing|found|invalid|expected|value|allowed|The|This|When|Only|No|Not|Cannot|Invalid)\b"
    r"|\bUsage:"
    r"|\(s\)"
    r"|:\s*\?(?:\s|$)"
)
# Identifiers, paths, URLs and quoted values are not prose: rule ids, test ids, file names, option names,
# FHIRPath expressions in brackets, HTTP status lines ("304 Not Modified").
_NOT_PROSE = re.compile(
    r"\[[^\[\]]*[()=][^\[\]]*\]|\b[1-5]\d\d(?: [A-Z][a-z]+)+|https?://\S+|urn:\S+|/[\w./-]+|\w+(?:[/_#.:=-]\w+)+|--[\w-]+|'[^']*'|\"[^\"]*\"|«[^»]*»|\[[\w .§,:/-]*\]"
)
_TAGS_NOT_PROSE = re.compile(
    r"<(pre|code|style|title|q)\b.*?</\1>|<[^>]*class=\"[^\"]*\bmono\b[^\"]*\"[^>]*>.*?</", re.S
)
_TAG = re.compile(r"<[^>]+>")


def english_fragments(text: str) -> list[str]:
    """The English words of `text` with some context (empty when the text reads as French)."""
    found = []
    for line in text.splitlines():
        prose = _NOT_PROSE.sub(" ", line)
        for match in ENGLISH.finditer(prose):
            start = max(0, match.start() - 40)
            found.append(prose[start : match.end() + 40].strip())
    return found


def html_prose(document: str) -> str:
    """The visible prose of an HTML report (tags, code, monospace identifiers and styles removed)."""
    without = _TAGS_NOT_PROSE.sub(" ", document)
    return html.unescape(_TAG.sub("\n", without))
