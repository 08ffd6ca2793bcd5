"""Which nodes a schematron rule context can match, as an XPath expression to select them directly.

A rule context is an XSLT pattern; the nodes it matches in a document are among those selected by the
same path with every predicate dropped (`root//(P)` for a relative pattern). When a step of the path
requires a CDA templateId (`*[cda:templateId/@root = 'X']`, the form of nearly every rule of the IHE and
CI-SIS profile schematrons), the candidates are that element's subtree, found through an `xsl:key` on
templateId roots instead of by visiting the whole document. The template rules still match each candidate
against the full context, so which rule fires on which node is unchanged: only the nodes that cannot match
any rule of the pattern are no longer visited.

Anything this module does not understand (axes other than child/attribute, function calls, variables,
parentheses in the path) gives `None`, and the pattern is then walked over the whole document as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

V3 = "urn:hl7-org:v3"
KEY_NAME = "hopen-tid"
KEY_MATCH = f"*[Q{{{V3}}}templateId]"
KEY_USE = f"Q{{{V3}}}templateId/@root"

_NAME = r"[A-Za-z_][\w.\-]*"
_TEST = re.compile(
    rf"^(?P<axis>child::|attribute::|@)?\s*(?P<test>\*|{_NAME}:\*|\*:{_NAME}|{_NAME}(?::{_NAME})?"
    r"|node\(\)|text\(\)|comment\(\)|processing-instruction\(\s*(?:'[^']*'|\"[^\"]*\"|[\w.\-]*)\s*\))\s*$"
)
_KIND_TESTS = ("node()", "text()", "comment()", "processing-instruction(")
_LITERAL = r"(?P<q>['\"])(?P<v>[^'\"]*)(?P=q)"
_ROOT_FORMS = (
    re.compile(rf"^(?P<p>{_NAME}):templateId\s*/\s*@root\s*=\s*{_LITERAL}$"),
    re.compile(rf"^{_LITERAL}\s*=\s*(?P<p>{_NAME}):templateId\s*/\s*@root$"),
    re.compile(rf"^(?P<p>{_NAME}):templateId\s*\[\s*@root\s*=\s*{_LITERAL}\s*\](?:\s*\[[^\[\]]*\])*$"),
)


@dataclass(frozen=True, slots=True)
class Step:
    separator: str  # "/" or "//"
    test: str  # "@code", "cda:section", "*", "text()"...
    predicates: tuple[str, ...]


@dataclass(slots=True)
class _Trie:
    end: bool = False
    children: dict[tuple[str, str], _Trie] = field(default_factory=dict)


def _scan(text: str):
    """Yield (index, char, depth) outside string literals; depth counts open brackets and parentheses."""
    depth = 0
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
            continue
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        yield index, char, depth


def _split_top(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for index, char, depth in _scan(text):
        if depth == 0 and char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _mask(text: str) -> str:
    """The text with string literals and everything inside brackets or parentheses blanked out."""
    out = ["\0"] * len(text)
    for index, char, depth in _scan(text):
        if depth == 0 and char not in ")]":
            out[index] = char
    return "".join(out)


def _split_word(text: str, word: str) -> list[str]:
    """Split on a top-level operator word (`and`, `or`) surrounded by whitespace."""
    parts: list[str] = []
    start = 0
    for match in re.finditer(rf"\s{word}\s", _mask(text)):
        parts.append(text[start : match.start()])
        start = match.end()
    parts.append(text[start:])
    return parts


def _predicates(rest: str) -> tuple[str, ...] | None:
    """`[a][b]` -> ("a", "b"); None when anything else follows the node test."""
    predicates: list[str] = []
    opened = None
    for index, char, depth in _scan(rest):
        if opened is None:
            if char == "[" and depth == 1:
                opened = index + 1
            elif not char.isspace():
                return None
        elif char == "]" and depth == 0:
            predicates.append(rest[opened:index])
            opened = None
    if opened is not None or _mask(rest).strip("\0 \t\r\n[]"):
        return None
    return tuple(predicates)


def _step(separator: str, text: str) -> Step | None:
    bracket = next((index for index, char, _ in _scan(text) if char == "["), len(text))
    head, rest = text[:bracket].strip(), text[bracket:]
    match = _TEST.match(head)
    if match is None:
        return None
    predicates = _predicates(rest)
    if predicates is None:
        return None
    axis = match["axis"] or ""
    test = match["test"]
    if axis in ("@", "attribute::"):
        test = "@" + test
    return Step(separator, test, predicates)


def parse_steps(pattern: str) -> list[Step] | None:
    """The steps of one union branch of a pattern, or None when it is not a plain downward path."""
    text = pattern.strip()
    if not text or text.startswith(("$", "(")):
        return None
    if text == "/":
        return []
    if text.startswith("//"):
        separator, text = "//", text[2:]
    elif text.startswith("/"):
        separator, text = "/", text[1:]
    else:
        separator = "//"  # a relative pattern matches nodes anywhere below the root
    steps: list[Step] = []
    for part in _split_top(text, "/"):
        if not part.strip():
            if separator == "/" and steps:
                separator = "//"
                continue
            return None
        step = _step(separator, part)
        if step is None:
            return None
        steps.append(step)
        separator = "/"
    return steps


def _unparenthesize(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        closing = next((index for index, char, depth in _scan(text) if depth == 0), None)
        if closing != len(text) - 1:
            break
        text = text[1:-1].strip()
    return text


def template_roots(predicate: str, namespaces: dict[str, str]) -> frozenset[str] | None:
    """The templateId roots of which the step's element must carry one (child templateId), or None."""
    text = _unparenthesize(predicate)
    alternatives = _split_word(text, "or")
    if len(alternatives) > 1:
        found = [template_roots(a, namespaces) for a in alternatives]
        if any(f is None for f in found):
            return None
        return frozenset().union(*found)  # type: ignore[arg-type]
    conjuncts = _split_word(text, "and")
    if len(conjuncts) > 1:
        found = [f for f in (template_roots(c, namespaces) for c in conjuncts) if f is not None]
        return min(found, key=len) if found else None
    for form in _ROOT_FORMS:
        match = form.match(text)
        if match and namespaces.get(match["p"]) == V3:
            return frozenset([match["v"]])
    return None


