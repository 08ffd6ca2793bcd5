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

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

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
    plain: bool = False  # a path ends here without a filter
    tests: list[str] = field(default_factory=list)  # else the filters (step_filters) of the paths ending here
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


Route = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]  # (start, ((separator, test), ...))


def routes(context: str, namespaces: dict[str, str]) -> list[Route] | None:
    """Per union branch of a context, where its candidates start and the predicate-free steps below."""
    found: list[Route] = []
    for branch in _split_top(context, "|"):
        if re.search(r"\s(union|intersect|except)\s", branch):
            return None
        steps = parse_steps(branch)
        if steps is None:
            return None
        start, rest = _route(steps, namespaces)
        found.append((start, tuple((step.separator, step.test) for step in rest)))
    return found


def candidate_expression(contexts: list[str], namespaces: dict[str, str]) -> str | None:
    """One XPath expression (context: the document node) selecting every node any of the contexts can match."""
    found: list[Route] = []
    for context in contexts:
        routed = routes(context, namespaces)
        if routed is None:
            return None
        found.extend(routed)
    return routes_expression(found)


def routes_expression(found: Iterable[Route], filters: Iterable[str | None] | None = None) -> str | None:
    """One XPath expression (context: the document node) selecting every node these routes lead to; with
    `filters` (one per route, from `step_filters`), only the nodes at the end of a route that pass its
    filter (or the filter of another route ending at the same step)."""
    starts: dict[tuple[str, ...], _Trie] = {}
    routed = list(found)
    tests = list(filters) if filters is not None else [None] * len(routed)
    for (start, rest), test in zip(routed, tests, strict=True):
        node = starts.setdefault(start, _Trie())
        for step in rest:
            node = node.children.setdefault(step, _Trie())
        node.end = True
        if test is None or not rest:
            node.plain = True
        elif test not in node.tests:
            node.tests.append(test)
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
    parts = [f".{_filter(node)}"] if node.end else []
    for (separator, test), child in node.children.items():
        step = test if separator == "/" else f"descendant-or-self::node()/{test}"
        inner = _emit(child)
        parts.append(f"{step}{_filter(child)}" if inner is None else f"{step}/({inner})")
    return " | ".join(parts)


def _filter(node: _Trie) -> str:
    """The predicate keeping the nodes some path ending at this step can match ("" when one has no filter)."""
    if node.plain or not node.tests:
        return ""
    return f"[{node.tests[0]}]" if len(node.tests) == 1 else f"[{' or '.join(f'({t})' for t in node.tests)}]"


def step_filters(context: str, namespaces: dict[str, str]) -> list[str | None]:
    """Per union branch of a rule context (in the order `routes` gives them), a filter for the nodes its
    route leads to: the predicates of its last step that are safe tests (`safe_test`), joined by `and`;
    None when there is none, or when the last step is the route's start (a key lookup) or not an element
    step. Every node the branch matches passes the filter (predicates only ever drop nodes, and a safe test
    reads neither the position nor anything a selection sees differently from a pattern), so a selection
    may skip the nodes that fail it."""
    found: list[str | None] = []
    for branch in _split_top(context, "|"):
        steps = parse_steps(branch)
        if not steps:
            found.append(None)
            continue
        _start, rest = _route(steps, namespaces)
        last = steps[-1]
        kept = [p.strip() for p in last.predicates if safe_test(p)] if rest and _is_element_test(last.test) else []
        found.append(None if not kept else kept[0] if len(kept) == 1 else " and ".join(f"({p})" for p in kept))
    return found


_SAFE_STEP = re.compile(rf"^(?:(?:self|child|parent|attribute)::|@)?(?:\*|{_NAME}:\*|\*:{_NAME}|{_NAME}(?::{_NAME})?)$")
_STRING_LITERAL = re.compile(r"""^(?:'[^']*'|"[^"]*")$""")


