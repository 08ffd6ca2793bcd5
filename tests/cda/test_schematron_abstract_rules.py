"""Abstract rules compiled once as named templates report exactly what their inline expansion reports.

ISO Schematron inserts an abstract rule's content wherever a rule `extends` it; the compiler shares that
content in one named template when scoping allows it (see `_Generator._shareable`). Both forms must give the
same failed asserts, with the same ids, locations, texts and missing-value-set flags, on the ANS examples
and on small schematrons whose variables make sharing unsafe (SHALL: same findings as before).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conformance.validation.cda import schematron as sch
from conformance.validation.cda.pack import load_pack

from .conftest import example_bytes
from .test_examples import SEVERAL_VOLETS


def _report(generated: sch.GeneratedXslt, parsed: object) -> tuple[Counter, int]:
    compiled = sch._saxon_compile(generated.xslt, "test")
    run = sch.parse_svrl(compiled.transform_to_string(xdm_node=parsed) or "", generated.checks)
    return Counter(
        (a.kind, a.rule_id, a.location, a.text, a.unknown_value_set) for a in run.assertions
    ), run.fired_rules


def _both(path: Path) -> tuple[sch.GeneratedXslt, sch.GeneratedXslt]:
    return sch.schematron_to_xslt(path.resolve()), sch.schematron_to_xslt(path.resolve(), share_abstract_rules=False)


@pytest.mark.parametrize("profile", ["StructurationMinimale", "terminologies"])
def test_shared_abstract_rules_report_like_their_inline_expansion(profile: str) -> None:
    shared, inline = _both(load_pack().profile_schematrons()[profile])
    assert shared.checks == inline.checks and shared.notes == inline.notes
    assert "hopen:abstract-" in shared.xslt and "hopen:abstract-" not in inline.xslt
    failures = 0
    for name in [*SEVERAL_VOLETS, "eDISP-MED_2024.01.xml"]:
        parsed = sch.parse_for_saxon(example_bytes(name))
        assert _report(shared, parsed) == _report(inline, parsed), name
        failures += sum(n for (kind, *_), n in _report(shared, parsed)[0].items() if kind == "failed-assert")
    if profile == "StructurationMinimale":
        assert failures >= 1  # the comparison is not vacuous
        assert len(shared.xslt) * 2 < len(inline.xslt)  # why it is done: a much smaller stylesheet


_SCHEMA = """<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <let name="g" value="'G'"/>
  <pattern id="p">
    <rule abstract="true" id="own-let"><let name="x" value="'X'"/><assert test="@a = $x">a is $x</assert></rule>
    <rule abstract="true" id="host-let"><assert test="@b = $h">b is $h</assert></rule>
    <rule abstract="true" id="global"><assert test="@c = $g">c <value-of select="$g"/></assert>
      <extends rule="own-let"/></rule>
    <rule context="e1"><extends rule="own-let"/><assert test="@d = $x">d uses the abstract rule's let</assert></rule>
    <rule context="e2"><let name="h" value="'H'"/><extends rule="host-let"/></rule>
    <rule context="e3"><extends rule="global"/><extends rule="global"/></rule>
    <rule context="e4"><let name="x" value="'Y'"/><extends rule="own-let"/></rule>
  </pattern>
</schema>"""
_DOCUMENT = "<r><e1 a='Z' d='X'/><e1 a='X' d='Z'/><e2 b='Z'/><e3 c='Z' a='Z'/><e4 a='Y'/><e4 a='X'/></r>"


def test_sharing_follows_variable_scopes(tmp_path: Path) -> None:
    """Where a let of the rule or of the abstract rule crosses the boundary, the content stays inline."""
    path = tmp_path / "scopes.sch"
    path.write_text(_SCHEMA, encoding="utf-8")
    shared, inline = _both(path)
    parsed = sch.parse_for_saxon(_DOCUMENT.encode())
    report, fired = _report(shared, parsed)
    assert (report, fired) == _report(inline, parsed)
    failed = sorted((location, text) for (_kind, _id, location, text, _u) in report.elements())
    assert failed == [
        ("/r[1]/e1[1]", "a is $x"),
        ("/r[1]/e1[2]", "d uses the abstract rule's let"),
        ("/r[1]/e2[1]", "b is $h"),
        ("/r[1]/e3[1]", "a is $x"),
        ("/r[1]/e3[1]", "a is $x"),
        ("/r[1]/e3[1]", "c G"),
        ("/r[1]/e3[1]", "c G"),
        ("/r[1]/e4[1]", "a is $x"),  # the abstract rule's own let hides the rule's, shared or not
    ]
    # Shared: e3's two `extends` of "global" and e4's; inline: e1 (its rule uses the abstract rule's let
    # after it) and e2 (the abstract rule uses the rule's let).
    assert shared.xslt.count("<xsl:call-template") == 3
