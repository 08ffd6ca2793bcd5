"""Large Bundles validated entry by entry (conformance.validation.fhir.stream): the same findings as a
whole-Bundle validation, located at Bundle.entry[i], with bounded findings; `conformance validate` streams
a Bundle file larger than its threshold. The peak memory and time of the 1,000,000-entry case are measured by
`tools/bench_hardening.py bundle`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cli import cli
from conformance.validation.fhir import get_validator
from conformance.validation.fhir.stream import NotABundle, _references, iter_findings, scan_bundle, validate_file
from conformance.validation.options import ValidateOptions

OPTIONS = ValidateOptions(lang="en")


def _urn(number: int) -> str:
    return f"urn:uuid:1b8e0c0e-0000-4000-8000-{number:012d}"


def _entries() -> list[object]:
    """A Composition first, then resources that reference entries before and after them (across batches),
    some unresolvable, some of the wrong target type, one fullUrl repeated, an entry that is not an object."""
    composition = {
        "resourceType": "Composition",
        "id": "c",
        "status": "final",
        "type": {"text": "t"},
        "date": "2020-01-01",
        "title": "x",
        "author": [{"reference": "Practitioner/pr1"}],
        "subject": {"reference": _urn(57)},
        "section": [{"entry": [{"reference": _urn(40)}, {"reference": _urn(999)}]}],
    }
    entries: list[object] = [{"fullUrl": _urn(0), "resource": composition}]
    for i in range(1, 80):
        resource: dict[str, object] = {
            "resourceType": "Observation",
            "id": f"o{i}",
            "status": "final" if i % 3 else "bad",
            "code": {"text": "c"},
            "subject": {"reference": _urn(57) if i % 2 else f"Patient/p{i}"},
        }
        if i == 57:
            resource = {"resourceType": "Patient", "id": "p57", "managingOrganization": {"reference": _urn(40)}}
        if i == 40:
            resource = {"resourceType": "Organization", "id": "org"}
        if i == 63:  # an absolute reference to an entry whose fullUrl is absolute; and a wrong target type
            resource = {
                "resourceType": "Patient",
                "id": "p63",
                "generalPractitioner": [{"reference": "http://x/fhir/Practitioner/pr1"}, {"reference": _urn(40)}],
                "link": [{"other": {"reference": _urn(1)}, "type": "seealso"}],
            }
        entries.append({"fullUrl": _urn(5 if i == 70 else i), "resource": resource})
    entries.append({"fullUrl": "http://x/fhir/Practitioner/pr1", "resource": {"resourceType": "Practitioner"}})
    entries.append({"resource": {"resourceType": "Patient", "id": "p4"}})
    entries.append(17)
    return entries


def _bundle(kind: str) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:x"},
        "timestamp": "2020-01-01T00:00:00Z",
        "entry": _entries(),
    }


def _streamed(data: bytes, batch: int) -> list:
    scan = scan_bundle(io.BytesIO(data))
    return list(iter_findings(io.BytesIO(data), scan, get_validator(), OPTIONS, batch=batch))


def _keys(findings) -> set[tuple[str, str, str]]:
    return {(f.rule, f.location, f.severity.value) for f in findings}


@pytest.mark.parametrize("kind", ["document", "collection", "transaction"])
@pytest.mark.parametrize("batch", [1, 7])
def test_streamed_findings_are_the_whole_bundle_findings(kind: str, batch: int) -> None:
    """SHALL: entry by entry, every finding of a whole-Bundle validation, at the same Bundle.entry[i] location
    (references resolved across batches, target types, document rules); bdl-7 is located at the repeating entry."""
    bundle = _bundle(kind)
    whole = get_validator().validate(bundle, (), "en").findings
    streamed = _streamed(orjson.dumps(bundle), batch)
    expected = {key for key in _keys(whole) if key[0] != "bdl-7"} | {("bdl-7", "Bundle.entry[70]", "error")}
    assert _keys(streamed) == expected
    assert len(streamed) == len(expected)  # each once, not once per batch
    assert any(f.rule == "Reference_REF_BadTargetType" and f.location.startswith("Bundle.entry[63]") for f in whole)


def test_fullurl_repeated_far_apart_is_bdl7_but_not_in_a_history() -> None:
    """SHALL: fullUrl uniqueness is judged over the whole Bundle, not per batch; history Bundles are exempt."""
    entries = [
        {"fullUrl": _urn(i % 1000), "resource": {"resourceType": "Basic", "code": {"text": "x"}}} for i in range(1500)
    ]
    for kind, expected in (("collection", 500), ("history", 0)):
        data = orjson.dumps({"resourceType": "Bundle", "type": kind, "entry": entries})
        repeated = [f for f in _streamed(data, 100) if f.rule == "bdl-7"]
        assert len(repeated) == expected, kind


def test_findings_past_the_cap_are_counted_and_the_verdict_kept(tmp_path: Path) -> None:
    """SHALL: bounded findings; past the cap a summary per rule and severity, and an invalid Bundle stays invalid."""
    # Basic.code missing
    entries = [{"fullUrl": _urn(i), "resource": {"resourceType": "Basic", "id": f"b{i}"}} for i in range(300)]
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    (outcome,) = validate_file(path, OPTIONS, batch=50, max_listed=100)
    assert not outcome.is_valid
    summaries = [f for f in outcome.findings if f.rule == "findings-not-listed"]
    assert len(outcome.findings) - len(summaries) == 100
    counted = {f.severity.value: f.message_en for f in summaries}
    assert counted["error"].startswith("250 more 'Validation_VAL_Profile_Minimum'")  # 300 errors, 50 listed
    assert outcome.details["findings_not_listed"] == 300 * 2 - 100  # an error and a dom-6 warning per entry
    assert outcome.details["entries"] == 300


def test_broken_json_after_the_bundle_is_known_is_a_fatal_finding(tmp_path: Path) -> None:
    """SHALL: a syntax error or a repeated property in a large Bundle is a fatal finding, never a crash."""
    path = tmp_path / "broken.json"
    path.write_bytes(b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Basic"}},')
    (outcome,) = validate_file(path, OPTIONS)
    assert [f.rule for f in outcome.findings] == ["Error_parsing_JSON_"] and not outcome.is_valid
    path.write_bytes(b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"id":"a","id":"b"}}]}')
    (outcome,) = validate_file(path, OPTIONS)
    assert [f.rule for f in outcome.findings] == ["Error_parsing_JSON_"]
    assert "Duplicated property name: id" in outcome.findings[0].message_en


@pytest.mark.parametrize(
    "content",
    [
        b'{"resourceType":"Patient","id":"a"}',
        b'{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n',
        b'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/></Bundle>',
        b'{"resourceType":"Bundle","entry":{"resource":{}}}',
        b"[1, 2]",
    ],
    ids=["patient", "ndjson", "xml", "entry-not-an-array", "array"],
)
def test_what_is_not_a_json_bundle_of_entries_is_left_to_whole_validation(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    with pytest.raises(NotABundle):
        validate_file(path, OPTIONS)


def test_validate_command_streams_a_bundle_file_above_the_threshold(tmp_path: Path) -> None:
    """SHALL: `conformance validate` on a Bundle larger than 16 MiB reports per entry, at Bundle.entry[i]."""
    text = "x" * (1024 * 1024)
    entries = [
        {"fullUrl": _urn(i), "resource": {"resourceType": "Basic", "id": f"b{i}", "code": {"text": text}}}
        for i in range(17)
    ]
    observation = {"resourceType": "Observation", "id": "bad", "status": "bad", "code": {"text": "c"}}
    entries.append({"fullUrl": _urn(17), "resource": observation})
    path = tmp_path / "large.json"
    path.write_bytes(orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    assert path.stat().st_size > ValidateOptions().stream_above
    result = CliRunner().invoke(cli, ["validate", "--lang", "en", "--format", "json", str(path)])
    assert result.exit_code == 1, result.output
    issues = json.loads(result.output)["issue"]
    assert any("Bundle.entry[17].resource.status" in json.dumps(issue) for issue in issues), issues
    assert not any("Bundle.entry[3]" in json.dumps(issue) and issue["severity"] == "error" for issue in issues)


MILLION_CHILD = """
import json, resource, subprocess, sys, tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "million.json"
    with path.open("w") as handle:
        handle.write('{"resourceType":"Bundle","type":"collection","entry":[')
        for first in range(0, 1_000_000, 10_000):
            handle.write(("," if first else "") + ",".join(
                '{"fullUrl":"urn:uuid:1b8e0c0e-0000-4000-8000-%012d","resource":{"resourceType":"Basic","id":"b%d",'
                '"code":{"text":"x"}}}' % (i, i)
                for i in range(first, first + 10_000)))
        handle.write("]}")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from conformance.cli import main; sys.argv = ['conformance', 'validate', "
         "'--summary', sys.argv[1]]; main()", str(path)],
        capture_output=True, text=True, check=False,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"code": done.returncode, "out": done.stdout[-2000:], "err": done.stderr[-2000:], "peak": peak}))
