"""Rules: each check a suite makes, declared once with the requirement it verifies and its FR/EN messages.

    rules = RuleSet("fhir-basics")
    READ_ID = rules.rule(
        "read-id", "fhir-r4.read.id", SHALL,
        fr="id {got!r} au lieu de {asked!r}", en="id {got!r} instead of {asked!r}", code="value",
    )

A rule's messages are `str.format` templates with named parameters; the French and English templates of a rule
have the same parameters (checked when the rule is declared, and by a test over every rule).
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from conformance.findings import Finding, Severity


class Strength(StrEnum):
    """How a specification words a requirement (RFC 2119): SHALL / SHOULD / MAY."""

    SHALL = "SHALL"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def severity(self) -> Severity:
        """The severity of a finding that says the requirement is not met."""
        return _SEVERITIES[self]


_SEVERITIES = {Strength.SHALL: Severity.ERROR, Strength.SHOULD: Severity.WARNING, Strength.MAY: Severity.INFORMATION}

SHALL = Strength.SHALL
SHOULD = Strength.SHOULD
MAY = Strength.MAY


@dataclass(frozen=True, slots=True)
class Text:
    """A value that reads differently in French and English: `expect(..., target=Text("système", "system"))`."""

    fr: str
    en: str

    def __str__(self) -> str:
        return self.fr


def _in(lang: str, values: Mapping[str, object]) -> dict[str, object]:
    return {k: (getattr(v, lang) if isinstance(v, Text) else v) for k, v in values.items()}


class RuleError(ValueError):
    """A rule declared or used wrongly: a harness defect, never a verdict on the system."""


def template_parameters(template: str) -> frozenset[str]:
    """The named parameters of a `str.format` template ("{ref} au statut {status!r}" -> {"ref", "status"})."""
    names: set[str] = set()
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is None:
            continue
        name = field_name.split(".")[0].split("[")[0]
        if not name or name.isdigit():
            raise RuleError(f"positional parameter in template {template!r}: name every parameter")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Rule:
    """One check: its stable id, the requirement (catalogue id) it verifies, its strength and its messages."""

    id: str
    requirement: str
    strength: Strength
    fr: str
    en: str
    code: str = "processing"  # FHIR IssueType code of the finding

    @property
    def parameters(self) -> frozenset[str]:
        return template_parameters(self.fr)

    def check_values(self, values: Mapping[str, object]) -> None:
        expected = self.parameters
        if set(values) != expected:
            missing = sorted(expected - set(values))
            extra = sorted(set(values) - expected)
            raise RuleError(f"rule {self.id}: parameters missing {missing}, unexpected {extra}")

    def finding(self, location: str = "", resource: str | None = None, /, **values: object) -> Finding:
        """The finding this rule gives when its check fails, messages filled with `values`."""
        self.check_values(values)
        return Finding(
            severity=self.strength.severity,
            code=self.code,
            rule=self.id,
            location=location,
            message_fr=self.fr.format(**_in("fr", values)),
            message_en=self.en.format(**_in("en", values)),
            source="suite",
            resource=resource,
        )


_REGISTRY: dict[str, Rule] = {}


class RuleSet:
    """The rules of one suite (or of one shared module). Rule ids are unique across every rule set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._rules: dict[str, Rule] = {}

    def rule(
        self,
        rule_id: str,
        requirement: str,
        strength: Strength,
        *,
        fr: str,
        en: str,
        code: str = "processing",
    ) -> Rule:
        declared = Rule(rule_id, requirement, Strength(strength), fr, en, code)
        fr_params, en_params = template_parameters(fr), template_parameters(en)
        if fr_params != en_params:
            raise RuleError(f"rule {rule_id}: French parameters {sorted(fr_params)} != English {sorted(en_params)}")
        previous = _REGISTRY.get(rule_id)
        if previous is not None and previous != declared:
            raise RuleError(f"rule {rule_id} declared twice, differently")
        _REGISTRY[rule_id] = declared
        self._rules[rule_id] = declared
        return declared

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)


def all_rules() -> list[Rule]:
    """Every rule declared so far (import the suites' rule modules first: see `load_suite_rules`)."""
    return list(_REGISTRY.values())


def get_rule(rule_id: str) -> Rule:
    try:
        return _REGISTRY[rule_id]
    except KeyError:
        raise RuleError(f"unknown rule {rule_id}") from None
