"""What a verdict means, end to end through `conformance run`: an unreachable system is "inconclusive" (exit 2),
never "non satisfait"; a SHOULD not met is a warning and leaves the indicator met; `compare` tells new from fixed."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.evidence.sealing import verify_run
from tests.campaign.cli_runner import conformance


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "campaign.toml"
    path.write_text('[run]\nsuites = ["fhir-basics", "identity", "pam"]\n' + body, encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def _run(tmp_path: Path, config: Path, *extra: str):
    out = tmp_path / "run"
    result = conformance("run", "--config", config, "--output", out, "--quiet", *extra, timeout=120)
    return result, out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_unreachable_endpoints_stop_the_run_inconclusive_with_exit_2(tmp_path: Path) -> None:
    closed = _free_port()
    config = _config(
        tmp_path,
        f'[fhir]\nbase_url = "http://127.0.0.1:{closed}/fhir"\n[mllp]\nhost = "127.0.0.1"\nport = {closed}\n'
        "[mllp.listener]\nport = 0\n",
    )
    result, out, results = _run(tmp_path, config)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Serveur FHIR injoignable" in result.stdout and f"127.0.0.1:{closed}" in result.stdout
    assert "Récepteur MLLP du système injoignable" in result.stdout
    assert "connexion refusée" in result.stdout
    assert "_WatchedHTTPConnection" not in result.stdout + result.stderr
    assert results["verdict"] == "inconclusive" and results["tests"] == [] and results["indicators"] == []
    assert {c["endpoint"]: c["cause"] for c in results["preflight"] if not c["ok"]} == {
        "fhir": "refused",
        "mllp.receiver": "refused",
    }
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "non satisfaite" not in report and "Non concluant" in report and 'id="preflight"' in report
    assert verify_run(out) == []  # sealed: the evidence that the system could not be reached


@pytest.mark.parametrize(
    ("base_url", "cause"),
    [
        ("http://hopen-conformance-unreachable.invalid/fhir", "name-resolution"),
        ("https://127.0.0.1:{plain}/fhir", "tls"),
        ("http://127.0.0.1:{silent}/fhir", "timeout"),
    ],
    ids=["name-resolution", "tls", "timeout"],
)
def test_preflight_names_the_cause(
    tmp_path: Path, base_url: str, cause: str, plain_http_port: int, silent_port: int
) -> None:
    url = base_url.format(plain=plain_http_port, silent=silent_port)
    config = _config(tmp_path, f'[fhir]\nbase_url = "{url}"\n[timeouts]\nconnect = 2\n')
    result, _, results = _run(tmp_path, config)
    assert result.returncode == 2
    (check,) = [c for c in results["preflight"] if not c["ok"]]
    assert check["endpoint"] == "fhir" and check["cause"] == cause
    assert check["message"]["fr"].startswith("Serveur FHIR injoignable")


def test_without_preflight_errors_are_inconclusive_never_not_met(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[fhir]\nbase_url = "http://127.0.0.1:{_free_port()}/fhir"\n')
    result, out, results = _run(tmp_path, config, "--no-preflight", "--suite", "fhir-basics")
    assert result.returncode == 2
    assert "preflight" not in results
    outcomes = {t["outcome"] for t in results["tests"]}
    assert "error" in outcomes and "failed" not in outcomes
    assert results["verdict"] == "inconclusive"
    assert all(i["status"] != "not_met" for i in results["indicators"])
    assert "non satisfaite" not in (out / "report.html").read_text(encoding="utf-8")
    messages = " ".join(t["messages"][0] for t in results["tests"] if t["outcome"] == "error")
    assert "connexion refusée" in messages and "_WatchedHTTPConnection" not in messages


def test_a_should_not_met_is_a_warning_and_the_indicator_stays_met(tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = tmp_path / "campaign.toml"
    config.write_text('[run]\nprogramme = "hopen-2019"\n', encoding="utf-8")  # its indicators cover FHIR read
    result = conformance(
        "run",
        "--reference",
        "--config",
        config,
        "--faults",
        "version-id-missing",
        "--suite",
        "fhir-basics",
        "--output",
        out,
        "--quiet",
    )
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stdout + result.stderr
    warned = [t for t in results["tests"] if t["outcome"] == "warning"]
    assert [t["requirements"][0]["id"] for t in warned] == ["fhir-r4.read.version-id"]
    assert warned[0]["requirements"][0]["strength"] == "SHOULD"
    assert results["verdict"] == "met"
    touched = [i for i in results["indicators"] if i["counts"]["warning"]]
    assert touched and all(i["status"] in ("met", "partial") for i in touched)


def test_compare_lists_new_and_fixed_findings(tmp_path: Path) -> None:
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    assert conformance("run", "--reference", "--suite", "fhir-basics", "--output", clean, "--quiet").returncode == 0
    run = conformance("run", "--reference", "--faults", "read-wrong-id", "--suite", "fhir-basics", "--output", faulty)
    assert run.returncode == 1, run.stdout
    forward = conformance("compare", clean, faulty, "--json")
    assert forward.returncode == 1, forward.stderr
    diff = json.loads(forward.stdout)
    assert diff["counts"]["new"] >= 1 and diff["counts"]["fixed"] == 0
    assert {row["test"] for row in diff["new"]} <= {c["test"] for c in diff["outcome_changes"]}
    assert diff["verdict"] == {"before": "met", "after": "not_met"}
    backward = conformance("compare", faulty, clean)
    assert backward.returncode == 0
    assert f"0 nouveaux constats, {diff['counts']['new']} corrigés" in backward.stdout


def test_compare_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = conformance("compare", tmp_path, tmp_path)
    assert result.returncode == 2 and "n'est pas un dossier d'exécution" in result.stderr
