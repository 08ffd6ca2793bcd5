"""ISO Schematron (queryBinding xslt2) compiled to XSLT 3 and run on Saxon-HE (saxonche).

Our own compiler, in the shape of the ISO reference pipeline (include -> abstract expansion -> SVRL
stylesheet), written in Python with lxml so that the ANS pack's defects can be handled where they occur:

* includes resolve relative to the including file; when the exact name is missing, a name that differs
  only by case is used and a tool finding says so (the pack relies on case-insensitive file systems);
* abstract patterns (`is-a` + `param`), abstract rules (`extends`), lets (schema, phase, pattern, rule),
  phases (`defaultPhase` or a named one) and `report`s are supported;
* `doc()`/`document()` calls with a literal relative URI that does not exist (the pack's missing
  `voc-*-DYNAMIC.xml`) are pointed at an empty value set and reported, instead of aborting the run.

Generated XSLT is cached on disk under `tool_cache_dir()/schematron`, keyed by the content hash of the
schematron and of every file it includes; compiled executables are kept in memory per process.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from conformance import settings

from . import candidates, dispatch, pool

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
HOPEN_NS = "urn:hopen-conformance:schematron"
COMPILER_VERSION = "hopen-sch-15"  # bump when the generated XSLT changes shape
SINGLE_WALK_MIN_PATTERNS = 8
STRATEGIES = ("candidates", "walk")  # see candidates.py; "walk" visits every node for every pattern

_S = f"{{{SCH_NS}}}"
_X = f"{{{XSL_NS}}}"
_DOC_CALL = re.compile(r"""\b(doc|document|doc-available)\(\s*(['"])([^'"]+)\2\s*\)""")
_EMPTY_VALUE_SET = "<empty-value-set/>\n"
_QNAME = r"(?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*"
_DOC_FUNCTION = re.compile(r"(?<![\w:.\-])(doc-available|doc|document)\(")
RULE_ATTRIBUTE = f"{{{HOPEN_NS}}}rule"
SELECTIONS_KEPT = 256  # candidate selections a GeneratedXslt remembers (each pattern's whole one first)
PRUNE_MIN_CHECKS = 200  # below this, compiling the whole schematron costs no more than pruning it
POOL_PARAMETER = "hopen_documents"
ABSENT_PARAMETER = "hopen_absent"
POOL_MESSAGE = "hopen-document-loaded "
ABSENT_MESSAGE = "hopen-document-absent "


class SchematronError(Exception):
    """The schematron cannot be compiled at all (unreadable file, XSLT static error)."""


@dataclass(frozen=True, slots=True)
class ToolNote:
    """A defect of the schematron pack met while compiling: becomes a "tool" finding, never a document error."""

    rule: str
    severity: str  # "warning" or "information"
    message_fr: str
    message_en: str
    location: str = ""


@dataclass(slots=True)
class SvrlAssertion:
    """One failed assert or successful report, as SVRL reports it."""

    kind: str  # "failed-assert" or "successful-report"
    rule_id: str
    test: str
    location: str
    role: str
    text: str
    pattern: str
    see: str = ""
    unknown_value_set: bool = False  # the test depends on a value set missing from the pack


@dataclass(slots=True)
class SchematronRun:
    assertions: list[SvrlAssertion]
    fired_rules: int
    active_patterns: int


@dataclass(slots=True)
class CompiledSchematron:
    source: Path
    phase: str
    xslt: str
    checks: list[dict[str, Any]]
    notes: list[ToolNote]
    title: str
    cache_hit: bool
    compile_seconds: float
    executable: Any = None
    rules_kept: int = 0  # rule templates compiled (fewer than the schematron's when pruned for one document)
    lock: threading.Lock = field(default_factory=threading.Lock)

    pending: set[str] = field(default_factory=set)  # loaded by doc() in a run, pooled before the next run
    pool_generation: int = 0  # the generation of the shared pool (pool.py) this executable was given

    def run(self, document: Any) -> SchematronRun:
        """Apply to a document parsed by `parse_for_saxon` and return what the SVRL says."""
        with self.lock:
            self._grow_pool()  # only when a second document comes: a one-document process never pays it
            output = self.executable.transform_to_string(xdm_node=document)
            self._note_loaded()
        return parse_svrl(output or "", self.checks)

    @property
    def pool(self) -> dict[str, Any]:
        """The documents pooled for this process (shared by every stylesheet)."""
        return pool.snapshot()

    def _note_loaded(self) -> None:
        messages = self.executable.get_xsl_messages()
        self.executable.clear_xsl_messages()
        if messages is not None:
            text = str(messages)
            found = re.findall(re.escape(POOL_MESSAGE) + r"(file:[^\s<]+)", text)
            loaded = {uri for uri in found if not pool.pooled(uri)}
            if loaded:
                self.pending.update(loaded)
                pool.remember(cache_dir(), self.source, loaded)
            pool.add_absent(re.findall(re.escape(ABSENT_MESSAGE) + r"(\S+?)(?=[\s<]|$)", text))

    def _grow_pool(self) -> None:
        loaded, self.pending = self.pending, set()
        processor = saxon()
        if loaded:
            pool.add(processor, loaded)
        generation, maps = pool.as_maps(processor, self.pool_generation)
        if maps is not None:
            self.executable.set_parameter(POOL_PARAMETER, maps[0])
            self.executable.set_parameter(ABSENT_PARAMETER, maps[1])
            self.pool_generation = generation


# ---------------------------------------------------------------- assembling: includes, abstracts


class _Assembler:
    def __init__(self, main: Path) -> None:
        self.main = main
        self.notes: list[ToolNote] = []
        self.files: dict[str, str] = {}  # path -> sha256 of content, for the cache key

    def load(self, path: Path, depth: int = 0) -> etree._Element:
        if depth > 40:
            raise SchematronError(f"includes nested too deeply (cycle?) at {path}")
        data = path.read_bytes()
        self.files[str(path)] = hashlib.sha256(data).hexdigest()
        parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)
        root = etree.fromstring(data, parser, base_url=str(path))
        self._expand_includes(root, path.parent, depth)
        return root

    def _expand_includes(self, root: etree._Element, base: Path, depth: int) -> None:
        for include in list(root.iter(_S + "include")):
            href = include.get("href", "")
            target = self._resolve(base, href, include)
            parent = include.getparent()
            if target is None:
                parent.remove(include)
                continue
            included = self.load(target, depth + 1)
            if included.tag == _S + "schema":  # a whole schema: splice its children
                index = parent.index(include)
                parent.remove(include)
                for offset, child in enumerate(list(included)):
                    parent.insert(index + offset, child)
            else:
                parent.replace(include, included)

    def _resolve(self, base: Path, href: str, element: etree._Element) -> Path | None:
        href = href.split("#", 1)[0]
        exact = (base / href).resolve()
        if exact.is_file():
            return exact
        relaxed = _case_insensitive(base, href)
        if relaxed is not None:
            self.notes.append(
                ToolNote(
                    "cda-pack-include-case",
                    "warning",
                    f"Le schématron inclut « {href} » mais le fichier présent est « {relaxed.name} » (casse différente) :"
                    " inclusion résolue sans tenir compte de la casse.",
                    f"The schematron includes '{href}' but the file on disk is '{relaxed.name}' (different case):"
                    " include resolved case-insensitively.",
                    location=href,
                )
            )
            return relaxed
        self.notes.append(
            ToolNote(
                "cda-pack-include-missing",
                "warning",
                f"Fichier inclus introuvable dans le paquet de schématrons : « {href} » ; ses règles sont ignorées.",
                f"Included file not found in the schematron pack: '{href}'; its rules are skipped.",
                location=href,
            )
        )
        return None


def _case_insensitive(base: Path, href: str) -> Path | None:
    current = base
    for part in Path(href).parts:
        if part in ("..", "."):
            current = (current / part).resolve()
            continue
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        if not current.is_dir():
            return None
        matches = [p for p in current.iterdir() if p.name.lower() == part.lower()]
        if not matches:
            return None
        current = matches[0]
    return current.resolve() if current.is_file() else None


def _substitute(text: str, params: dict[str, str]) -> str:
    for name in sorted(params, key=len, reverse=True):
        text = re.sub(r"\$" + re.escape(name) + r"(?![\w.\-])", lambda _m, v=params[name]: v, text)
    return text


def _instantiate_abstract_patterns(schema: etree._Element) -> None:
    abstracts = {p.get("id"): p for p in schema.iter(_S + "pattern") if p.get("abstract") == "true"}
    for pattern in list(schema.iter(_S + "pattern")):
        base_id = pattern.get("is-a")
        if not base_id:
            continue
        template = abstracts.get(base_id)
        if template is None:
            continue
        params = {p.get("name"): p.get("value", "") for p in pattern.findall(_S + "param")}
        instance = copy.deepcopy(template)
        instance.attrib.pop("abstract", None)
        instance.set("id", pattern.get("id") or base_id)
        for element in instance.iter():
            for key, value in element.attrib.items():
                if "$" in value:
                    element.set(key, _substitute(value, params))
        pattern.getparent().replace(pattern, instance)
    for template in abstracts.values():
        if template.getparent() is not None:
            template.getparent().remove(template)


def _detach_abstract_rules(schema: etree._Element) -> dict[str, etree._Element]:
    """The abstract rules by id (the last one of an id wins), taken out of the tree; `extends` stay in place."""
    abstracts = {r.get("id"): r for r in schema.iter(_S + "rule") if r.get("abstract") == "true"}
    for rule in abstracts.values():
        if rule.getparent() is not None:
            rule.getparent().remove(rule)
    for rule in schema.iter(_S + "rule"):  # an abstract rule whose id was taken by a later one
        if rule.get("abstract") == "true" and rule.getparent() is not None:
            rule.getparent().remove(rule)
    return abstracts


_VARIABLE_REF = re.compile(r"\$((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)")
_VARIABLE_BOUND = re.compile(r"\$((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)\s*(?:\bin\b|:=)")
MAX_EXTENDS_DEPTH = 20


@dataclass(slots=True)
class _RuleSite:
    """Where checks are being numbered: the pattern's running counter and the rule they belong to."""

    base_id: str
    pattern_id: str
    context_unknown: bool
    counter: int = 0
    lets_unknown: bool = False  # a let of the rule so far depends on a missing value set


@dataclass(slots=True)
class _Span:
    """One `extends` followed: the abstract rule's content spans flat[start:end] of the rule's expansion."""

    rule_id: str
    start: int
    body: list[Any]  # lets, checks and nested spans, in document order
    end: int = 0
    cut: bool = False  # the expansion was cut (extends nested too deeply: a cycle)


# ---------------------------------------------------------------- generating XSLT


def _xpath_literals(text: str, base: Path, notes: list[ToolNote], empty_uri: str) -> str:
    """Point literal doc()/document() URIs that do not exist at an empty document, with a tool note."""

    def replace(match: re.Match[str]) -> str:
        function, quote, uri = match.groups()
        if ":" in uri.split("/", 1)[0]:  # absolute URI: leave it
            return match.group(0)
        path = (base / uri).resolve()
        if path.is_file():
            return match.group(0)
        relaxed = _case_insensitive(base, uri)
        if relaxed is not None:
            return f"{function}({quote}{relaxed.as_uri()}{quote})"
        if function == "doc-available":
            return match.group(0)
        note = ToolNote(
            "cda-pack-valueset-missing",
            "warning",
            f"Jeu de valeurs absent du paquet : « {uri} » ; les codes qui en dépendent ne peuvent pas être vérifiés.",
            f"Value set missing from the pack: '{uri}'; codes that depend on it cannot be checked.",
            location=uri,
        )
        if note not in notes:
            notes.append(note)
        return f"{function}({quote}{empty_uri}{quote})"

    return _DOC_CALL.sub(replace, text)


class _Generator:
    def __init__(
        self,
        schema: etree._Element,
        main: Path,
        phase: str | None,
        notes: list[ToolNote],
        empty_uri: str,
        strategy: str = "candidates",
        abstracts: dict[str, etree._Element] | None = None,
        share: bool = True,
    ):
        self.schema = schema
        self.strategy = strategy
        self.abstracts = abstracts or {}
        self.share = share
        self.shared: dict[str, str] = {}  # abstract rule id -> named template holding its checks
        self._cut = False
        self.text_keys: dict[str, str] = {}  # element name -> xsl:key on its text, for value-set lookups
        self.globals: set[str] = set()
        self.sheet: etree._Element | None = None
        self.main = main
        self.notes = notes
        self.empty_uri = empty_uri
        self.phase = phase or schema.get("defaultPhase") or "#ALL"
        self.checks: list[dict[str, Any]] = []
        self.rules: list[list[candidates.Route] | None] = []  # per rule template (hopen:rule), for pruning
        self.tests: list[list[str | None]] = []  # per rule template, candidates.match_tests of its context
        self.filters: list[list[str | None] | None] = []  # per rule template: its selection's step filters
        self.contexts: list[str] = []  # per rule template, its context (the match before guards)
        self.pattern_rules: dict[int, list[int]] = {}  # pattern index -> its rule templates
        self.namespaces: dict[str, str] = {}

    def xpath(self, text: str) -> str:
        text = _xpath_literals(text, self.main.parent, self.notes, self.empty_uri)
        text = _DOC_FUNCTION.sub(lambda m: f"hopen:{m.group(1) if m.group(1) == 'doc-available' else 'doc'}(", text)
        return _keyed_text_lookups(text, self.text_keys) if self.strategy != "walk" else text

    def active_patterns(self) -> tuple[list[etree._Element], list[etree._Element]]:
        patterns = [p for p in self.schema.iter(_S + "pattern") if p.get("abstract") != "true"]
        if self.phase == "#ALL":
            return patterns, []
        phase = next((p for p in self.schema.iter(_S + "phase") if p.get("id") == self.phase), None)
        if phase is None:
            raise SchematronError(f"phase {self.phase!r} not found in {self.main.name}")
        wanted = [a.get("pattern") for a in phase.findall(_S + "active")]
        by_id: dict[str, list[etree._Element]] = {}
        for pattern in patterns:
            by_id.setdefault(pattern.get("id", ""), []).append(pattern)
        active: list[etree._Element] = []
        for pattern_id in wanted:
            active.extend(by_id.get(pattern_id, []))
        return active, phase.findall(_S + "let")

    def generate(self) -> str:
        namespaces = {ns.get("prefix"): ns.get("uri") for ns in self.schema.iter(_S + "ns")}
        self.namespaces = {k: v for k, v in namespaces.items() if k and v}
        nsmap = {
            "xsl": XSL_NS,
            "svrl": SVRL_NS,
            "hopen": HOPEN_NS,
            "xs": "http://www.w3.org/2001/XMLSchema",
            "map": "http://www.w3.org/2005/xpath-functions/map",
        }
        for prefix, uri in namespaces.items():
            if prefix and prefix not in ("xsl", "svrl", "hopen", "xml", "map"):
                nsmap[prefix] = uri
        sheet = etree.Element(_X + "stylesheet", nsmap=nsmap, version="3.0")
        self.sheet = sheet
        sheet.set("{http://www.w3.org/XML/1998/namespace}base", self.main.as_uri())
        sheet.set("exclude-result-prefixes", " ".join(p for p in nsmap if p not in ("xsl", "svrl")))
        etree.SubElement(sheet, _X + "output", method="xml", indent="no")
        self._path_function(sheet, namespaces)
        _document_pool_functions(sheet)
        active, phase_lets = self.active_patterns()
        declared: set[str] = set()
        global_lets = [
            *self.schema.findall(_S + "let"),
            *phase_lets,
            *(let for p in self.schema.iter(_S + "pattern") for let in p.findall(_S + "let")),
        ]
        for let in global_lets:
            name = let.get("name")
            if name and name not in declared:
                declared.add(name)
                self._variable(sheet, let)
        self.globals = declared
        root = etree.SubElement(sheet, _X + "template", match="/")
        output = etree.SubElement(root, f"{{{SVRL_NS}}}schematron-output", phase=self.phase)
        title = self.schema.find(_S + "title")
        output.set("title", " ".join((title.xpath("string()") if title is not None else "").split()))
        selections = self._selections(active, namespaces)
        if any(s is not None and candidates.KEY_NAME in s for s in selections):
            sheet.insert(
                1,
                etree.Element(_X + "key", name=candidates.KEY_NAME, match=candidates.KEY_MATCH, use=candidates.KEY_USE),
            )
        # A pattern without rules fires nothing: no walk for it (its active-pattern marker stays).
        ruled = [any(_has_context(rule) for rule in pattern.iter(_S + "rule")) for pattern in active]
        walked = [index for index, selection in enumerate(selections) if selection is None and ruled[index]]
        single_walk = len(walked) > SINGLE_WALK_MIN_PATTERNS
        contexts = [self.xpath(r.get("context", "")) for p in active for r in p.iter(_S + "rule") if r.get("context")]
        # Attributes are only visited when some rule could match one: most schematrons never do, and
        # attributes outnumber elements in CDA documents.
        self.children = "@*|*" if any(_may_match_attribute(c) for c in contexts) else "*"
        for index, pattern in enumerate(active):
            marker = etree.SubElement(output, f"{{{SVRL_NS}}}active-pattern")
            marker.set("id", pattern.get("id") or f"pattern-{index}")
        applies: list[tuple[int, etree._Element]] = []
        for index, selection in enumerate(selections):
            if selection is not None:  # only the nodes some rule of the pattern can match
                apply = etree.SubElement(output, _X + "apply-templates", select=selection, mode=f"M{index}")
                applies.append((index, apply))
            elif not single_walk and ruled[index]:
                etree.SubElement(output, _X + "apply-templates", select="/", mode=f"M{index}")
        if single_walk:
            # One walk over the document applying every pattern's mode to each node: the same rules fire as
            # with one recursive walk per pattern (ISO semantics), without re-walking the tree per pattern.
            # Measured ~1.8x faster on IHE.sch (235 patterns); a plain walk is as fast with few patterns.
            nodes = "/ | //node()[not(self::text())]" + (" | //@*" if self.children == "@*|*" else "")
            walk = etree.SubElement(output, _X + "for-each", select=nodes)
            for index in walked:
                etree.SubElement(walk, _X + "apply-templates", select=".", mode=f"M{index}")
        for index, pattern in enumerate(active):
            if ruled[index]:
                self._pattern(sheet, pattern, index, recurse=selections[index] is None and not single_walk)
        for index, apply in applies:
            each = dispatch.dispatch(sheet, apply, self.namespaces)
            if each is not None:
                self._filter_selection(index, each)
        for name, key in self.text_keys.items():
            sheet.insert(1, etree.Element(_X + "key", name=key, match=name, use="text()"))
        return etree.tostring(sheet, encoding="unicode")

    def _filter_selection(self, index: int, each: etree._Element) -> None:
        """A dispatched pattern's candidates narrowed by its rules' step filters (candidates.step_filters):
        the closed-template rules of the structuration minimale profile (`P/*[not(self::A | self::B)]`)
        fire on almost none of the children they are tried on, each try dispatched through the parent
        (about 500 nodes per ANS example). The node still fires the same rule: a filtered-out node matched
        none and fell to the empty fallback. Only when dispatched: the rules then see the node alone (the
        position and size of the selection are not theirs), and pruned_xslt narrows it the same way."""
        numbers = self.pattern_rules.get(index, [])
        routed = [self.rules[number] for number in numbers]
        if not numbers or any(found is None for found in routed):
            return
        routes = [route for found in routed for route in found or ()]
        if candidates.routes_expression(routes) != each.get("select"):
            return
        filters = [candidates.step_filters(self.contexts[number], self.namespaces) for number in numbers]
        if len(routes) != sum(len(found) for found in filters):
            return
        for number, found in zip(numbers, filters, strict=True):
            self.filters[number] = found
        each.set("select", candidates.routes_expression(routes, (f for found in filters for f in found)) or "")

    def _selections(self, active: list[etree._Element], namespaces: dict[str, str]) -> list[str | None]:
        """Per pattern, the expression selecting the nodes its rules can match, or None to walk the document."""
        if self.strategy == "walk":
            return [None] * len(active)
        found: list[str | None] = []
        for pattern in active:
            contexts = [
                self.xpath(r.get("context"))
                for r in pattern.iter(_S + "rule")
                if r.get("abstract") != "true" and r.get("context")
            ]
            found.append(candidates.candidate_expression(contexts, namespaces) if contexts else None)
        return found

    def _path_function(self, sheet: etree._Element, namespaces: dict[str, str]) -> None:
        preferred = {"urn:hl7-org:v3": "cda"}
        for prefix, uri in namespaces.items():
            preferred.setdefault(uri, prefix)
        function = etree.SubElement(sheet, _X + "function", name="hopen:path", **{"as": "xs:string"})
        etree.SubElement(function, _X + "param", name="node", **{"as": "node()"})
        cases = " ".join(f"if ($ns = '{uri}') then '{prefix}:' else" for uri, prefix in preferred.items() if prefix)
        body = (
            "string-join(for $n in $node/ancestor-or-self::node()[parent::node()] return "
            "if ($n instance of attribute()) then concat('@', name($n)) "
            "else if ($n instance of element()) then "
            f"(let $ns := namespace-uri($n), $p := ({cases} if ($ns = '') then '' else concat('Q{{', $ns, '}}')) "
            "return concat($p, local-name($n), '[', count($n/preceding-sibling::*[node-name(.) = node-name($n)]) + 1, ']')) "
            "else if ($n instance of text()) then 'text()' else name($n), '/')"
        )
        etree.SubElement(function, _X + "sequence", select=f"concat('/', {body})")

    def _variable(self, parent: etree._Element, let: etree._Element) -> etree._Element:
        variable = etree.SubElement(parent, _X + "variable", name=let.get("name"))
        if let.get("value") is not None:
            variable.set("select", self.xpath(let.get("value")))
        else:
            for child in let:
                variable.append(copy.deepcopy(child))
        return variable

    def _pattern(self, sheet: etree._Element, pattern: etree._Element, index: int, *, recurse: bool) -> None:
        mode = f"M{index}"
        pattern_id = pattern.get("id") or f"pattern-{index}"
        rules = [r for r in pattern.iter(_S + "rule") if _has_context(r)]
        counter = 0  # numbers the checks without an id across the whole pattern
        for position, rule in enumerate(rules):
            match = self.xpath(rule.get("context"))
            context_unknown = self.empty_uri in match
            pattern_text = match if self.strategy == "walk" else dispatch.guarded(match, self.namespaces)
            template = etree.SubElement(
                sheet, _X + "template", match=pattern_text, mode=mode, priority=str(1000 - position)
            )
            template.set(RULE_ATTRIBUTE, str(len(self.rules)))
            self.pattern_rules.setdefault(index, []).append(len(self.rules))
            self.rules.append(None if context_unknown else candidates.routes(match, self.namespaces))
            self.tests.append([] if context_unknown else candidates.match_tests(match))
            self.filters.append(None)
            self.contexts.append(match)
            etree.SubElement(template, f"{{{SVRL_NS}}}fired-rule")
            site = _RuleSite(rule.get("id") or pattern_id, pattern_id, context_unknown, counter)
            self._rule_body(template, rule, site)
            counter = site.counter
            if recurse:
                etree.SubElement(template, _X + "apply-templates", select=self.children, mode=mode)
        etree.SubElement(sheet, _X + "template", match="text()", mode=mode, priority="-1")
        fallback = etree.SubElement(sheet, _X + "template", match="@*|node()|/", mode=mode, priority="-2")
        if recurse:
            etree.SubElement(fallback, _X + "apply-templates", select=self.children, mode=mode)

    def _flatten(self, children: list[etree._Element], flat: list[etree._Element], depth: int) -> list[Any]:
        """A rule's lets and checks with its `extends` followed in place (ISO: the abstract rule's content is
        inserted where the `extends` stands), appended to `flat`; returns them with a span per `extends`."""
        body: list[Any] = []
        for child in children:
            if child.tag in (_S + "let", _S + "assert", _S + "report"):
                flat.append(child)
                body.append(child)
            elif child.tag == _S + "extends":
                rule_id = child.get("rule", "")
                abstract = self.abstracts.get(rule_id)
                if abstract is None:
                    continue
                if depth >= MAX_EXTENDS_DEPTH:
                    self._cut = True
                    continue
                cut, self._cut = self._cut, False
                span = _Span(rule_id, len(flat), [])
                span.body = self._flatten(list(abstract), flat, depth + 1)
                span.end, span.cut = len(flat), self._cut
                self._cut = cut or self._cut
                body.append(span)
        return body

    def _rule_body(self, template: etree._Element, rule: etree._Element, site: _RuleSite) -> None:
        self._cut = False
        flat: list[etree._Element] = []
        body = self._flatten(list(rule), flat, 0)
        self._emit(template, body, flat, site)

    def _emit(self, template: etree._Element, body: list[Any], flat: list[etree._Element], site: _RuleSite) -> None:
        for item in body:
            if isinstance(item, _Span):
                if self._shareable(item, flat):
                    self._call_shared(template, item, flat, site)
                else:
                    self._emit(template, item.body, flat, site)
            elif item.tag == _S + "let":
                variable = self._variable(template, item)
                site.lets_unknown = site.lets_unknown or self.empty_uri in (variable.get("select") or "")
            else:
                site.counter += 1
                rule_id = item.get("id") or f"{site.base_id}-{site.counter}"
                self._check_metadata(item, rule_id, site)
                self._check_code(template, item, str(len(self.checks) - 1))

    def _references(self, item: etree._Element) -> tuple[set[str], set[str]]:
        """Variable names an item refers to, and those it binds itself (for/some/every/let expressions)."""
        if item.tag == _S + "let":
            texts = [item.get("value", "")]
        else:
            texts = [item.get("test", "")]
            texts += [e.get("select", "") + " " + e.get("path", "") for e in item.iter(_S + "value-of", _S + "name")]
        referenced: set[str] = set()
        bound: set[str] = set()
        for text in texts:
            referenced.update(_VARIABLE_REF.findall(text))
            bound.update(_VARIABLE_BOUND.findall(text))
        return referenced, bound

    def _scope(self, items: list[etree._Element]) -> tuple[set[str], set[str]]:
        """(names used before any let of `items` declares them, names the lets declare), in document order."""
        free: set[str] = set()
        declared: set[str] = set()
        for item in items:
            referenced, bound = self._references(item)
            free |= referenced - bound - declared
            if item.tag == _S + "let":
                declared.add(item.get("name", ""))
        return free, declared

    def _shareable(self, span: _Span, flat: list[etree._Element]) -> bool:
        """Whether the abstract rule's content can live in one named template called wherever it is extended.

        A named template sees the global variables only: the content must use no let of the calling rule,
        only globals and its own lets, and what follows it in the rule must not use its lets.
        """
        if not self.share or span.cut:
            return False
        content = flat[span.start : span.end]
        if any(item.tag == _S + "let" and item.get("value") is None for item in content):
            return False
        free, declared = self._scope(content)
        before = {item.get("name", "") for item in flat[: span.start] if item.tag == _S + "let"}
        if free & before or not free <= self.globals:
            return False
        after, _ = self._scope(flat[span.end :])
        return not declared & after

    def _call_shared(self, template: etree._Element, span: _Span, flat: list[etree._Element], site: _RuleSite) -> None:
        """An abstract rule's content, shared: code emitted once, numbered and described for this rule.

        The datatype rules of the structuration minimale profile are extended hundreds of times: sharing
        their code divides the stylesheet's size (and Saxon's compile time and memory) several fold.
        """
        content = flat[span.start : span.end]
        name = self._shared_template(span.rule_id, content)
        call = etree.SubElement(template, _X + "call-template", name=name)
        etree.SubElement(call, _X + "with-param", name="hopen_b", select=str(len(self.checks)))
        for item in content:
            if item.tag == _S + "let":
                site.lets_unknown = site.lets_unknown or self.empty_uri in self.xpath(item.get("value", ""))
            else:
                site.counter += 1
                self._check_metadata(item, item.get("id") or f"{site.base_id}-{site.counter}", site)

    def _shared_template(self, rule_id: str, content: list[etree._Element]) -> str:
        if rule_id in self.shared:
            return self.shared[rule_id]
        name = f"hopen:abstract-{len(self.shared)}"
        self.shared[rule_id] = name
        assert self.sheet is not None
        named = etree.SubElement(self.sheet, _X + "template", name=name)
        etree.SubElement(named, _X + "param", name="hopen_b", **{"as": "xs:integer"})
        offset = 0
        for item in content:
            if item.tag == _S + "let":
                self._variable(named, item)
            else:
                self._check_code(named, item, f"{{$hopen_b + {offset}}}" if offset else "{$hopen_b}")
                offset += 1
        return name

    def _check_metadata(self, check: etree._Element, rule_id: str, site: _RuleSite) -> None:
        """The assertion's static metadata stays in `self.checks`, indexed by `n`; the XSLT emits the test only.

        Keeping ids, test texts and roles out of the XSLT makes it a fraction of the size, and Saxon's
        compile time (the cost of first use, which Saxon-HE cannot cache to disk) follows the size.
        """
        is_assert = check.tag == _S + "assert"
        test = self.xpath(check.get("test", "true()"))
        self.checks.append(
            {
                "kind": "failed-assert" if is_assert else "successful-report",
                "id": rule_id,
                "test": check.get("test", ""),
                "role": check.get("role", ""),
                "pattern": site.pattern_id,
                "see": check.get("see", ""),
                "unknown": bool(site.context_unknown or site.lets_unknown or self.empty_uri in test),
            }
        )

    def _check_code(self, template: etree._Element, check: etree._Element, number: str) -> None:
        """`<xsl:if>` around the SVRL result numbered `number` (a literal, or an attribute value template)."""
        test = self.xpath(check.get("test", "true()"))
        condition = etree.SubElement(template, _X + "if", test=f"not({test})" if check.tag == _S + "assert" else test)
        result = etree.SubElement(condition, f"{{{SVRL_NS}}}f")
        result.set("n", number)
        result.set("location", "{hopen:path(.)}")
        self._message(result, check)

    def _message(self, target: etree._Element, source: etree._Element) -> None:
        if source.text:
            _append_text(target, source.text)
        for child in source:
            if child.tag == _S + "value-of":
                etree.SubElement(target, _X + "value-of", select=self.xpath(child.get("select", ".")))
            elif child.tag == _S + "name":
                etree.SubElement(target, _X + "value-of", select=f"name({self.xpath(child.get('path', '.'))})")
            elif isinstance(child.tag, str):
                self._message(target, child)
            if child.tail:
                _append_text(target, child.tail)


def _has_context(rule: etree._Element) -> bool:
    """A rule that becomes a template (abstract rules are only extended)."""
    return rule.get("abstract") != "true" and bool(rule.get("context"))


def _document_pool_functions(sheet: etree._Element) -> None:
    """doc()/document()/doc-available() go through a pool of documents parsed once per process.

    Saxon keeps loaded documents for one transformation only; the value sets and terminologies the ANS
    schematrons look up (up to 3 MB each) would be re-parsed for every document. A document not yet in the
    pool is loaded by doc() as usual and announced with an xsl:message, and the runner adds it to the pool
    (a stylesheet parameter) for the next runs. URIs resolve against the stylesheet base, as doc() would.
    """
    etree.SubElement(sheet, _X + "param", name=POOL_PARAMETER, select="map{}", **{"as": "map(*)"})
    load = etree.SubElement(sheet, _X + "function", name="hopen:doc", **{"as": "document-node()*"})
    etree.SubElement(load, _X + "param", name="uri", **{"as": "item()*"})
    each = etree.SubElement(load, _X + "for-each", select="$uri")
    etree.SubElement(each, _X + "variable", name="abs", select="string(resolve-uri(string(.), static-base-uri()))")
    choose = etree.SubElement(each, _X + "choose")
    pooled = etree.SubElement(choose, _X + "when", test=f"map:contains(${POOL_PARAMETER}, $abs)")
    etree.SubElement(pooled, _X + "sequence", select=f"${POOL_PARAMETER}($abs)")
    fresh = etree.SubElement(choose, _X + "otherwise")
    etree.SubElement(fresh, _X + "message", select=f"concat('{POOL_MESSAGE}', $abs)")
    etree.SubElement(fresh, _X + "sequence", select="doc($abs)")
    # doc-available() of a URI no file answers (a code system the terminology folder lacks: most of them)
    # asks the file system once per coded element; the URIs found absent are announced and passed back
    # in a second map, so that each is asked once per process.
    etree.SubElement(sheet, _X + "param", name=ABSENT_PARAMETER, select="map{}", **{"as": "map(*)"})
    available = etree.SubElement(sheet, _X + "function", name="hopen:doc-available", **{"as": "xs:boolean"})
    etree.SubElement(available, _X + "param", name="uri", **{"as": "xs:string?"})
    etree.SubElement(
        available, _X + "variable", name="abs", select="string(resolve-uri(string($uri), static-base-uri()))"
    )
    choose = etree.SubElement(available, _X + "choose")
    for test, value in (
        (f"map:contains(${POOL_PARAMETER}, $abs)", "true()"),
        (f"map:contains(${ABSENT_PARAMETER}, $abs)", "false()"),
        ("doc-available($abs)", "true()"),
    ):
        etree.SubElement(etree.SubElement(choose, _X + "when", test=test), _X + "sequence", select=value)
    absent = etree.SubElement(choose, _X + "otherwise")
    etree.SubElement(absent, _X + "message", select=f"concat('{ABSENT_MESSAGE}', $abs)")
    etree.SubElement(absent, _X + "sequence", select="false()")


_TEXT_LOOKUP = re.compile(rf"\s*//\s*(?P<name>{_QNAME})\s*\[\s*text\(\)\s*=\s*")


def _keyed_text_lookups(text: str, keys: dict[str, str]) -> str:
    """`hopen:doc(U)//N[text() = V]` (a code looked up in a terminology of several MB, once per code of the
    document) becomes a key lookup: `(for $d in hopen:doc(U) return key(K, V, $d))`, K an `xsl:key` on
    the text of N elements. The same nodes in the same order; the terminology is indexed once per run
    instead of scanned once per code."""
    out: list[str] = []
    position = 0
    while (start := text.find("hopen:doc(", position)) >= 0:
        argument_end = _closing(text, start + len("hopen:doc"))
        lookup = _TEXT_LOOKUP.match(text, argument_end + 1) if argument_end > 0 else None
        value_end = _closing(text, lookup.end() - 1, "[", "]", from_inside=True) if lookup else -1
        if lookup is None or value_end < 0:
            out.append(text[position : start + len("hopen:doc(")])
            position = start + len("hopen:doc(")
            continue
        value = text[lookup.end() : value_end].strip()
        key = keys.setdefault(lookup["name"], f"hopen-text-{len(keys)}")
        argument = text[start + len("hopen:doc(") : argument_end]
        out.append(text[position:start])
        out.append(f"(for $hopen_d in hopen:doc({argument}) return key('{key}', {value}, $hopen_d))")
        position = value_end + 1
    out.append(text[position:])
    return "".join(out)


def _closing(text: str, opening: int, open_char: str = "(", close_char: str = ")", *, from_inside: bool = False) -> int:
    """Index of the bracket closing the one at `opening` (or, `from_inside`, the one already open there),
    outside string literals; -1 when unbalanced or when the value holds another bracket of that kind."""
    depth = 1 if from_inside else 0
    quote = ""
    for index in range(opening + (1 if from_inside else 0), len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == open_char:
            if from_inside:
                return -1
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return index
    return -1


def _may_match_attribute(context: str) -> bool:
    """Whether a rule context can select attributes: `@`/`attribute::`/`node()` outside predicates."""
    depth = 0
    outside: list[str] = []
    quote = ""
    for char in context:
        if quote:
            quote = "" if char == quote else quote
            continue
        if char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            outside.append(char)
    steps = "".join(outside)
    return "@" in steps or "attribute::" in steps or "node()" in steps or steps.strip().startswith("$")


def _append_text(target: etree._Element, text: str) -> None:
    """Literal text, whitespace collapsed; a lone space needs xsl:text (the stylesheet strips blank nodes)."""
    collapsed = re.sub(r"\s+", " ", text)
    if not collapsed:
        return
    if collapsed.strip():
        if len(target):
            target[-1].tail = (target[-1].tail or "") + collapsed
        else:
            target.text = (target.text or "") + collapsed
        return
    node = etree.SubElement(target, _X + "text")
    node.text = " "


# ---------------------------------------------------------------- SVRL


_SVRL_ROOT = re.compile(r'(?:<\?xml[^>]*\?>)?<svrl:schematron-output xmlns:svrl="' + re.escape(SVRL_NS) + '"')
_SVRL_RESULT = re.compile(r"<svrl:f ([^>]*?)(?:/>|>([^<]*)</svrl:f>)")
_SVRL_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
_XML_REFERENCE = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(lt|gt|amp|quot|apos));")
_XML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    return _XML_REFERENCE.sub(
        lambda m: chr(int(m[1], 16)) if m[1] else chr(int(m[2])) if m[2] else _XML_ENTITIES[m[3]], text
    )


def parse_svrl(text: str, checks: list[dict[str, Any]]) -> SchematronRun:
    """Read our compact SVRL (`svrl:f n=… location=…`) back into assertions, with their static metadata."""
    if not text.strip():
        return SchematronRun([], 0, 0)
    if _SVRL_ROOT.match(text) and "<svrl:f " not in text.replace("<svrl:f n=", ""):
        return _scan_svrl(text, checks)
    return _parse_svrl_tree(text, checks)


def _assertion(check: dict[str, Any], location: str, text: str) -> SvrlAssertion:
    """One failed assert or successful report: the compiled check `n` names, where it fired and its text."""
    return SvrlAssertion(
        kind=check["kind"],
        rule_id=check["id"],
        test=check["test"],
        location=location,
        role=check["role"],
        text=" ".join(text.split()),
        pattern=check["pattern"],
        see=check["see"],
        unknown_value_set=check["unknown"],
    )


def _scan_svrl(text: str, checks: list[dict[str, Any]]) -> SchematronRun:
    """The SVRL Saxon serialised from our stylesheet, read with regular expressions (a tenth of a tree
    parse): results carry only text (value-of), the serialiser escapes `<` and `&` and nothing else
    matches the element names. Same assertions as `_parse_svrl_tree`."""
    assertions: list[SvrlAssertion] = []
    for match in _SVRL_RESULT.finditer(text):
        attributes = {name: _unescape(value) for name, value in _SVRL_ATTRIBUTE.findall(match[1])}
        check = checks[int(attributes.get("n", "0"))]
        assertions.append(_assertion(check, attributes.get("location", ""), _unescape(match[2] or "")))
    return SchematronRun(assertions, text.count("<svrl:fired-rule/>"), text.count("<svrl:active-pattern "))


def _parse_svrl_tree(text: str, checks: list[dict[str, Any]]) -> SchematronRun:
    root = etree.fromstring(text.encode("utf-8"))
    assertions: list[SvrlAssertion] = []
    for element in root.iter(f"{{{SVRL_NS}}}f"):
        check = checks[int(element.get("n", "0"))]
        assertions.append(_assertion(check, element.get("location", ""), element.xpath("string()")))
    fired = len(root.findall(f"{{{SVRL_NS}}}fired-rule"))
    active = len(root.findall(f"{{{SVRL_NS}}}active-pattern"))
    return SchematronRun(assertions, fired, active)


# ---------------------------------------------------------------- compiling with cache


_PROCESSOR_LOCK = threading.Lock()
_processor: Any = None
_compiled: dict[tuple[str, str, str], CompiledSchematron] = {}
_pruned: dict[tuple[str, str, str], tuple[frozenset[int], CompiledSchematron]] = {}
_COMPILE_LOCK = threading.Lock()  # guards the dictionaries above and _KEY_LOCKS, never held while compiling
_KEY_LOCKS: dict[tuple[str, str, str], threading.RLock] = {}
# cache key -> what the disk cache holds, with the stamps of the files it was generated from
_generated_memo: dict[str, tuple[GeneratedXslt, tuple[tuple[int, int], ...]]] = {}


def _key_lock(memo_key: tuple[str, str, str]) -> threading.RLock:
    """One lock per schematron: its compiles are done once, while other schematrons compile meanwhile."""
    with _COMPILE_LOCK:
        return _KEY_LOCKS.setdefault(memo_key, threading.RLock())


def saxon() -> Any:
    """The process-wide Saxon processor (saxonche allows one per process)."""
    global _processor
    with _PROCESSOR_LOCK:
        if _processor is None:
            from saxonche import PySaxonProcessor

            _processor = PySaxonProcessor(license=False)
        return _processor


def parse_for_saxon(data: bytes) -> Any:
    """Parse document bytes once, for every schematron to run on (raises on malformed XML)."""
    text = data.decode(_declared_encoding(data), errors="replace").lstrip("\ufeff")
    return saxon().parse_xml(xml_text=text)


def _declared_encoding(data: bytes) -> str:
    match = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", data)
    name = match.group(1).decode("ascii") if match else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


def cache_dir() -> Path:
    return settings.tool_cache_dir() / "schematron"


def _empty_value_set_uri() -> str:
    path = cache_dir() / "empty-value-set.xml"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_EMPTY_VALUE_SET, encoding="utf-8")
    return path.as_uri()


