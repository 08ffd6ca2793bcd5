"""The suites' hook: inside a real pytest run, a test keeps going after a failed check and fails with all of
them; the requirement a test names is resolved in the catalogue."""

from __future__ import annotations

pytest_plugins = ["pytester"]

SUITE = """
import pytest
from conformance.sdk import SHALL, RuleSet, expect, resource

rules = RuleSet("hook-tests")
STATUS = rules.rule("hook-test-status", "fhir-r4.http.status", SHALL, fr="statut {status}", en="status {status}")


def test_two_bad_resources():
    for rid, status in (("1", "superseded"), ("2", "current"), ("3", "entered-in-error")):
        with resource("DocumentReference", rid):
            expect(status == "current", STATUS, "status", status=status)
"""


def test_a_failed_expect_does_not_stop_the_test(pytester):
    pytester.makeconftest("from conformance.sdk.suite_hooks import pytest_runtest_call  # noqa: F401\n")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DocumentReference/1*status superseded*DocumentReference/3*entered-in-error*"])


def test_requirement_resolved_from_the_catalogue():
    from conformance.sdk.suite_hooks import result_requirement

    entry = result_requirement("fhir-r4.read.etag")
    assert entry.id == "fhir-r4.read.etag" and entry.strength == "SHOULD"
    assert entry.specification == "FHIR R4" and entry.section and entry.text and entry.text_en
