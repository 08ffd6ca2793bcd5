"""Line and column of findings in the user's JSON, XML and ER7 text (as the HL7 Java validator gives them),
through the real `validate` path and on the mapping functions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import sourcemap
from conformance.cli.validate import validate_path
from conformance.findings import Outcome, finding
from conformance.settings import cda_pack_dir
from conformance.sourcemap import (
    MAX_SOURCE,
    JsonMembers,
    NotPlainJson,
    _json_offset,
    _Lines,
    _mapped_names,
    _member_names,
    add_lines,
    er7_position,
    fhirpath_steps,
    json_positions,
    locate_in_json,
    xpath_steps,
)
from conformance.validation.options import ValidateOptions

PATIENT = (
    '{"resourceType": "Patient",\n'
    '  "id": "p1",\n'
    '  "birthDate": "25/12/1974",\n'
    '  "name": [{"family": "X"}, {"given": [1]}],\n'
    '  "gender": "femme"}\n'
)
ADT = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123^^^X^PI~456^^^Y^NH||DOE^JOHN||19800101\r"


def _positions(path: Path) -> dict[str, tuple[int | None, int | None]]:
    outcomes = validate_path(path, ValidateOptions(lang="fr"))
    return {f.location: (f.line, f.column) for o in outcomes for f in o.findings}


def test_json_findings_carry_line_and_column(tmp_path: Path) -> None:
    """SHALL: a FHIR JSON finding points at the member (or array item) it is about."""
    source = tmp_path / "patient.json"
    source.write_text(PATIENT, encoding="utf-8")
    where = _positions(source)
    assert where["Patient.birthDate"] == (3, 3)
    assert where["Patient.name[1].given[0]"] == (4, 40)
    assert where["Patient.gender"] == (5, 3)


def test_ndjson_lines_are_the_file_lines(tmp_path: Path) -> None:
    source = tmp_path / "bulk.ndjson"
    source.write_text(
        '{"resourceType":"Patient","id":"a","gender":"female"}\n{"resourceType":"Patient","id":"b","gender":"robot"}\n'
    )
    assert _positions(source)["Patient.gender"] == (2, 36)


def test_fhir_xml_findings_carry_line_and_column(tmp_path: Path) -> None:
    source = tmp_path / "patient.xml"
    source.write_text(
        '<?xml version="1.0"?>\n<Patient xmlns="http://hl7.org/fhir">\n  <id value="c"/>\n  <gender value="robot"/>\n</Patient>\n'
    )
    assert _positions(source)["Patient.gender"] == (4, 3)


def test_cda_xpath_findings_carry_line_and_column() -> None:
    """SHALL: an XPath location of a CDA check (not only XSD errors) is given its line."""
    document = cda_pack_dir() / "ExemplesCDA" / "CSE-CS24_2024.01.xml"
    outcomes = validate_path(document, ValidateOptions(lang="fr"))
    ins = next(f for o in outcomes for f in o.findings if f.rule == "cda-ins-format")
    line_text = document.read_text(encoding="utf-8").splitlines()[ins.line - 1]
    assert line_text[ins.column - 1 :].startswith("<id")


@pytest.mark.parametrize(
    ("location", "expected"),
    [("MSH-9", (1, 28)), ("MSH-9.2", (1, 32)), ("MSH-1", (1, 4)), ("PID-3[2].4", (2, 25)), ("PID-5.2", (2, 35))],
)
def test_er7_locations(location: str, expected: tuple[int, int]) -> None:
    """SHALL: segment, field, repetition and component counted as HL7 v2 does (MSH-1 is the separator)."""
    assert er7_position(ADT, location) == expected


def test_er7_post_pass_fills_a_finding_without_line() -> None:
    outcome = Outcome(subject="m.hl7", kind="hl7v2")
    outcome.add(finding("error", "value", "x", "PID-7", "fr", "en"))
    add_lines([outcome], ADT.encode(), "m.hl7", "hl7v2")
    assert (outcome.findings[0].line, outcome.findings[0].column) == (2, 41)


def test_unmappable_or_oversized_sources_keep_no_line() -> None:
    """SHALL: a location that does not map, or a source over the bound, is left as it is (never guessed)."""
    outcome = Outcome(subject="a.json", kind="fhir")
    outcome.add(finding("error", "value", "x", "not a path", "fr", "en"))
    add_lines([outcome], PATIENT.encode(), "a.json", "fhir-json")
    assert outcome.findings[0].line is None
    big = Outcome(subject="a.json", kind="fhir")
    big.add(finding("error", "value", "x", "Patient.gender", "fr", "en"))
    add_lines([big], b" " * (MAX_SOURCE + 1), "a.json", "fhir-json")
    assert big.findings[0].line is None


def test_a_document_inside_a_message_is_not_mapped_to_the_message_text() -> None:
    outcome = Outcome(subject="m.hl7 OBX-5.5", kind="cda")
    outcome.add(finding("error", "value", "x", "/cda:ClinicalDocument[1]/cda:id[1]", "fr", "en"))
    add_lines([outcome], ADT.encode(), "m.hl7", "cda")
    assert outcome.findings[0].line is None


def test_path_parsing() -> None:
    assert fhirpath_steps("Bundle.entry[2].resource/*Patient/1*/.name[0]") == [
        ("entry", 2),
        ("resource", None),
        ("name", 0),
    ]
    assert fhirpath_steps("Observation.value.ofType(Quantity)") == [("valueQuantity", None)]
    assert xpath_steps("/*:ClinicalDocument[namespace-uri()='urn:hl7-org:v3']/cda:id[2]/@root") == [
        ("ClinicalDocument", 1),
        ("id", 2),
    ]


def test_er7_findings_of_one_message_share_one_index() -> None:
    """SHALL: every finding of a message gets the position er7_position gives it alone (the post-pass indexes the
    message once); repeated segments, absent segments and a segment alone included."""
    text = ADT + "PID|2||789^^^Z^PI\rOBX|1|ED|X||^TEXT^XML^Base64^" + "A" * 5000 + "\r"
    locations = ["PID-7", "PID[2]-3.4", "OBX-5.5", "MSH-1", "PID-3[2].4", "ZBE-4", "ZFP", "PID[3]-1", "OBX-9"]
    outcome = Outcome(subject="m.hl7", kind="hl7v2")
    for where in locations:
        outcome.add(finding("error", "value", "x", where, "fr", "en"))
    add_lines([outcome], text.encode(), "m.hl7", "hl7v2")
    found = [(f.line, f.column) if f.line is not None else None for f in outcome.findings]
    assert found == [er7_position(text, where) for where in locations]
    assert found[1] == (3, 14) and found[2] == (4, 30) and found[5:8] == [None, None, None]


@pytest.mark.parametrize(
    "text",
    ["", "a", "<a>\n<b/>\n</a>\n", "<a>\r\n<b\r\n/>\r\n</a>", "<a>\r<b/>\r\n</a>\n", "\n\n<a/>", "<a>\r\r\n\n"],
)
def test_a_line_by_number_is_the_text_between_its_line_starts(text: str) -> None:
    """The line an XML finding is placed on, read from a split on line feeds (or from the line starts when a
    carriage return stands alone), is the text between that line's start and the next one's."""
    starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]
    for number in range(1, len(starts) + 3):
        expected = None
        if number <= len(starts):
            expected = text[starts[number - 1] : starts[number] if number < len(starts) else len(text)]
        assert _Lines(text).line(number) == expected


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=30,
)


def _every_path(value: object, path: tuple = ()) -> list[tuple]:
    paths = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        paths += _every_path(child, (*path, key))
    return paths


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, indent=st.sampled_from([None, 1, "\t", "\r\n "]), bom=st.booleans())
def test_positions_walked_down_are_those_of_the_whole_map(value: object, indent: object, bom: bool) -> None:
    """A finding's line and column in JSON are the same whether the text is mapped whole or walked down to the
    finding only, for any JSON value, spacing and BOM; a path that is not in the text has no position."""
    text = json.dumps({"resourceType": "Basic", "x": value}, indent=indent, ensure_ascii=False)
    text = ("\ufeff" if bom else "") + text.replace("\n", "\r\n" if indent == "\r\n " else "\n")
    whole, walked = json_positions(text), JsonMembers(text)
    for path in [*_every_path({"resourceType": "Basic", "x": value}), ("x", "absent"), ("x", 99), ("zz",)]:
        assert walked.position(path) == whole.get(path)
        assert list(_member_names(walked)(path)) == list(_mapped_names(whole)(path))


@pytest.mark.parametrize(
    "text",
    [
        '{"resourceType":"Patient","name":[{"given":["a",NaN]}]}',
        '{"resourceType":"Patient","name":[{"given":["a"]}],"name":[{"given":["b","c"]}]}',
        '{"resourceType":"Patient","name":[{"given":["a"]}]}{"name":[1,2,3]}',
        '{"resourceType":"Patient","name":[{"given":["a" "b"]}]}',
        '{"resourceType":"Patient","name":[{"given":["a\x01b","c"]}]}',
        '{"resourceType":"Patient","name":\x0c[{"given":["a","c"]}]}',
        '{"resourceType":"Patient","name":[{"given":[' + "[" * 3000 + "]" * 3000 + ',"c"]}]}',
    ],
)
def test_json_that_is_not_plain_is_placed_as_the_whole_map_places_it(text: str, tmp_path: Path) -> None:
    """NaN, a duplicate name, a second root value, a missing comma, a control character, odd spacing or a deep
    nesting: the finding is placed as before, from the whole text's map."""
    outcome = Outcome(subject="p.json", kind="fhir")
    outcome.add(finding("error", "value", "x", "Patient.name[0].given[1]", "fr", "en"))
    outcome.add(finding("error", "value", "x", "Patient.name[1]", "fr", "en"))
    add_lines([outcome], text.encode(), "p.json", "fhir-json")
    lines = _Lines(text)
    whole = json_positions(text)
    expected = [_json_offset(whole, fhirpath_steps(f.location)) for f in outcome.findings]
    assert [(f.line, f.column) for f in outcome.findings] == [
        lines.position(offset) if offset is not None else (None, None) for offset in expected
    ]
    with pytest.raises(NotPlainJson):
        for f in outcome.findings:
            _json_offset(JsonMembers(text), fhirpath_steps(f.location))