"""


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_million_entry_bundle_is_validated_by_the_command_in_under_1_gib() -> None:
    """SHALL: `conformance validate` on the issue's 69 MB Bundle of 1,000,000 entries ends with a verdict and
    a peak memory under 1 GiB (it took 2 GB when validated whole)."""
    done = subprocess.run([sys.executable, "-c", MILLION_CHILD], capture_output=True, text=True, timeout=1150)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["code"] == 0, figures  # every Basic is valid: only dom-6 warnings
    assert "1 élément(s), 1 valide(s)" in figures["out"], figures["out"]
    assert figures["peak"] < 1024**3


def _references_in_walk_order(value: object) -> list[str]:
    """Every non-local `reference` string, a container's own before its members', its members last first."""
    found: list[str] = []
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and reference and not reference.startswith("#"):
            found.append(reference)
        members = list(value.values())
    elif isinstance(value, list):
        members = value
    else:
        return found
    for member in reversed(members):
        found += _references_in_walk_order(member)
    return found


_WITH_REFERENCES = st.recursive(
    st.none() | st.integers() | st.sampled_from(["Patient/1", "#c", "", "urn:uuid:a"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["reference", "subject", "item", "x"]), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WITH_REFERENCES, max_size=5))
def test_the_references_that_name_stubs_are_every_reference_in_walk_order(entries: list[object]) -> None:
    """The stubs of a batch follow the order its references are met in (their entries' positions): every
    `reference` string at any depth but local ones, in the walk's order, whatever the values beside them."""
    expected = [reference for entry in reversed(entries) for reference in _references_in_walk_order(entry)]
    assert list(_references(entries)) == expected