def _cache_key(source: Path, phase: str | None, strategy: str = "candidates") -> str:
    digest = hashlib.sha256()
    digest.update(f"{COMPILER_VERSION}\0{source.resolve()}\0{phase or ''}\0{strategy}\0".encode())
    digest.update(source.read_bytes())
    return digest.hexdigest()[:32]


@dataclass(slots=True)
class GeneratedXslt:
    """What the schematron-to-XSLT step produces, and what the disk cache keeps."""

    xslt: str
    checks: list[dict[str, Any]]
    notes: list[ToolNote]
    files: dict[str, str]  # every file read -> sha256, to validate the cache entry
    title: str
    rules: list[list[candidates.Route] | None] = field(default_factory=list)
    namespaces: dict[str, str] = field(default_factory=dict)
    tests: list[list[str | None]] = field(default_factory=list)  # per rule template: candidates.match_tests
    filters: list[list[str | None] | None] = field(default_factory=list)  # per rule template: its step filters
    _selections: dict[tuple[int, ...], str | None] = field(default_factory=dict, repr=False, compare=False)

    def selection(self, numbers: tuple[int, ...]) -> str | None:
        """The candidate selection (candidates.py) of these rules' routes; None if one has none. Kept for the
        process: a pruned stylesheet checks its patterns' selections against it (pruned_xslt)."""
        if numbers in self._selections:
            return self._selections[numbers]
        routed = [self.rules[n] if 0 <= n < len(self.rules) else None for n in numbers]
        if any(found is None for found in routed):
            return None
        filters = [self._filters(n, len(found or ())) for n, found in zip(numbers, routed, strict=True)]
        expression = candidates.routes_expression(
            (route for found in routed for route in found or ()), (f for found in filters for f in found)
        )
        if len(self._selections) < SELECTIONS_KEPT:
            self._selections[numbers] = expression
        return expression

    def _filters(self, number: int, count: int) -> list[str | None]:
        """The step filters of rule `number`'s routes (None each: not filtered)."""
        found = self.filters[number] if 0 <= number < len(self.filters) else None
        return found if found is not None and len(found) == count else [None] * count

    def match_tests(self) -> list[list[str | None]]:
        if len(self.tests) != len(self.rules):  # a cache entry written before the tests were kept
            sheet = etree.fromstring(self.xslt.encode("utf-8"))
            found = {int(t.get(RULE_ATTRIBUTE, -1)): t.get("match", "") for t in sheet.findall(_X + "template")}
            self.tests = [candidates.match_tests(found.get(number, "")) for number in range(len(self.rules))]
        return self.tests