def _is_element_test(test: str) -> bool:
    return not test.startswith("@") and not test.startswith(_KIND_TESTS)


def _route(steps: list[Step], namespaces: dict[str, str]) -> tuple[tuple[str, ...], list[Step]]:
    """Start of the candidate path (the root, or a key lookup at the last templateId-keyed step) and the rest."""
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        if not _is_element_test(step.test):
            continue
        for predicate in step.predicates:
            roots = template_roots(predicate, namespaces)
            if roots:
                return ("key", *sorted(roots)), steps[index + 1 :]
    return ("root",), steps


def candidate_expression(contexts: list[str], namespaces: dict[str, str]) -> str | None:
    """One XPath expression (context: the document node) selecting every node any of the contexts can match."""
    starts: dict[tuple[str, ...], _Trie] = {}
    for context in contexts:
        for branch in _split_top(context, "|"):
            if re.search(r"\s(union|intersect|except)\s", branch):
                return None
            steps = parse_steps(branch)
            if steps is None:
                return None
            start, rest = _route(steps, namespaces)
            node = starts.setdefault(start, _Trie())
            for step in rest:
                node = node.children.setdefault((step.separator, step.test), _Trie())
            node.end = True
    if not starts:
        return None
    parts = []
    for start, trie in sorted(starts.items()):
        inner = _emit(trie)
        if start[0] == "root":
            parts.append(inner or ".")
            continue
        lookup = f"key('{KEY_NAME}', ({', '.join(_quote(r) for r in start[1:])}))"
        parts.append(lookup if inner is None else f"{lookup}/({inner})")
    return " | ".join(parts)


def _emit(node: _Trie) -> str | None:
    """Relative expression selecting the node itself (when a path ends here) and what lies below it."""
    if not node.children:
        return None
    parts = ["."] if node.end else []
    for (separator, test), child in node.children.items():
        step = test if separator == "/" else f"descendant-or-self::node()/{test}"
        inner = _emit(child)
        parts.append(step if inner is None else f"{step}/({inner})")
    return " | ".join(parts)


def _quote(value: str) -> str:
    return f"'{value}'" if "'" not in value else f'"{value}"'