def safe_test(text: str) -> bool:
    """Whether an XPath expression is a test that can raise no error and reads neither the position, the
    size nor `current()`: `not(...)`, `and`/`or`, `true()`/`false()`, paths of child, self, parent and
    attribute name steps (with such predicates), and `=`/`!=` between such paths and string literals (no
    number is ever cast). Its value on a node is then the same in a pattern and in a selection."""
    text = _unparenthesize(text)
    if not text:
        return False
    for word in ("or", "and"):
        parts = _split_word(text, word)
        if len(parts) > 1:
            return all(safe_test(part) for part in parts)
    if text in ("true()", "false()"):
        return True
    if text.startswith("not(") and _closes_at_end(text, 3):
        return safe_test(text[4:-1])
    masked = _mask(text)
    comparison = re.search(r"!=|=", masked)
    if comparison is None:
        return _safe_path(text)
    if re.search(r"[<>=!]", masked[comparison.end() :]) or re.search(r"[<>]", masked[: comparison.start()]):
        return False
    sides = (text[: comparison.start()].strip(), text[comparison.end() :].strip())
    return all(_STRING_LITERAL.match(side) or _safe_path(side) for side in sides)


def _closes_at_end(text: str, opening: int) -> bool:
    """Whether the parenthesis opened at `opening` (at the top level) is closed by the last character."""
    closing = next((index for index, _char, depth in _scan(text) if index > opening and depth == 0), -1)
    return closing == len(text) - 1


def _safe_path(text: str) -> bool:
    text = text.strip()
    if not text or text.startswith("/"):
        return False
    return all(_safe_step(part) for branch in _split_top(text, "|") for part in _split_top(branch.strip(), "/"))


def _safe_step(part: str) -> bool:
    part = part.strip()
    bracket = next((index for index, char, _ in _scan(part) if char == "["), len(part))
    predicates = _predicates(part[bracket:])
    return (
        bool(_SAFE_STEP.match(part[:bracket].strip()))
        and predicates is not None
        and all(safe_test(p) for p in predicates)
    )


def _quote(value: str) -> str:
    return f"'{value}'" if "'" not in value else f'"{value}"'


_POSITIONAL = re.compile(r"\b(?:position|last)\s*\(")
_BOOLEAN_CALLS = ("not(", "contains(", "starts-with(", "boolean(", "true(", "false(")
_COMPARISON = re.compile(r"!=|<|>|=")
MAX_MATCH_CANDIDATES = 256


def _boolean_predicate(predicate: str) -> bool:
    """True when the predicate is surely a boolean test (never read as a position), in an XPath 1.0 form
    whose meaning XPath 2 keeps: a comparison, `and`/`or`, `not(...)`, or a path (an existence test)."""
    if _POSITIONAL.search(predicate):
        return False
    masked = _mask(predicate).strip("\0 \t\r\n")
    if not masked:
        return False
    if _COMPARISON.search(masked) or re.search(r"\s(?:and|or)\s", masked):
        return True
    if masked[0].isdigit() or masked[0] in "-$(":  # may be a number, read as a position
        return False
    text = predicate.strip()
    if "(" in text.split("[", 1)[0]:  # a function call at the top: only the boolean ones
        return text.startswith(_BOOLEAN_CALLS)
    return True


def match_tests(context: str) -> list[str | None]:
    """`match_test` of each union branch of a rule context, in the order `routes` gives them."""
    return [match_test(branch) for branch in _split_top(context, "|")]


def match_test(branch: str) -> str | None:
    """An XPath 1.0 expression true on a node when the node matches the pattern branch (its steps read
    backwards: `A[p]/B[q]` is `self::B[q][parent::A[p]]`), or None when the branch is not in that subset."""
    steps = parse_steps(branch)
    if not steps or not all(_is_element_test(step.test) and "(" not in step.test for step in steps):
        return None
    if not all(_boolean_predicate(p) for step in steps for p in step.predicates):
        return None
    test = ""
    for position, step in enumerate(steps):
        predicates = "".join(f"[{p}]" for p in step.predicates)
        if position == 0 and step.separator == "/":
            predicates += "[not(../..)]"  # a child of the document node
        if test:  # the steps before this one, read from this element upwards
            predicates += f"[{'parent' if step.separator == '/' else 'ancestor'}::{test}]"
        test = f"{step.test}{predicates}"
    return f"boolean(self::{test})"


