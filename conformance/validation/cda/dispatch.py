"""Cheaper template matching for the big generated patterns: rules dispatched on the parent element of the
node, and an ancestor-name guard in front of the predicates of each rule context.

Saxon indexes template rules by the name of the node they match and tries the rules of one name in turn,
evaluating a rule's own predicates before it looks at the parent. The ART-DECOR closed-template checks of
the structuration minimale profile (`//hl7:ClinicalDocument[...]/hl7:recordTarget/*[not(self::hl7:id |
self::hl7:patientRole | ...)]`, 148 rules ending in `*`) share one list that Saxon tried on every header
element, each time evaluating a union of a few dozen `self::` tests: two thirds of the profile's run time.

* Dispatch: for a pattern of many rules, the candidate node is handed to its parent in a mode whose template
  rules are keyed by the parent's name (Saxon indexes them), which applies the node in a mode holding only
  the rules whose context requires that parent, in their original priority order. A rule whose context
  does not name the parent ("generic") is tried in every such mode, through a stub that applies the node
  in a mode holding only the generic rules. The same rule fires on the same node, once, in the same order.
* Guard: `B/A/T[p]` becomes `B/A/T[parent::A/parent::B][p]`. For every node the child step of an `A`
  selects, `parent::A` holds, and `parent::A/parent::B` holds for all of them or for none (the pattern
  requires that parent chain anyway), so the guard filters out no node of a match and changes no position
  a predicate sees, while the cheap name tests now run before the costly predicates.
"""

from __future__ import annotations

import copy

from lxml import etree

from . import candidates

XSL_NS = "http://www.w3.org/1999/XSL/Transform"
HOPEN_NS = "urn:hopen-conformance:schematron"
DISPATCH_ATTRIBUTE = f"{{{HOPEN_NS}}}dispatch"  # on a dispatching template: the mode it hands nodes to
RULE_ATTRIBUTE = f"{{{HOPEN_NS}}}rule"
MIN_RULES = 24  # rules Saxon cannot index by name (a `*` last step) before a pattern is dispatched
MAX_GENERIC = 8  # each generic rule gets a stub in every parent's mode
GUARD_DEPTH = 3  # parent names checked first (measured: deeper guards cost more than they save)
NODE_PARAMETER = "hopen_x"

_X = f"{{{XSL_NS}}}"


def guarded(match: str, namespaces: dict[str, str]) -> str:
    """The rule context with a parent-name guard before the predicates of the last step of each branch."""
    return "|".join(_guarded_branch(branch, namespaces) for branch in candidates._split_top(match, "|"))


def _guarded_branch(branch: str, namespaces: dict[str, str]) -> str:
    steps = candidates.parse_steps(branch)
    if not steps or len(steps) < 2:
        return branch
    chain: list[str] = []
    for index in range(len(steps) - 1, 0, -1):
        above = steps[index - 1]
        if steps[index].separator != "/" or not _element_test(above.test) or len(chain) >= GUARD_DEPTH:
            break
        chain.append(f"parent::{above.test}")
    if not chain:
        return branch
    parts = candidates._split_top(branch, "/")
    last = parts[-1]
    bracket = next((index for index, char, _ in candidates._scan(last) if char == "["), None)
    guard = f"[{'/'.join(chain)}]"
    parts[-1] = last.rstrip() + guard if bracket is None else last[:bracket] + guard + last[bracket:]
    return "/".join(parts)


def _element_test(test: str) -> bool:
    return candidates._is_element_test(test) and "(" not in test


def parent_key(branch: str, namespaces: dict[str, str]) -> str | None:
    """The expanded name (`Q{uri}local`) the parent of a node matching this branch must have, or None."""
    steps = candidates.parse_steps(branch)
    if not steps or len(steps) < 2 or steps[-1].separator != "/":
        return None
    test = steps[-2].test
    if not _element_test(test) or "*" in test:
        return None
    prefix, _, local = test.rpartition(":")
    uri = namespaces.get(prefix) if prefix else ""
    return None if uri is None else f"Q{{{uri}}}{local}"


