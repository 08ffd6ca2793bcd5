"""Run warnings reach French reports in French, and keep their English text for English ones."""

from __future__ import annotations

from datetime import UTC, datetime

from conformance.reports.results_json import build_results
from conformance.results import RunResult


def _run(warnings: list[str]) -> RunResult:
    return RunResult(
        run_id="r1",
        tool_version="0",
        packages={},
        target={},
        configuration={},
        programme="hopen2-2024",
        language="fr",
        started=datetime.now(UTC),
        warnings=warnings,
    )


def test_harness_warnings_are_translated_and_unknown_ones_kept_verbatim() -> None:
    results = build_results(
        _run(
            [
                "FHIR package dependency not available: ihe.iti.mhd#4.2.3",
                "TLS certificate verification is OFF (tls.verify = false): the server's identity was not checked",
                "something new",
            ]
        ),
        complete=True,
    )
    by_english = {w["en"]: w for w in results["warnings"]}
    assert by_english["FHIR package dependency not available: ihe.iti.mhd#4.2.3"]["fr"] == (
        "Dépendance de paquet FHIR indisponible : ihe.iti.mhd#4.2.3"
    )
    tls = next(w for w in results["warnings"] if w["en"].startswith("TLS certificate"))
    assert tls["code"] == "tls-verification-off" and tls["fr"].startswith("La vérification des certificats TLS")
    assert by_english["something new"]["fr"] == "something new"