def _load_cached(key: str) -> GeneratedXslt | None:
    meta_path = cache_dir() / f"{key}.json"
    xslt_path = cache_dir() / f"{key}.xsl"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        for name, digest in meta["files"].items():
            if hashlib.sha256(Path(name).read_bytes()).hexdigest() != digest:
                return None
        return GeneratedXslt(
            xslt=xslt_path.read_text(encoding="utf-8"),
            checks=meta["checks"],
            notes=[ToolNote(**note) for note in meta["notes"]],
            files=meta["files"],
            title=meta["title"],
            rules=[_routes_from_json(r) for r in meta["rules"]],
            namespaces=meta["namespaces"],
            tests=meta.get("tests", []),
            filters=meta.get("filters", []),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _store_cached(key: str, generated: GeneratedXslt) -> None:
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _atomic_write(directory / f"{key}.xsl", generated.xslt)
        meta = {
            "files": generated.files,
            "checks": generated.checks,
            "notes": [_note_dict(note) for note in generated.notes],
            "title": generated.title,
            "rules": generated.rules,
            "namespaces": generated.namespaces,
            "tests": generated.match_tests(),
            "filters": generated.filters,
        }
        _atomic_write(directory / f"{key}.json", json.dumps(meta))  # written last: it validates the entry
    except OSError:
        pass  # an unwritable cache only costs time


def _routes_from_json(value: Any) -> list[candidates.Route] | None:
    if value is None:
        return None
    return [(tuple(start), tuple((sep, test) for sep, test in steps)) for start, steps in value]


def _note_dict(note: ToolNote) -> dict[str, str]:
    return {k: getattr(note, k) for k in ("rule", "severity", "message_fr", "message_en", "location")}


def schematron_to_xslt(
    source: Path, phase: str | None = None, strategy: str = "candidates", *, share_abstract_rules: bool = True
) -> GeneratedXslt:
    """The XSLT for one schematron (and phase), with the pack defects met and the files read.

    `share_abstract_rules=False` inlines every abstract rule where it is extended (the plain ISO expansion),
    for the tests that compare both forms."""
    assembler = _Assembler(source)
    try:
        schema = assembler.load(source)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SchematronError(f"cannot read schematron {source}: {exc}") from exc
    _instantiate_abstract_patterns(schema)
    abstracts = _detach_abstract_rules(schema)
    generator = _Generator(
        schema, source, phase, assembler.notes, _empty_value_set_uri(), strategy, abstracts, share_abstract_rules
    )
    xslt = generator.generate()
    title = schema.find(_S + "title")
    return GeneratedXslt(
        xslt=xslt,
        checks=generator.checks,
        notes=assembler.notes,
        files=assembler.files,
        title=" ".join((title.xpath("string()") if title is not None else "").split()),
        rules=generator.rules,
        namespaces=generator.namespaces,
        tests=generator.tests,
        filters=generator.filters,
    )


def compile_schematron(
    source: Path, phase: str | None = None, *, use_disk_cache: bool = True, strategy: str = "candidates"
) -> CompiledSchematron:
    """Compile once per process; reuse the generated XSLT from the disk cache across processes.

    Saxon-HE cannot export compiled stylesheets (SEF needs Saxon-EE), so a new process still pays the
    Saxon compile; the disk cache saves the include resolution and XSLT generation.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown schematron strategy {strategy!r}")
    source = resolved(source)
    memo_key = (str(source), phase or "", strategy)
    with _key_lock(memo_key):  # one compile per schematron even when threads (warm_up, a listener) race for it
        compiled = _compiled.get(memo_key)
        if compiled is None:
            compiled = _compile(source, phase, use_disk_cache, strategy)
            with _COMPILE_LOCK:
                _compiled[memo_key] = compiled
                _pruned.pop(memo_key, None)
        return compiled


def resolved(source: Path) -> Path:
    """`source.resolve()`, worked out once per process for an absolute path (a stat of each folder of the
    path: every document asks for the same half-dozen schematrons)."""
    return _resolved_absolute(source) if source.is_absolute() else source.resolve()


@functools.lru_cache(maxsize=1024)
def _resolved_absolute(source: Path) -> Path:
    return source.resolve()


def generated_xslt(source: Path, phase: str | None = None, strategy: str = "candidates") -> GeneratedXslt:
    """The XSLT generated for a schematron (from the disk cache when it is there), kept for this process."""
    return _generated(resolved(source), phase, True, strategy)[0]


def _generated(source: Path, phase: str | None, use_disk_cache: bool, strategy: str) -> tuple[GeneratedXslt, bool]:
    _empty_value_set_uri()  # cached XSLT may point at the stub: make sure it exists
    key = _cache_key(source, phase, strategy)
    memo = _generated_memo.get(key) if use_disk_cache else None
    if memo is not None and memo[1] == _file_stamps(memo[0].files):  # read once per process (megabytes of JSON)
        return memo[0], True
    generated = _load_cached(key) if use_disk_cache else None
    if generated is not None:
        _generated_memo[key] = (generated, _file_stamps(generated.files))
        return generated, True
    generated = schematron_to_xslt(source, phase, strategy)
    if use_disk_cache:
        _store_cached(key, generated)
        _generated_memo[key] = (generated, _file_stamps(generated.files))
    return generated, False


def _file_stamps(files: dict[str, str]) -> tuple[tuple[int, int], ...]:
    """Size and modification time of each file a generated XSLT was read from (an edited include shows)."""
    stamps = []
    for name in files:
        try:
            status = os.stat(name)
            stamps.append((status.st_size, status.st_mtime_ns))
        except OSError:
            stamps.append((-1, -1))
    return tuple(stamps)


def _saxon_compile(xslt: str, name: str) -> Any:
    processor = saxon()
    with _PROCESSOR_LOCK:
        compiler = processor.new_xslt30_processor()
    try:  # outside the processor lock; saxonche keeps the interpreter lock while compiling all the same
        executable = compiler.compile_stylesheet(stylesheet_text=xslt, encoding="utf-8")
    except Exception as exc:  # saxonche raises PySaxonApiError with the static errors
        raise SchematronError(f"XSLT generated from {name} does not compile: {exc}") from exc
    executable.set_save_xsl_message(True)  # the document pool's "loaded" notices, never printed
    return executable


def _compile(
    source: Path,
    phase: str | None,
    use_disk_cache: bool,
    strategy: str,
    keep: frozenset[int] | None = None,
    prepared: tuple[GeneratedXslt, bool] | None = None,
) -> CompiledSchematron:
    started = time.perf_counter()
    generated, cache_hit = prepared or _generated(source, phase, use_disk_cache, strategy)
    xslt = generated.xslt if keep is None else pruned_xslt(generated.xslt, keep, generated)
    executable = _saxon_compile(xslt, source.name)
    return CompiledSchematron(
        source=source,
        phase=phase or "",
        xslt=xslt,
        checks=generated.checks,
        notes=generated.notes,
        title=generated.title,
        cache_hit=cache_hit,
        compile_seconds=time.perf_counter() - started,
        executable=executable,
        rules_kept=len(generated.rules) if keep is None else len(keep),
    )


def pruned_xslt(xslt: str, keep: frozenset[int], generated: GeneratedXslt | None = None) -> str:
    """The stylesheet without the rule templates not in `keep` (their checks keep their numbers). Given what
    `xslt` was generated with (its rules' routes), each pattern's candidate selection is narrowed to the
    kept rules."""
    sheet = etree.fromstring(xslt.encode("utf-8"))
    patterns: dict[int, set[int]] = {}  # pattern (its mode's number) -> its rule templates
    for template in sheet.findall(_X + "template"):
        rule = template.get(RULE_ATTRIBUTE)
        if rule is None:
            continue
        pattern = _PATTERN_MODE.match(template.get("mode") or "")
        if pattern is not None:
            patterns.setdefault(int(pattern.group(1)), set()).add(int(rule))
        if int(rule) not in keep:
            sheet.remove(template)
    if generated is not None:
        _narrow_selections(sheet, patterns, keep, generated)
    # A pattern left without rules emits nothing: its mode (fallback templates, walk) goes too; so does a
    # dispatching template (dispatch.py) whose target mode lost its rules, and then maybe its own mode.
    used = {t.get("mode") for t in sheet.findall(_X + "template") if t.get(RULE_ATTRIBUTE) is not None}
    for template in sheet.findall(_X + "template"):
        if template.get(dispatch.DISPATCH_ATTRIBUTE) not in (None, *used):
            sheet.remove(template)
    used |= {t.get("mode") for t in sheet.findall(_X + "template") if t.get(dispatch.DISPATCH_ATTRIBUTE)}
    for template in sheet.findall(_X + "template"):
        if template.get("mode") is not None and template.get("mode") not in used:
            sheet.remove(template)
    for apply in list(sheet.iter(_X + "apply-templates")):
        if apply.get("mode") is not None and apply.get("mode") not in used:
            parent = apply.getparent()
            parent.remove(apply)
            if parent.tag == _X + "for-each" and len(parent) == 0:  # the single walk, now empty
                parent.getparent().remove(parent)
    # The shared abstract-rule templates no kept rule calls go too (Saxon compiles what it is given).
    named = {t.get("name"): t for t in sheet.findall(_X + "template") if (t.get("name") or "").startswith("hopen:")}
    called: set[str] = set()
    pending = [t for t in sheet.findall(_X + "template") if t.get("name") is None]
    while pending:
        for call in pending.pop().iter(_X + "call-template"):
            name = call.get("name", "")
            if name not in called:
                called.add(name)
                if name in named:
                    pending.append(named[name])
    for name, template in named.items():
        if name not in called:
            sheet.remove(template)
    _share_repeated_checks(sheet)
    return etree.tostring(sheet, encoding="unicode")


_PATTERN_MODE = re.compile(r"M(\d+)")  # M2, and the modes dispatch.py derives from it: M2p16, M2g, M2u
_SELECTION_MODE = re.compile(r"M(\d+)u?")


def _narrow_selections(
    sheet: etree._Element, patterns: dict[int, set[int]], keep: frozenset[int], generated: GeneratedXslt
) -> None:
    """Each pattern's candidate selection (candidates.py) made of its kept rules' routes only. A node only
    the dropped rules' routes lead to matches no kept rule (a rule matches nothing off its own routes) and
    fell to the pattern's empty fallback: selecting fewer such nodes changes no output, while Saxon's
    compile time follows the size of the expression (about a fifth of a pruned structuration minimale). A
    selection is replaced only when it is, word for word, the expression of all the pattern's routes."""
    main = sheet.find(_X + "template[@match='/']")
    if main is None:
        return
    for element in main.iter(_X + "apply-templates", _X + "for-each"):
        # <apply-templates select=candidates mode=M2/>, or dispatched (dispatch.py): <for-each select=candidates>
        # <apply-templates mode=M2u .../></for-each>
        apply = element if element.tag == _X + "apply-templates" else element.find(_X + "apply-templates")
        select = element.get("select")
        found = _SELECTION_MODE.fullmatch(apply.get("mode") or "") if apply is not None else None
        numbers = tuple(sorted(patterns.get(int(found.group(1)), ()))) if found is not None else ()
        if not select or not numbers or generated.selection(numbers) != select:
            continue
        narrowed = generated.selection(tuple(n for n in numbers if n in keep))
        if narrowed is not None:
            element.set("select", narrowed)


_SVRL_RESULT_TAG = f"{{{SVRL_NS}}}f"
SHARED_CHECK_PREFIX = "hopen:check-"


def _share_repeated_checks(sheet: etree._Element) -> int:
    """A check repeated word for word in several rule templates (the same datatype checks under many
    parents in the structuration minimale profile) compiled once, as a named template the rules call with
    their check number: Saxon's compile time follows the code it is given. A named template sees the global
    variables only: a check naming a variable of its rule stays in the rule. A call keeps the context item,
    position and size, so the test sees what it saw in the rule. Returns how many were shared."""
    groups: dict[bytes, list[tuple[etree._Element, int]]] = {}
    for template in sheet.findall(_X + "template"):
        if template.get(RULE_ATTRIBUTE) is None:
            continue
        local = [variable.get("name", "") for variable in template.findall(_X + "variable")]
        uses_local = re.compile("|".join(rf"\$\s*{re.escape(name)}(?![\w.\-])" for name in local)) if local else None
        for check in template.findall(_X + "if"):
            results = list(check.iter(_SVRL_RESULT_TAG))
            number = results[0].get("n", "") if len(results) == 1 else ""
            if not number.isdigit():
                continue
            results[0].set("n", "")
            key = etree.tostring(check)
            results[0].set("n", number)
            if uses_local is None or not uses_local.search(key.decode("utf-8")):
                groups.setdefault(key, []).append((check, int(number)))
    shared = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        name = f"{SHARED_CHECK_PREFIX}{shared}"
        shared += 1
        named = etree.SubElement(sheet, _X + "template", name=name)
        etree.SubElement(named, _X + "param", name="hopen_b", **{"as": "xs:integer"})
        body = copy.deepcopy(members[0][0])
        body.tail = None
        next(body.iter(_SVRL_RESULT_TAG)).set("n", "{$hopen_b}")
        named.append(body)
        for check, number in members:
            call = etree.Element(_X + "call-template", name=name)
            etree.SubElement(call, _X + "with-param", name="hopen_b", select=str(number))
            call.tail = check.tail
            check.getparent().replace(check, call)
    return shared


def rules_needed(generated: GeneratedXslt, index: candidates.DocumentIndex) -> frozenset[int]:
    """The rules whose context can match something in the document (or that cannot be analysed): its
    paths select something, and (when lxml can tell) a selected element matches the context's predicates."""
    tests = generated.match_tests()
    namespaces = generated.namespaces
    return frozenset(
        number
        for number, found in enumerate(generated.rules)
        if found is None
        or (
            any(index.present(route, namespaces) for route in found)
            and index.may_match(found, tests[number], namespaces)
        )
    )


def compile_rules(
    source: Path, keep: frozenset[int], phase: str | None = None, *, strategy: str = "candidates"
) -> CompiledSchematron:
    """A fresh compile of only the rule templates numbered in `keep` (not memoised)."""
    return _compile(resolved(source), phase, True, strategy, keep)


_PRUNE_EVERY_DOCUMENT = False
_OPTIMIZATION_LEVEL = "http://saxon.sf.net/feature/optimizationLevel"


def prune_every_document(enabled: bool) -> None:
    """A process that hands its documents to warm engines soon (the validation service while they warm up)
    compiles only each document's rules, never a whole schematron (seconds holding the interpreter lock),
    and without Saxon's optimiser: a fifth less compile time, and each stylesheet serves one document."""
    global _PRUNE_EVERY_DOCUMENT
    _PRUNE_EVERY_DOCUMENT = enabled
    processor = saxon()
    with _PROCESSOR_LOCK:
        processor.set_configuration_property(_OPTIMIZATION_LEVEL, "0" if enabled else "10")


def compiled_whole(
    source: Path, phase: str | None = None, *, strategy: str = "candidates"
) -> CompiledSchematron | None:
    """The schematron compiled whole in this process, if it is already."""
    return _compiled.get((str(resolved(source)), phase or "", strategy))


def compile_for_document(
    source: Path, index: candidates.DocumentIndex, phase: str | None = None, *, strategy: str = "candidates"
) -> CompiledSchematron:
    """The first use of a big schematron in a process compiles only the rules this document can fire.

    Saxon's compile time follows the number of rules compiled (seconds for the structuration minimale
    profile) and Saxon-HE cannot save compiled stylesheets: a one-document `conformance validate` compiles
    the rules its document needs. As soon as a second document needs other rules, the process is validating
    several documents and the whole schematron is compiled once for all of them (unless
    `prune_every_document` was turned on).
    """
    source = resolved(source)
    memo_key = (str(source), phase or "", strategy)
    whole = _compiled.get(memo_key)
    if whole is not None:
        return whole
    lock = _key_lock(memo_key)
    if not lock.acquire(blocking=False):
        # The whole schematron is being compiled (the service's warm-up): this document's rules meanwhile.
        return _pruned_for(source, phase, strategy, index, memo_key)
    try:
        if memo_key in _compiled:
            return _compiled[memo_key]
        generated, cache_hit = _generated(source, phase, True, strategy)
        keep = rules_needed(generated, index)
        pruned = _pruned.get(memo_key)
        if pruned is not None and keep <= pruned[0]:  # rules no node here can match change nothing
            return pruned[1]
        second = pruned is not None and not _PRUNE_EVERY_DOCUMENT  # another document needed other rules
        if len(generated.checks) < PRUNE_MIN_CHECKS or len(keep) == len(generated.rules) or second:
            return compile_schematron(source, phase, strategy=strategy)
        compiled = _compile(source, phase, True, strategy, keep, (generated, cache_hit))
        with _COMPILE_LOCK:
            _pruned[memo_key] = (keep, compiled)
        return compiled
    finally:
        lock.release()


def _pruned_for(
    source: Path, phase: str | None, strategy: str, index: candidates.DocumentIndex, memo_key: tuple[str, str, str]
) -> CompiledSchematron:
    generated, cache_hit = _generated(source, phase, True, strategy)
    keep = rules_needed(generated, index)
    pruned = _pruned.get(memo_key)
    if pruned is not None and keep <= pruned[0]:
        return pruned[1]
    compiled = _compile(source, phase, True, strategy, keep, (generated, cache_hit))
    with _COMPILE_LOCK:
        _pruned[memo_key] = (keep, compiled)
    return compiled


def clear_memory_cache() -> None:
    """Forget compiled executables (the bench uses it to measure cold and disk-cached compiles)."""
    with _COMPILE_LOCK:
        _compiled.clear()
        _pruned.clear()
        _generated_memo.clear()
    pool.clear()