_SEARCHSET = (
    '{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"%s}},\n'
    ' {"resource":{"resourceType":"Patient","id":"b","name":[{"given":["x","y"]}]}}]}%s'
)


@pytest.mark.parametrize(
    ("inside", "after"),
    [("", ""), (',"id":"a2"', ""), (',"active":NaN', ""), ("", '{"other":1}'), (',"x":\x0c1', "")],
)
def test_a_resource_in_a_received_body_is_placed_as_the_whole_map_places_it(inside: str, after: str) -> None:
    """A campaign's finding on the second resource of a search Bundle it received gets the line and column the
    whole body's map gives, whether the body is plain JSON or not (a duplicate name, NaN, a second root value
    or odd spacing beside the resource)."""
    text = _SEARCHSET % (inside, after)
    outcome = Outcome(subject="Patient/b", kind="fhir")
    outcome.add(finding("error", "value", "x", "Patient.name[0].given[1]", "fr", "en"))
    outcome.add(finding("error", "value", "x", "Patient.id", "fr", "en"))
    locate_in_json(outcome, text.encode(), ("entry", 1, "resource"))
    whole, lines = json_positions(text), _Lines(text)
    head = [("entry", 1), ("resource", None)]
    expected = [lines.position(_json_offset(whole, [*head, *fhirpath_steps(f.location)])) for f in outcome.findings]
    assert [(f.line, f.column) for f in outcome.findings] == expected
    assert outcome.findings[0].line == 2


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="a\r\n\u00e9", max_size=40), chunk=st.sampled_from([1, 2, 3, 1 << 16]))
def test_a_position_is_its_line_and_column_among_the_line_starts(text: str, chunk: int) -> None:
    """Counted in place for a text's first positions, then by its line starts (split a chunk at a time): the
    line and column of every offset are those of the line breaks \\r\\n, \\r and \\n."""
    sourcemap._SPLIT_CHUNK = chunk
    starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]
    lines = _Lines(text, first_line=3)
    try:
        for offset in range(len(text) + 1):
            line = max(i for i, start in enumerate(starts) if start <= offset)
            assert lines.position(offset) == (3 + line, offset - starts[line] + 1)
    finally:
        sourcemap._SPLIT_CHUNK = 1 << 16


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, indent=st.sampled_from([None, 1]), data=st.data())
def test_containers_read_on_the_way_down_give_the_same_positions(value: object, indent: object, data) -> None:
    """Paths announced as wanted (their members read while their parent is) are placed as the whole map
    places them, and so is every other path."""
    text = json.dumps({"resourceType": "Basic", "x": value}, indent=indent, ensure_ascii=False)
    paths = _every_path({"resourceType": "Basic", "x": value})
    wanted = data.draw(st.sets(st.sampled_from(paths)))
    whole, walked = json_positions(text), JsonMembers(text, wanted)
    for path in [*paths, ("x", "absent"), ("x", 99)]:
        assert walked.position(path) == whole.get(path)
        assert list(_member_names(walked)(path)) == list(_mapped_names(whole)(path))


def test_a_wanted_container_that_is_not_plain_is_refused_when_asked() -> None:
    """A duplicate name deep inside a wanted container: reading the root still succeeds (the container is
    skipped as any value), and asking into it, even straight at a container inside it, is refused."""
    text = '{"resourceType":"Basic","a":{"b":{"c":[1,2]},"d":1,"d":2},"e":3}'
    walked = JsonMembers(text, {(), ("a",), ("a", "b"), ("a", "b", "c")})
    assert walked.position(("e",)) == text.index('"e"')
    with pytest.raises(NotPlainJson):
        walked.children(("a", "b", "c"))
    with pytest.raises(NotPlainJson):
        walked.children(("a",))
