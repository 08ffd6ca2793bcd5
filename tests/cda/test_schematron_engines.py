"""The optimised schematron engine (candidate selection) fires exactly what the full walk fires.

The "walk" strategy visits every node of the document for every pattern, as the ISO reference does; the
default "candidates" strategy only visits the nodes some rule of the pattern can match (see candidates.py).
On the ANS examples both must report the same failed asserts and successful reports, at the same locations,
with the same text, and the same number of fired rules.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from conformance.validation.cda import candidates
from conformance.validation.cda import schematron as sch
from conformance.validation.cda.document import choose_schematrons, find_clinical_document
from conformance.validation.cda.pack import load_pack
from conformance.validation.options import ValidateOptions

from .conftest import example_bytes, examples_dir
from .test_examples import SEVERAL_VOLETS

NS = {"cda": candidates.V3, "other": "urn:example"}


def _fired(path: Path, strategy: str, parsed: object) -> tuple[Counter, int]:
    run = sch.compile_schematron(path, strategy=strategy).run(parsed)
    return Counter((a.kind, a.rule_id, a.location, a.text) for a in run.assertions), run.fired_rules


def _same_on(names: list[str], *, profiles_only: bool = False) -> int:
    pack = load_pack()
    compared = 0
    for name in names:
        data = example_bytes(name)
        document = find_clinical_document(etree.fromstring(data))
        choices, _notes = choose_schematrons(document, pack, ValidateOptions())
        parsed = sch.parse_for_saxon(data)
        for choice in choices:
            if profiles_only and choice.label == "volet":
                continue
            walked = _fired(choice.path, "walk", parsed)
            selected = _fired(choice.path, "candidates", parsed)
            assert selected == walked, f"{name} / {choice.path.name}"
            compared += 1
    return compared


def test_same_assertions_as_the_full_walk_on_several_volets() -> None:
    assert _same_on(SEVERAL_VOLETS) == 6 * len(SEVERAL_VOLETS)


def test_same_assertions_as_the_full_walk_on_every_example_profiles() -> None:
    names = sorted(p.name for p in examples_dir().glob("*.xml"))
    assert _same_on(names, profiles_only=True) == 5 * len(names)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_same_assertions_as_the_full_walk_on_every_example() -> None:
    names = sorted(p.name for p in examples_dir().glob("*.xml"))
    assert _same_on(names) >= 6 * len(names) - 5  # a few examples have no volet schematron


def test_same_assertions_on_the_examples_with_failures() -> None:
    """The comparison is not vacuous: examples where the pack reports errors agree error for error."""
    pack = load_pack()
    path = pack.profile_schematrons()["StructurationMinimale"]
    parsed = sch.parse_for_saxon(example_bytes("eDISP-MED_2024.01.xml"))
    walked, fired = _fired(path, "walk", parsed)
    assert sum(n for (kind, *_), n in walked.items() if kind == "failed-assert") >= 1 and fired > 100
    assert _fired(path, "candidates", parsed) == (walked, fired)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("*[cda:templateId/@root = '1.2.3']", "key('hopen-tid', ('1.2.3'))"),
        ('cda:section[cda:templateId[@root="1"][@extension="x"]]', "key('hopen-tid', ('1'))"),
        ("*[cda:templateId/@root='1' or cda:templateId/@root='2']/cda:code", "key('hopen-tid', ('1', '2'))/(cda:code)"),
        (
            "cda:entry[cda:templateId/@root='1' and @typeCode='COMP']//@code",
            "key('hopen-tid', ('1'))/(descendant-or-self::node()/@code)",
        ),
        ("/cda:ClinicalDocument/cda:title", "cda:ClinicalDocument/(cda:title)"),
        ("cda:entry[not(cda:templateId/@root='1')]", "descendant-or-self::node()/cda:entry"),
        ("cda:entry[cda:act[cda:templateId/@root='1']]", "descendant-or-self::node()/cda:entry"),
        ("other:x[other:templateId/@root='1']", "descendant-or-self::node()/other:x"),
        ("/", "."),
    ],
)
def test_candidate_expressions(context: str, expected: str) -> None:
    assert candidates.candidate_expression([context], NS) == expected


@pytest.mark.parametrize("context", ["$nodes", "id('x')", "(a | b)/c", "ancestor::cda:section", "a except b"])
def test_contexts_not_understood_fall_back_to_the_walk(context: str) -> None:
    assert candidates.candidate_expression([context], NS) is None


@pytest.mark.parametrize(
    ("profile", "names"),
    [
        ("IHE", SEVERAL_VOLETS),
        ("ModelesDeContenusCDA", SEVERAL_VOLETS),
        ("StructurationMinimale", ["eDISP-MED_2024.01.xml", "LDL-EES_2022.01.xml"]),
    ],
)
def test_rules_pruned_for_one_document_report_the_same(profile: str, names: list[str]) -> None:
    """A first use compiles only the rules the document can fire: same report as the whole schematron."""
    path = load_pack().profile_schematrons()[profile]
    generated, _hit = sch._generated(path.resolve(), None, True, "candidates")
    for name in names:
        data = example_bytes(name)
        keep = sch.rules_needed(generated, candidates.DocumentIndex(etree.fromstring(data)))
        assert 0 < len(keep) < len(generated.rules)
        parsed = sch.parse_for_saxon(data)
        full = sch.compile_schematron(path).run(parsed)
        pruned = sch.compile_rules(path, keep).run(parsed)
        assert [(a.rule_id, a.location, a.text) for a in pruned.assertions] == [
            (a.rule_id, a.location, a.text) for a in full.assertions
        ]
        assert pruned.fired_rules == full.fired_rules
        if profile == "StructurationMinimale":  # its datatype checks repeat under many parents: compiled once
            assert sch.SHARED_CHECK_PREFIX in sch.pruned_xslt(generated.xslt, keep)


def test_document_index_is_conservative() -> None:
    root = etree.fromstring(
        "<ClinicalDocument xmlns='urn:hl7-org:v3'><component><section><templateId root='1'/><entry/>"
        "<code code='x'/></section></component></ClinicalDocument>"
    )
    index = candidates.DocumentIndex(root)
    present = {
        context: all(index.present(route, NS) for route in candidates.routes(context, NS))
        for context in [
            "*[cda:templateId/@root='1']/cda:entry",
            "*[cda:templateId/@root='2']",
            "/cda:ClinicalDocument/cda:component/cda:section/cda:code/@code",
            "/cda:ClinicalDocument/cda:component/cda:section/cda:code/@displayName",
            "cda:section//cda:entry",
            "cda:entry//cda:code",
            "cda:section/text()",
            "cda:observation",
        ]
    }
    assert [context for context, found in present.items() if found] == [
        "*[cda:templateId/@root='1']/cda:entry",
        "/cda:ClinicalDocument/cda:component/cda:section/cda:code/@code",
        "cda:section//cda:entry",
        "cda:section/text()",  # a kind test is not evaluated: assumed present
    ]


def test_rule_contexts_whose_predicates_match_nothing_are_pruned_conservatively() -> None:
    """A rule is left out for a document only when lxml shows that no candidate matches its whole context;
    positional predicates, XPath 2 functions and attributes are never judged (the rule is kept)."""
    root = etree.fromstring(
        "<ClinicalDocument xmlns='urn:hl7-org:v3'><participant typeCode='INF'><associatedEntity classCode='ECON'/>"
        "</participant><component><section><templateId root='1'/><entry/></section></component></ClinicalDocument>"
    )
    index = candidates.DocumentIndex(root)

    def kept(context: str) -> bool:
        found = candidates.routes(context, NS)
        assert found is not None
        return index.present(found[0], NS) and index.may_match(found, candidates.match_tests(context), NS)

    assert kept("/cda:ClinicalDocument/cda:participant[@typeCode='INF'][cda:associatedEntity[@classCode='ECON']]")
    assert not kept("/cda:ClinicalDocument/cda:participant[cda:associatedEntity[@classCode='PRS']]")
    assert not kept("cda:component[not(cda:section)]")
    assert kept("cda:section[cda:templateId/@root='1']//cda:entry")
    assert not kept("cda:participant//cda:entry")
    assert not kept("/cda:component")  # a section's parent, not the document's root element
    assert kept("cda:participant[2]")  # positional: not judged
    assert kept("cda:participant[matches(@typeCode, 'X')]")  # XPath 2: not judged
    assert kept("cda:participant[count(cda:x)]")  # a number, read as a position: not judged
    assert kept("cda:participant[@typeCode='X']/@typeCode")  # ends on an attribute: not judged
