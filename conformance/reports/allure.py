"""Allure: write allure-results/ from results.json (when the campaign's allure-pytest did not), and render
them with Allure 3 from npm (reports/allure/node_modules, installed by `make node-deps`; no Java)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.settings import REPO_ROOT

# Allure is an npm tool installed beside a checkout (`make node-deps`), not package data: HOPEN_ALLURE_DIR
# points at another installation.
ALLURE_DIR = Path(os.environ.get("HOPEN_ALLURE_DIR") or REPO_ROOT / "reports" / "allure")
ALLURE_CLI = ALLURE_DIR / "node_modules" / "allure" / "cli.js"
# Allure has no warning: a SHOULD not met shows as passed with its message (and the outcome as a label).
_STATUS = {
    "passed": "passed",
    "failed": "failed",
    "warning": "passed",
    "error": "broken",
    "skipped": "skipped",
    "not_applicable": "skipped",
}


class AllureError(Exception):
    pass


def _millis(value: str | None) -> int | None:
    return int(datetime.fromisoformat(value).timestamp() * 1000) if value else None


def write_allure_results(results: dict[str, Any], directory: Path, lang: str = "fr") -> Path:
    """One `<uuid>-result.json` per test (Allure results format), with evidence linked as parameters."""
    directory.mkdir(parents=True, exist_ok=True)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"hopen-conformance:{results['run_id']}")
    for test in results["tests"]:
        identifier = str(uuid.uuid5(namespace, test["id"]))
        lines = [*test["messages"]] + [
            f"{f['severity']} [{f['rule']}] {f['location']}: {f['message'][lang]}" for f in test["findings"]
        ]
        labels = [
            {"name": "suite", "value": test["suite"]},
            {"name": "subSuite", "value": test["group"]},
            {"name": "framework", "value": "hopen-conformance"},
            *({"name": "tag", "value": c} for c in test["capabilities"]),
            *({"name": "feature", "value": i} for i in test["indicators"]),
            {"name": "tag", "value": f"outcome:{test['outcome']}"},
        ]
        record = {
            "uuid": identifier,
            "historyId": identifier,
            "testCaseId": identifier,
            "fullName": test["id"],
            "name": test["title_en"] if lang == "en" else test["title"],
            "status": _STATUS.get(test["outcome"], "unknown"),
            "statusDetails": {"message": "\n".join(lines)} if lines else {},
            "stage": "finished",
            "start": _millis(test.get("started")) or _millis(results["started"]),
            "stop": _millis(test.get("finished")) or _millis(results["started"]),
            "labels": labels,
            "parameters": [{"name": "evidence", "value": e} for e in test["evidence"][:20]],
            "links": [],
            "steps": [],
            "attachments": [],
        }
        (directory / f"{identifier}-result.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return directory


def allure_available() -> bool:
    return ALLURE_CLI.is_file() and shutil.which("node") is not None


def render_allure(
    results_dir: Path, output_dir: Path, *, name: str = "hopen-conformance", timeout: float = 300
) -> Path:
    """Runs `allure generate` (Allure 3, node) on `results_dir` into `output_dir`; returns output_dir."""
    if not allure_available():
        raise AllureError("Allure 3 is not installed: run `make node-deps` (npm ci in reports/allure)")
    command = ["node", str(ALLURE_CLI), "generate", str(results_dir), "--output", str(output_dir), "--name", name]
    try:
        completed = subprocess.run(
            command, cwd=output_dir.parent, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise AllureError(f"allure generate did not finish within {timeout:.0f} s") from None
    if completed.returncode != 0 or not (output_dir / "index.html").exists():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        raise AllureError(f"allure generate failed (exit {completed.returncode}): {' | '.join(tail)}")
    return output_dir
