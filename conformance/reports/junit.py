"""junit.xml: one <testsuite> per suite, one <testcase> per test, for CI dashboards."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lxml import etree


def _seconds(test: dict[str, Any]) -> str:
    duration = test.get("duration_ms")
    return f"{(duration or 0) / 1000:.3f}"


def _details(test: dict[str, Any], lang: str) -> str:
    lines = list(test["messages"])
    for finding in test["findings"]:
        where = f" @ {finding['location']}" if finding.get("location") else ""
        lines.append(f"{finding['severity'].upper()} [{finding['rule']}]{where}: {finding['message'][lang]}")
    return "\n".join(lines)


def render_junit(results: dict[str, Any], lang: str = "fr") -> bytes:
    suites: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for test in results["tests"]:
        suites[test["suite"] or "default"].append(test)
    summary = results["summary"]
    root = etree.Element(
        "testsuites",
        name=f"hopen-conformance {results['run_id']}",
        tests=str(summary["total"]),
        failures=str(summary["failed"]),
        errors=str(summary["error"]),
        skipped=str(summary["skipped"] + summary.get("not_applicable", 0)),
    )
    for name, tests in suites.items():
        suite = etree.SubElement(
            root,
            "testsuite",
            name=name,
            tests=str(len(tests)),
            failures=str(sum(t["outcome"] == "failed" for t in tests)),
            errors=str(sum(t["outcome"] == "error" for t in tests)),
            skipped=str(sum(t["outcome"] in ("skipped", "not_applicable") for t in tests)),
            time=f"{sum(float(_seconds(t)) for t in tests):.3f}",
        )
        if results.get("started"):
            suite.set("timestamp", results["started"])
        for test in tests:
            case = etree.SubElement(
                suite,
                "testcase",
                classname=f"{name}.{test['group']}" if test["group"] else name,
                name=test["id"],
                time=_seconds(test),
            )
            title = test["title_en"] if lang == "en" else test["title"]
            properties = etree.SubElement(case, "properties")
            etree.SubElement(properties, "property", name="title", value=title)
            for capability in test["capabilities"]:
                etree.SubElement(properties, "property", name="capability", value=capability)
            for indicator in test["indicators"]:
                etree.SubElement(properties, "property", name="indicator", value=indicator)
            etree.SubElement(properties, "property", name="outcome", value=test["outcome"])
            details = _details(test, lang)
            first_line = details.splitlines()[0] if details else test["outcome"]
            if test["outcome"] == "failed":
                etree.SubElement(case, "failure", message=first_line[:500], type="conformance").text = details
            elif test["outcome"] == "error":
                etree.SubElement(case, "error", message=first_line[:500], type="harness").text = details
            elif test["outcome"] in ("skipped", "not_applicable"):
                etree.SubElement(case, "skipped", message=first_line[:500])
            if test["evidence"]:
                etree.SubElement(case, "system-out").text = "\n".join(f"evidence: {e}" for e in test["evidence"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