def dispatch(sheet: etree._Element, apply: etree._Element, namespaces: dict[str, str]) -> etree._Element | None:
    """Rewrite the pattern that `apply` (`<xsl:apply-templates select=candidates mode=M/>`) runs so that its
    rules are dispatched on the parent's name; returns the `xsl:for-each` over the candidates that replaced
    `apply`, or None (nothing changed) when the pattern does not gain."""
    mode = apply.get("mode", "")
    rules = [t for t in sheet.findall(_X + "template") if t.get("mode") == mode and t.get(RULE_ATTRIBUTE)]
    keys = [[parent_key(b, namespaces) for b in candidates._split_top(t.get("match", ""), "|")] for t in rules]
    generic = [rule for rule, found in zip(rules, keys, strict=True) if None in found]
    unindexed = sum(1 for rule in rules if _unindexed(rule.get("match", "")))
    if unindexed < MIN_RULES or len(generic) > MAX_GENERIC:
        return None
    groups: dict[str, list[etree._Element]] = {}  # priorities are explicit: the order of a group is free
    for rule, found in zip(rules, keys, strict=True):
        for key in dict.fromkeys(found):
            if rule not in generic and key is not None:
                groups.setdefault(key, []).append(rule)
    generic_mode = f"{mode}g"
    up = f"{mode}u"
    for index, (key, members) in enumerate(groups.items()):
        group_mode = f"{mode}p{index}"
        _dispatcher(sheet, key, up, group_mode)
        for rule in members:
            placed = rule if rule.get("mode") == mode else copy.deepcopy(rule)  # a rule of several parents
            placed.set("mode", group_mode)
            if placed is not rule:
                sheet.append(placed)
        for rule in generic:
            _stub(sheet, rule, group_mode, generic_mode)
        _fallback(sheet, group_mode)
    for rule in generic:
        rule.set("mode", generic_mode)
    if generic:
        _dispatcher(sheet, "node()|/", up, generic_mode, priority="-2")
        _fallback(sheet, generic_mode)
    else:
        _fallback(sheet, up)
    for template in sheet.findall(_X + "template"):
        if template.get("mode") == mode:  # the pattern's own text() and fallback templates
            sheet.remove(template)
    each = etree.Element(_X + "for-each", select=apply.get("select", ""))
    hand = etree.SubElement(each, _X + "apply-templates", select="if (..) then .. else .", mode=up)
    etree.SubElement(hand, _X + "with-param", name=NODE_PARAMETER, select=".")
    apply.getparent().replace(apply, each)
    return each


def _unindexed(match: str) -> bool:
    """Whether Saxon must try the rule on every node: some branch does not end in a plain name test."""
    for branch in candidates._split_top(match, "|"):
        steps = candidates.parse_steps(branch)
        test = steps[-1].test if steps else "*"
        if "*" in test or "(" in test:
            return True
    return False


def _dispatcher(sheet: etree._Element, match: str, up: str, target: str, priority: str | None = None) -> None:
    template = etree.SubElement(sheet, _X + "template", match=match, mode=up)
    if priority is not None:
        template.set("priority", priority)
    template.set(DISPATCH_ATTRIBUTE, target)
    etree.SubElement(template, _X + "param", name=NODE_PARAMETER, **{"as": "node()"})
    etree.SubElement(template, _X + "apply-templates", select=f"${NODE_PARAMETER}", mode=target)


def _stub(sheet: etree._Element, rule: etree._Element, mode: str, generic_mode: str) -> None:
    """In a parent's mode, a generic rule at its priority hands the node to the generic rules: the first of
    those that matches is this one (a generic rule of higher priority would have had its stub tried first)."""
    stub = etree.SubElement(sheet, _X + "template", match=rule.get("match", ""), mode=mode)
    stub.set("priority", rule.get("priority", "0"))
    stub.set(RULE_ATTRIBUTE, rule.get(RULE_ATTRIBUTE, ""))
    etree.SubElement(stub, _X + "apply-templates", select=".", mode=generic_mode)


def _fallback(sheet: etree._Element, mode: str) -> None:
    etree.SubElement(sheet, _X + "template", match="@*|node()|/", mode=mode, priority="-2")
