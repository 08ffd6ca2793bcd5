"""results.json: the run as data (schema: conformance/reports/schema/results.schema.json, version 1.0).

Every renderer (HTML, JUnit, TestReport, Allure) reads this dictionary, never the RunResult, so that
`conformance report DIR` renders an existing run exactly as the run itself did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.evidence.recorder import Privacy
from conformance.evidence.redaction import redact_mapping
from conformance.reports.indicators import (
    Catalogue,
    CatalogueError,
    capability_title,
    evaluate,
    load_catalogue,
    run_verdict,
)
from conformance.results import OUTCOMES, EndpointCheck, Requirement, RunResult, TestResult
from conformance.suppressions import SuppressionError, Suppressions, from_configuration

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "results.schema.json"
SCHEMA_ID = "https://hopen-conformance.invalid/schemas/results-1.0.schema.json"
TOOL_NAME = "hopen-conformance"
SHORT_SECRET_WARNING = {
    "code": "short-secret",
    "fr": "Un secret configuré fait moins de 4 caractères : il est masqué dans les en-têtes d'authentification, "
    "mais ne peut pas être recherché dans le texte des échanges.",
    "en": "A configured secret is shorter than 4 characters: it is hidden in authentication headers but cannot "
    "be searched for in exchanged text.",
}
_KNOWN_WARNING_CODES = {
    r"(?i)signing key generated|clé de signature générée": "generated-signing-key",
    r"(?i)tls (certificate )?verification|vérification tls|verify.*(off|disabled)": "tls-verification-off",
}


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def build_results(
    run: RunResult,
    *,
    complete: bool,
    privacy: Privacy | None = None,
    catalogue: Catalogue | None = None,
    extra_warnings: list[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The results.json document for a run (complete or not), cleaned of secrets (and patient data)."""
    privacy = privacy or Privacy()
    if privacy.pseudonymizer is not None:
        _learn_configured_patients(run.configuration, privacy)
    warnings: list[dict[str, Any]] = [_warning(w) for w in run.warnings] + [dict(w) for w in extra_warnings]
    if privacy.redactor.too_short:
        warnings.append(SHORT_SECRET_WARNING)
    if catalogue is None:
        try:
            catalogue = load_catalogue(run.programme)
        except CatalogueError as error:
            warnings.append({"code": "unknown-programme", "fr": str(error), "en": str(error)})
    tests = [_test(t, catalogue) for t in run.tests]
    suppressions = _suppressions(run.configuration, warnings)
    document: dict[str, Any] = {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "complete": bool(complete and run.complete),
        "tool": {"name": TOOL_NAME, "version": run.tool_version},
        "packages": dict(run.packages),
        "target": redact_mapping(run.target, privacy.redactor),
        "configuration": redact_mapping(run.configuration, privacy.redactor),
        "language": run.language if run.language in ("fr", "en") else "fr",
        "started": _iso(run.started),
        "finished": _iso(run.finished),
        "programme": _programme(catalogue, run.programme),
        "summary": _summary(tests),
        "verdict": run_verdict([t["outcome"] for t in tests], preflight_failed=run.preflight_failed),
        "indicators": [] if run.preflight_failed else _indicators(catalogue, tests),
        "tests": tests,
        "warnings": _dedupe(warnings),
    }
    if run.preflight:
        document["preflight"] = [_endpoint_check(c) for c in run.preflight]
    if suppressions is not None:
        suppressions.apply_to_results(document)
    document["privacy"] = {
        "secrets_redacted": True,
        "pseudonymized": privacy.pseudonymize,
    }
    return privacy.data(document)


def _endpoint_check(check: EndpointCheck) -> dict[str, Any]:
    message = {"fr": check.message_fr, "en": check.message_en} if check.message_fr else None
    return {
        "endpoint": check.endpoint,
        "target": check.target,
        "ok": check.ok,
        "cause": check.cause,
        "message": message,
        "elapsed_ms": round(check.elapsed_ms, 1),
    }


def _suppressions(configuration: Mapping[str, Any], warnings: list[dict[str, Any]]) -> Suppressions | None:
    """The run's suppression file; one that cannot be read is a warning of the report, never a crash."""
    try:
        return from_configuration(configuration)
    except SuppressionError as error:
        warnings.append({"code": "suppressions-unreadable", "fr": error.message("fr"), "en": error.message("en")})
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# The campaign's run warnings are English strings; their French wording for French reports.
_FRENCH_WARNINGS = (
    (re.compile(r"^FHIR package dependency not available: (.+)$"), "Dépendance de paquet FHIR indisponible : {0}"),
    (
        re.compile(r"^TLS certificate verification is OFF"),
        "La vérification des certificats TLS est DÉSACTIVÉE (tls.verify = false) : "
        "l'identité du serveur n'a pas été contrôlée",
    ),
    (
        re.compile(r"^run interrupted"),
        "Exécution interrompue : résultats partiels, dossier non scellé",
    ),
    (re.compile(r"^PDF requested but"), "PDF demandé mais le générateur de PDF est indisponible"),
)


def _warning(text: str) -> dict[str, Any]:
    code = next((c for pattern, c in _KNOWN_WARNING_CODES.items() if re.search(pattern, text)), None)
    return {"code": code, "fr": _in_french(text), "en": text}


