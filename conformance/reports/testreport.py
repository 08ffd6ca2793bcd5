"""testreport.json: the run as a FHIR R4 TestReport (one TestReport.test per test, one assert each)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

_ASSERT_RESULT = {
    "passed": "pass",
    "failed": "fail",
    "warning": "warning",
    "error": "error",
    "skipped": "skip",
    "not_applicable": "skip",
}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
TOOL_URI = "urn:hopen-conformance"  # the test engine participant (urn: keeps it a valid uri with no host)


def _resource_id(run_id: str) -> str:
    cleaned = _ID_UNSAFE.sub("-", run_id).strip("-") or "run"
    return cleaned[:64]


def _markdown(text: str) -> str:
    return text.strip() or "-"


def render_testreport(results: dict[str, Any], lang: str = "fr") -> dict[str, Any]:
    summary = results["summary"]
    executed = summary["total"] - summary["skipped"] - summary.get("not_applicable", 0)
    if not results["complete"]:
        overall = "pending"
    elif summary["failed"]:
        overall = "fail"
    else:  # tests the harness could not judge leave the run unfinished, never failed
        overall = "pending" if summary["error"] or results.get("verdict") == "inconclusive" else "pass"
    report: dict[str, Any] = {
        "resourceType": "TestReport",
        "id": _resource_id(results["run_id"]),
        "identifier": {"system": f"{TOOL_URI}:run", "value": results["run_id"]},
        "name": f"hopen-conformance — {results['programme']['name'][lang]}",
        "status": "completed" if results["complete"] else "in-progress",
        "testScript": {"display": f"hopen-conformance {results['tool']['version']} — {results['programme']['id']}"},
        "result": overall,
        "tester": "hopen-conformance",
        "participant": [
            {"type": "test-engine", "uri": TOOL_URI, "display": f"hopen-conformance {results['tool']['version']}"}
        ],
    }
    report["text"] = {"status": "generated", "div": _narrative(results, lang)}
    if executed:
        report["score"] = round(100.0 * summary["passed"] / executed, 2)
    if results.get("finished"):
        report["issued"] = results["finished"]
    target = results.get("target") or {}
    server = next((v for v in target.values() if isinstance(v, str) and re.match(r"^[a-z][a-z0-9+.-]*:", v)), None)
    if server:
        report["participant"].append({"type": "server", "uri": server})
    tests = [_test(test, lang) for test in results["tests"]]
    if tests:
        report["test"] = tests
    return report


def _test(test: dict[str, Any], lang: str) -> dict[str, Any]:
    title = test["title_en"] if lang == "en" else test["title"]
    lines = [*test["messages"]]
    for finding in test["findings"][:50]:
        lines.append(f"{finding['severity']} [{finding['rule']}] {finding['location']}: {finding['message'][lang]}")
    assertion: dict[str, Any] = {"result": _ASSERT_RESULT.get(test["outcome"], "error")}
    if lines:
        assertion["message"] = _markdown("\n".join(lines))
    if test["evidence"]:
        assertion["detail"] = " ".join(test["evidence"][:20])
    entry: dict[str, Any] = {"name": test["id"], "description": title or test["id"], "action": [{"assert": assertion}]}
    return entry


def _narrative(results: dict[str, Any], lang: str) -> str:
    summary = results["summary"]
    labels = ("passed", "failed", "warning", "error", "skipped", "not_applicable")
    counts = ", ".join(f"{label} {summary.get(label, 0)}" for label in labels)
    title = escape(results["programme"]["name"][lang])
    run_id = escape(results["run_id"])
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><p>hopen-conformance {run_id}: {title}</p><p>{counts}</p></div>'