class DocumentIndex:
    """Answers "can this route select anything in the document?" on the lxml tree, for pruning rules.

    Conservative: a step it cannot evaluate (kind tests, `*:name`, an undeclared prefix) counts as present.
    """

    _DOCUMENT = object()

    def __init__(self, root: etree._Element) -> None:
        self.root = root.getroottree().getroot()
        self.by_template: dict[str, list[etree._Element]] = {}
        for template in self.root.iter(f"{{{V3}}}templateId"):
            parent = template.getparent()
            if parent is not None and template.get("root") is not None:
                self.by_template.setdefault(template.get("root", ""), []).append(parent)
        self._memo: dict[tuple, list | None] = {}

    def may_match(self, routes: list[Route], tests: list[str | None], namespaces: dict[str, str]) -> bool:
        """False only when no element a rule context's paths select (`routes`, one per union branch) matches
        its predicates too (`tests`, from `match_tests`, evaluated by lxml on each candidate). Anything else
        (attributes, XPath 2 functions, variables, positional predicates, too many candidates, an evaluation
        error) counts as a match."""
        if len(routes) != len(tests):
            return True
        for (start, steps), test in zip(routes, tests, strict=True):
            nodes = self._select(start, steps, namespaces)
            if test is None or nodes is None or len(nodes) > MAX_MATCH_CANDIDATES:
                return True
            if not nodes:
                continue
            if any(not isinstance(node, etree._Element) for node in nodes):
                return True
            try:
                compiled = _compiled_test(test, tuple(sorted(namespaces.items())))
                if any(compiled(node) for node in nodes):
                    return True
            except (etree.XPathError, TypeError, ValueError):
                return True
        return False

    def present(self, route: Route, namespaces: dict[str, str]) -> bool:
        start, steps = route
        nodes = self._select(start, steps, namespaces)
        return nodes is None or bool(nodes)

    def _select(self, start: tuple[str, ...], steps: tuple[tuple[str, str], ...], namespaces: dict[str, str]):
        key = (start, steps)
        if key in self._memo:
            return self._memo[key]
        if not steps:
            if start[0] == "root":
                result: list | None = [self._DOCUMENT]
            else:
                result = list(dict.fromkeys(e for r in start[1:] for e in self.by_template.get(r, ())))
        else:
            above = self._select(start, steps[:-1], namespaces)
            result = None if above is None else self._step(above, *steps[-1], namespaces)
        self._memo[key] = result
        return result

    def _step(self, nodes: list, separator: str, test: str, namespaces: dict[str, str]) -> list | None:
        """None: cannot tell (treated as present)."""
        if not nodes:
            return []
        if test.startswith("@"):
            name = _clark(test[1:], namespaces)
            if name is None:
                return None
            if name == "*":
                return (
                    [True] if any(n is not self._DOCUMENT and n.attrib for n in self._below(nodes, separator)) else []
                )
            return (
                [True]
                if any(n is not self._DOCUMENT and n.get(name) is not None for n in self._below(nodes, separator))
                else []
            )
        tag = _clark(test, namespaces)
        if tag is None:
            return None
        tag = etree.Element if tag == "*" else tag  # elements only, not comments or processing instructions
        found: dict = {}
        for node in nodes:
            if node is True:
                continue
            if node is self._DOCUMENT:
                candidates = self.root.iter(tag) if separator == "//" else [self.root]
                found.update((e, None) for e in candidates if _matches(e, tag))
            elif separator == "//":
                found.update((e, None) for e in node.iterdescendants(tag))
            else:
                found.update((e, None) for e in node.iterchildren(tag))
        return list(found)

    def _below(self, nodes: list, separator: str):
        """The elements whose attributes a `/@x` or `//@x` step reads."""
        for node in nodes:
            if node is True:
                continue
            if node is self._DOCUMENT:
                if separator == "//":
                    yield from self.root.iter(etree.Element)
            elif separator == "//":
                yield node
                yield from node.iterdescendants(etree.Element)
            else:
                yield node


@functools.lru_cache(maxsize=8192)
def _compiled_test(test: str, namespaces: tuple[tuple[str, str], ...]) -> etree.XPath:
    return etree.XPath(test, namespaces=dict(namespaces), smart_strings=False)


def _clark(test: str, namespaces: dict[str, str]) -> str | None:
    """An lxml tag filter for a name test, or None when it cannot be expressed as one."""
    if test == "*":
        return "*"
    if test.startswith("*:") or test.startswith(_KIND_TESTS):
        return None
    prefix, _, local = test.rpartition(":")
    if not prefix:
        return local
    uri = namespaces.get(prefix)
    if uri is None:
        return None
    return f"{{{uri}}}{local}"


def _matches(element: etree._Element, tag: object) -> bool:
    if not isinstance(element.tag, str):
        return False
    if tag is etree.Element:
        return True
    if tag.endswith("}*"):
        return element.tag.startswith(tag[:-1])
    return element.tag == tag
