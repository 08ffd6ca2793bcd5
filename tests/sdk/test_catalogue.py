"""The requirements catalogue and the rules are consistent with the suites: every suite test names exactly one
existing requirement, every rule verifies an existing requirement with its strength, and the French and English
templates of every rule have the same parameters."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import FunctionType

import pytest

import conformance.sdk.fhir
import conformance.suites
from conformance.sdk import all_rules, load_catalogue
from conformance.sdk.requirements import CatalogueError, parse_catalogue_file
from conformance.sdk.rules import template_parameters


def _suite_modules() -> Iterator[object]:
    for info in pkgutil.walk_packages(conformance.suites.__path__, "conformance.suites."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("test_") or leaf == "rules":
            yield importlib.import_module(info.name)


def _suite_tests() -> list[tuple[str, FunctionType]]:
    tests = []
    for module in _suite_modules():
        for name, obj in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_") and obj.__module__ == module.__name__:
                tests.append((f"{module.__name__}.{name}", obj))
    return tests


def test_every_requirement_has_a_source_a_strength_and_both_statements():
    catalogue = load_catalogue()
    assert len(catalogue) > 40 and catalogue.versions
    for item in catalogue:
        assert item.specification and item.section and item.strength.value in ("SHALL", "SHOULD", "MAY")
        assert item.statement_fr.strip() and item.statement_en.strip(), item.id
        assert item.catalogue_version, item.id


def test_every_suite_test_names_exactly_one_existing_requirement():
    catalogue = load_catalogue()
    tests = _suite_tests()
    assert len(tests) > 50
    problems = []
    for name, function in tests:
        marks = [m for m in getattr(function, "pytestmark", []) if m.name == "requirement"]
        ids = [m.args[0] for m in marks if len(m.args) == 1 and not m.kwargs]
        if len(marks) != 1 or len(ids) != 1:
            problems.append(f"{name}: {len(marks)} requirement marker(s), expected one id")
        elif ids[0] not in catalogue:
            problems.append(f"{name}: unknown requirement {ids[0]}")
    assert not problems, "\n".join(problems)


def test_every_rule_verifies_an_existing_requirement_with_its_strength():
    list(_suite_modules())
    catalogue = load_catalogue()
    rules = all_rules()
    assert len(rules) > 50
    problems = []
    for rule in rules:
        if rule.requirement not in catalogue:
            problems.append(f"{rule.id}: unknown requirement {rule.requirement}")
        elif catalogue[rule.requirement].strength is not rule.strength:
            problems.append(
                f"{rule.id}: {rule.strength} but {rule.requirement} is {catalogue[rule.requirement].strength}"
            )
    assert not problems, "\n".join(problems)


def test_french_and_english_templates_of_every_rule_have_the_same_parameters():
    list(_suite_modules())
    for rule in all_rules():
        assert template_parameters(rule.fr) == template_parameters(rule.en), rule.id


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("catalogue: x\nversion: 1\nrequirements: []\n", "requirements missing"),
        (
            "catalogue: x\nversion: 1\nrequirements:\n- id: a\n  specification: s\n  section: s\n  strength: MUST\n"
            "  statement: {fr: a, en: b}\n",
            "strength",
        ),
        (
            "catalogue: x\nversion: 1\nrequirements:\n- id: a\n  specification: s\n  section: s\n  strength: SHALL\n"
            "  statement: {fr: a}\n",
            "en missing",
        ),
    ],
)
def test_a_malformed_catalogue_file_is_named(text, error):
    with pytest.raises(CatalogueError, match=error):
        parse_catalogue_file(text, "bad.yaml")