def _in_french(text: str) -> str:
    for pattern, french in _FRENCH_WARNINGS:
        match = pattern.search(text)
        if match:
            return french.format(*match.groups())
    return text


def _dedupe(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, result = set(), []
    for warning in warnings:
        key = (warning.get("code"), warning.get("fr")) if warning.get("code") is None else warning.get("code")
        if key not in seen:
            seen.add(key)
            result.append(warning)
    return result


def _programme(catalogue: Catalogue | None, requested: str) -> dict[str, Any]:
    if catalogue is None:
        return {"id": requested, "name": {"fr": requested, "en": requested}, "catalogue_version": None}
    return {
        "id": catalogue.id,
        "name": {"fr": catalogue.name_fr, "en": catalogue.name_en},
        "catalogue_version": catalogue.version,
        "source": dict(catalogue.source),
        "usage_statement": dict(catalogue.usage_statement),
    }


def _test(test: TestResult, catalogue: Catalogue | None) -> dict[str, Any]:
    indicators = list(test.indicators)
    if not indicators and catalogue is not None:
        indicators = [i.label for i in catalogue.indicators_for(test.capabilities)]
    duration = None
    if test.started and test.finished:
        duration = round((test.finished - test.started).total_seconds() * 1000, 3)
    return {
        "id": test.id,
        "title": test.title,
        "title_en": test.title_en or test.title,
        "suite": test.suite,
        "group": test.group,
        "capabilities": list(test.capabilities),
        "indicators": indicators,
        "requirements": [_requirement(r) for r in test.requirements],
        "outcome": str(test.outcome.value if hasattr(test.outcome, "value") else test.outcome),
        "messages": list(test.messages),
        "findings": [f.to_dict() for f in test.findings],
        "evidence": list(test.evidence),
        "started": _iso(test.started),
        "finished": _iso(test.finished),
        "duration_ms": duration,
    }


def _requirement(requirement: Requirement) -> dict[str, Any]:
    data: dict[str, Any] = {
        "specification": requirement.specification,
        "section": requirement.section,
        "text": requirement.text,
    }
    if requirement.id:
        data.update(
            id=requirement.id,
            strength=requirement.strength,
            version=requirement.version,
            statement={"fr": requirement.text, "en": requirement.text_en or requirement.text},
        )
    return data


def _summary(tests: list[dict[str, Any]]) -> dict[str, int]:
    summary = {"total": len(tests), **{outcome: 0 for outcome in OUTCOMES}}
    for test in tests:
        summary[test["outcome"]] = summary.get(test["outcome"], 0) + 1
    return summary


def _indicators(catalogue: Catalogue | None, tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if catalogue is None:
        return []
    result = []
    for evaluation in evaluate(catalogue, tests):
        indicator = evaluation.indicator
        entry: dict[str, Any] = {
            "id": indicator.id,
            "code": indicator.code,
            "level": indicator.level,
            "parent": indicator.parent,
            "title": {"fr": indicator.title_fr, "en": indicator.title_en},
            "title_verbatim": indicator.title_verbatim,
            "confirmation": indicator.status,
            "note": {"fr": indicator.note_fr, "en": indicator.note} if indicator.note else None,
            "target": dict(indicator.target) if indicator.target else None,
            "status": evaluation.status,
            "counts": evaluation.counts,
            "capabilities": [
                {
                    "id": c.id,
                    "title": {"fr": capability_title(c.id, "fr"), "en": capability_title(c.id, "en")},
                    "status": c.status,
                    "tests": c.tests,
                }
                for c in evaluation.capabilities
            ],
        }
        result.append(entry)
    return result


def results_from_file(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))


_PATIENT_KEYS = {"family", "given", "birth_date", "birthdate", "ins", "ipp", "nir"}


def _learn_configured_patients(node: Any, privacy: Privacy) -> None:
    """Test patients listed in the configuration are pseudonymised in the results too."""
    if isinstance(node, Mapping):
        if len(_PATIENT_KEYS & {str(k).lower() for k in node}) >= 2 and privacy.pseudonymizer is not None:
            given = node.get("given")
            privacy.pseudonymizer.learn_identity(
                family=node.get("family") if isinstance(node.get("family"), str) else None,
                given=[given] if isinstance(given, str) else [g for g in given or [] if isinstance(g, str)],
                birth_date=node.get("birth_date") or node.get("birthdate"),
                identifiers=[str(node[k]) for k in ("ins", "ipp", "nir") if node.get(k)],
            )
        for value in node.values():
            _learn_configured_patients(value, privacy)
    elif isinstance(node, list):
        for item in node:
            _learn_configured_patients(item, privacy)


def remap_programme(results: dict[str, Any], programme: str) -> dict[str, Any]:
    """A copy of a results document judged against another programme's catalogue (for re-rendering)."""
    catalogue = load_catalogue(programme)
    remapped = dict(results)
    remapped["tests"] = [
        {**test, "indicators": [i.label for i in catalogue.indicators_for(test["capabilities"])]}
        for test in results["tests"]
    ]
    remapped["programme"] = _programme(catalogue, programme)
    remapped["indicators"] = _indicators(catalogue, remapped["tests"])
    return remapped
