"""The suite SDK: rules declared once, one-line checks, findings per resource, requirements with their strength.

See conformance/sdk/README.md for a complete example test.
"""

from __future__ import annotations

from conformance.sdk.checks import (
    ConformanceFailure,
    NotApplicable,
    Verdict,
    current_verdict,
    expect,
    expect_valid,
    fail,
    findings_of,
    not_applicable,
    report,
    require,
    resource,
    verdict,
)
from conformance.sdk.requirements import Catalogue, CatalogueError, Requirement, load_catalogue, requirement
from conformance.sdk.rules import MAY, SHALL, SHOULD, Rule, RuleError, RuleSet, Strength, Text, all_rules, get_rule
from conformance.sdk.suite_hooks import verifies

__all__ = [
    "MAY",
    "SHALL",
    "SHOULD",
    "Catalogue",
    "CatalogueError",
    "ConformanceFailure",
    "NotApplicable",
    "Requirement",
    "Rule",
    "RuleError",
    "RuleSet",
    "Strength",
    "Text",
    "Verdict",
    "all_rules",
    "current_verdict",
    "expect",
    "expect_valid",
    "fail",
    "findings_of",
    "get_rule",
    "load_catalogue",
    "not_applicable",
    "report",
    "require",
    "requirement",
    "resource",
    "verdict",
    "verifies",
]
