"""The validation service on a real loopback socket: same answers as the CLI, and the listener bounds."""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from conformance.cli import cli
from conformance.cli.validate import _as_json, validate_bytes
from conformance.service.server import NonLoopbackError, ServiceLimits, ValidationService
from conformance.settings import cda_pack_dir, shared_dir
from conformance.validation.options import ValidateOptions

DIV = '<div xmlns=\\"http://www.w3.org/1999/xhtml\\">x</div>'
PATIENT = (
    f'{{"resourceType": "Patient", "id": "b", "text": {{"status": "generated", "div": "{DIV}"}}, "gender": "robot"}}'
)


def _hl7_sample() -> Path:
    return next((shared_dir() / "hl7v2-samples").rglob("*ADT*A01*.hl7"), None) or next(
        (shared_dir() / "hl7v2-samples").rglob("*.hl7")
    )


def _cda_sample() -> Path:
    return cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"


@pytest.fixture
def service() -> Iterator[ValidationService]:
    running = ValidationService(limits=ServiceLimits(idle_timeout=2.0), warm=False)
    running.start()
    yield running
    running.stop()


def _post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"{}")
    finally:
        connection.close()


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize("sample", ["fhir", "hl7v2", "cda"])
def test_post_validate_answers_what_the_cli_prints(service: ValidationService, sample: str, tmp_path: Path) -> None:
    if sample == "fhir":
        path = tmp_path / "patient.json"
        path.write_text(PATIENT, encoding="utf-8")
    else:
        path = _hl7_sample() if sample == "hl7v2" else _cda_sample()
    data = path.read_bytes()
    status, headers, answer = _post(service.url, f"/validate?name={path.name}", data)
    local = validate_bytes(data, path.name, ValidateOptions())
    assert status == 200
    assert answer == _as_json(local, "fr")
    assert headers["X-Hopen-Valid"] == ("true" if all(o.is_valid for o in local) else "false")


@pytest.mark.parametrize("output", [["--format", "json"], ["--summary"], ["--lang", "en"]])
def test_validate_server_prints_and_exits_like_a_local_run(
    service: ValidationService, output: list[str], tmp_path: Path
) -> None:
    invalid = tmp_path / "patient.json"
    invalid.write_text(PATIENT, encoding="utf-8")
    inputs = [str(invalid), str(_hl7_sample())]
    assert _cli("--server", service.url, *output, *inputs) == _cli(*output, *inputs)


def test_environment_variable_selects_the_server(service: ValidationService, tmp_path: Path) -> None:
    invalid = tmp_path / "patient.json"
    invalid.write_text(PATIENT, encoding="utf-8")
    before = service.state.served
    result = CliRunner(env={"HOPEN_VALIDATION_SERVER": service.url}).invoke(cli, ["validate", str(invalid)])
    assert result.exit_code == 1 and "robot" in result.output
    assert service.state.served == before + 1


def test_unreachable_server_is_a_harness_error_not_a_verdict(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "patient.json"
    path.write_text(PATIENT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--server", f"http://127.0.0.1:{port}", str(path)])
    assert result.exit_code == 2
    assert "injoignable" in result.output


def test_fhir_validate_operation_takes_parameters_and_profile(service: ValidationService) -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": json.loads(PATIENT)},
            {"name": "profile", "valueUri": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"},
        ],
    }
    status, headers, outcome = _post(
        service.url, "/Patient/$validate", json.dumps(parameters).encode(), {"Content-Type": "application/fhir+json"}
    )
    assert status == 200 and outcome["resourceType"] == "OperationOutcome"
    assert headers["X-Hopen-Valid"] == "false"
    texts = " ".join(issue["details"]["text"] for issue in outcome["issue"])
    assert "robot" in texts
    status, _headers, bad = _post(service.url, "/$validate", b"not json")
    assert status == 400 and bad["resourceType"] == "OperationOutcome"


def test_body_over_the_limit_is_refused_before_reading() -> None:
    small = ValidationService(limits=ServiceLimits(max_request_bytes=1000), warm=False)
    small.start()
    try:
        status, _headers, outcome = _post(small.url, "/validate", b"x" * 5000)
        assert status == 413 and outcome["issue"][0]["code"] == "too-costly"
        status, _headers, _ = _post(small.url, "/validate", b"x", {"Transfer-Encoding": "chunked"})
        assert status == 411
    finally:
        small.stop()


def test_idle_connection_is_closed(service: ValidationService) -> None:
    parts = urlsplit(service.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as silent:
        started = time.monotonic()
        assert silent.recv(100) == b""  # closed by the service, not by our timeout
        assert time.monotonic() - started < 9


def test_connections_over_the_limit_get_503() -> None:
    narrow = ValidationService(limits=ServiceLimits(max_connections=1, idle_timeout=5.0), warm=False)
    narrow.start()
    parts = urlsplit(narrow.url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=10):
            time.sleep(0.2)  # the first connection holds the only slot
            with socket.create_connection((parts.hostname, parts.port), timeout=10) as second:
                assert second.recv(200).startswith(b"HTTP/1.1 503 ")
    finally:
        narrow.stop()


def test_a_validation_over_the_time_limit_answers_inconclusive(tmp_path: Path) -> None:
    slow = ValidationService(limits=ServiceLimits(request_timeout=0.3, workers=1), warm=False)
    slow.start()
    try:
        slow.state.executor.submit(time.sleep, 2)  # the only worker is busy
        status, _headers, outcome = _post(slow.url, "/validate", PATIENT.encode())
        assert status == 503
        assert outcome["issue"][0]["code"] == "timeout"
    finally:
        slow.stop()


def test_non_loopback_bind_needs_explicit_permission() -> None:
    with pytest.raises(NonLoopbackError):
        ValidationService("0.0.0.0", 0, warm=False)


def test_batch_over_worker_processes_keeps_order_and_results(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for index, sample in enumerate(sorted((shared_dir() / "hl7v2-samples").rglob("*.hl7"))[:6]):
        (folder / f"{index:02d}-{sample.name}").write_bytes(sample.read_bytes())
    (folder / "patient.json").write_text(PATIENT, encoding="utf-8")
    assert _cli("--jobs", "2", "--format", "json", str(folder)) == _cli("--format", "json", str(folder))


def _judged(outcomes: list[dict]) -> list[tuple]:
    return [
        (o["valid"], [(f["severity"], f["rule"], f["location"], f["message"]["fr"]) for f in o["findings"]])
        for o in outcomes
    ]


def _health(url: str) -> dict:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", "/health")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def test_a_request_during_the_warm_up_gets_the_verdict_of_a_warm_engine() -> None:
    """The engines warm up in their own process; a CDA document sent at start is answered meanwhile (the
    service still reports itself warming) with the same findings as a local run, again by the warm engine
    once it is ready, and again by the service itself when the engine process has died (SHALL)."""
    judged = _judged
    data = _cda_sample().read_bytes()
    running = ValidationService(limits=ServiceLimits(idle_timeout=5.0), warm=True)
    url = running.start()
    try:
        status, _headers, during = _post(url, "/validate?format=outcomes&name=doc", data)
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request("GET", "/health")
        health = json.loads(connection.getresponse().read())
        connection.close()
        assert status == 200 and (health["status"], health["engine"]) == ("warming", "cold")
        local = [o.to_dict() for o in validate_bytes(data, "doc", ValidateOptions())]
        assert judged(during["outcomes"]) == judged(local)
        assert running.state.ready.wait(900) and running.state.warm_seconds is not None
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request("GET", "/health")
        health = json.loads(connection.getresponse().read())
        connection.close()
        assert (health["status"], health["engine"]) == ("ready", "warm")
        status, _headers, after = _post(url, "/validate?format=outcomes&name=doc", data)
        assert status == 200 and judged(after["outcomes"]) == judged(local)
        status, _headers, message = _post(url, "/validate?format=outcomes", _hl7_sample().read_bytes())
        assert status == 200 and message["outcomes"][0]["kind"] == "hl7v2"
        engines = running.state.engines
        assert engines is not None
        for process in list(engines._processes.values()):  # the engine process dies (killed, out of memory)
            process.kill()
            process.join(30)
        status, _headers, again = _post(url, "/validate?format=outcomes&name=doc", data)
        assert status == 200 and judged(again["outcomes"]) == judged(local)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request("GET", "/health")
        assert json.loads(connection.getresponse().read())["engine"] == "cold"
        connection.close()
    finally:
        running.stop()


def test_cda_documents_go_to_the_engine_once_its_profiles_are_compiled() -> None:
    """An engine process takes CDA documents as soon as its transversal profile schematrons are compiled,
    before the rest of its warm-up (held here after that step): same findings as a local run, answered by
    the engine while the service still says it is warming; an HL7 v2 message, which needs the rest of the
    warm-up, is answered by the service itself meanwhile; once released, the engine takes every input (SHALL).
    """
    data = _cda_sample().read_bytes()
    hl7 = _hl7_sample().read_bytes()
    running = ValidationService(limits=ServiceLimits(idle_timeout=5.0), warm=True, hold_warm_up=True)
    url = running.start()
    try:
        assert running.state.cda_ready.wait(900)
        health = _health(url)
        assert (health["status"], health["cda_engine"], health["engine"]) == ("warming", "warm", "cold")
        local = [o.to_dict() for o in validate_bytes(data, "doc", ValidateOptions())]
        status, headers, answer = _post(url, "/validate?format=outcomes&name=doc", data)
        assert (status, headers["X-Hopen-Engine"]) == (200, "warm")
        assert _judged(answer["outcomes"]) == _judged(local)
        local = [o.to_dict() for o in validate_bytes(hl7, "message", ValidateOptions())]
        status, headers, message = _post(url, "/validate?format=outcomes&name=message", hl7)
        assert (status, headers["X-Hopen-Engine"]) == (200, "cold")
        assert _judged(message["outcomes"]) == _judged(local)
        assert not running.state.ready.is_set()  # the engine's warm-up is still held
        running.resume_warm_up()
        assert running.state.ready.wait(900) and _health(url)["status"] == "ready"
        status, headers, message = _post(url, "/validate?format=outcomes&name=message", hl7)
        assert (status, headers["X-Hopen-Engine"]) == (200, "warm")
        assert _judged(message["outcomes"]) == _judged(local)
    finally:
        running.stop()


def test_an_engine_request_waits_for_the_warm_up_compile_in_progress() -> None:
    """In an engine process, a request and a warm-up compile take turns: a request coming while the warm-up
    holds the turn (a Saxon compile) is validated only once the turn is given back (SHALL)."""
    from conformance.service import server

    data = _cda_sample().read_bytes()
    answers: list[list] = []
    with server._ENGINE_TURNS:  # the warm-up's side
        request = threading.Thread(
            target=lambda: answers.append(server._engine_validate(data, "doc", ValidateOptions()))
        )
        request.start()
        request.join(0.5)
        assert request.is_alive() and not answers
    request.join(900)
    local = validate_bytes(data, "doc", ValidateOptions())
    assert _judged([o.to_dict() for o in answers[0]]) == _judged([o.to_dict() for o in local])


def test_a_waiting_request_gets_the_turn_before_the_warm_ups_next_step() -> None:
    """The warm-up's compiles come one after another: a request waiting while one runs is let in before the
    next (a plain lock, taken again at once by the warm-up's loop, would let it wait for the whole loop)."""
    from conformance.service.server import Turns

    turns = Turns()
    order: list[str] = []

    def request() -> None:
        with turns.request():
            order.append("request")

    def next_step() -> None:
        with turns:
            order.append("warm-up")

    with turns:  # a warm-up step in progress
        waiting = threading.Thread(target=request)
        waiting.start()
        while not turns._waiting:
            time.sleep(0.01)
        step = threading.Thread(target=next_step)
        step.start()
    waiting.join(60)
    step.join(60)
    assert order == ["request", "warm-up"]


def test_the_warm_up_leaves_a_grace_after_each_request_for_its_answer_to_go_back() -> None:
    """An engine's answer is sent after its turn: a compile started at once would keep the interpreter lock
    and hold it back. Within the grace the warm-up does not start a step, and a request still comes first."""
    from conformance.service.server import Turns

    turns = Turns(grace=600.0)
    order: list[str] = []

    def next_step() -> None:
        with turns:
            order.append("warm-up")

    with turns.request():
        order.append("request 1")
    step = threading.Thread(target=next_step, daemon=True)
    step.start()
    step.join(0.3)
    with turns.request():
        order.append("request 2")
    step.join(0.3)
    assert order == ["request 1", "request 2"]
    with turns._changed:  # the grace over: the step goes on
        turns._grace = 0.0
        turns._changed.notify_all()
    step.join(60)
    assert order == ["request 1", "request 2", "warm-up"]


def test_campaign_validation_server_key_sends_cda_documents_to_the_service(
    service: ValidationService, tmp_path: Path
) -> None:
    """`[run] validation_server`: the campaign's CDA outcomes come from the service, the same as local ones;
    an unreachable service is a harness error (the test is inconclusive), never a verdict (SHALL)."""
    from conformance.campaign.validators import HarnessUnavailable, use_validation_server, validate_cda
    from conformance.config import load_config

    config_file = tmp_path / "campaign.toml"
    config_file.write_text(f'[run]\nvalidation_server = "{service.url}"\n', encoding="utf-8")
    assert load_config(config_file).run.validation_server == service.url
    data = _cda_sample().read_bytes()
    local = validate_cda(data, "fr", name="doc")
    served_before = service.state.served
    try:
        use_validation_server(service.url)
        remote = validate_cda(data, "fr", name="doc")
        assert service.state.served == served_before + 1

        def judged(outcome):  # the service, like the CLI, also gives each finding its line and column
            return [(f.severity, f.code, f.rule, f.location, f.message_fr, f.profile) for f in outcome.findings]

        assert judged(remote) == judged(local) and remote.is_valid == local.is_valid
        assert remote.details["validation_server"] == service.url
        use_validation_server("http://127.0.0.1:9")  # nothing listens on the discard port
        with pytest.raises(HarnessUnavailable):
            validate_cda(data, "fr", name="doc")
    finally:
        use_validation_server(None)


def _trickle(port: int, at_once: bytes, trickled: bytes, *, pause: float) -> bytes:
    """Send `at_once`, then `trickled` a byte at a time `pause` seconds apart until the service answers;
    what it answered (b"" when every byte went out unanswered and the service then said nothing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        slow.sendall(at_once)
        for index in range(len(trickled)):
            try:
                slow.sendall(trickled[index : index + 1])
            except OSError:  # the service already closed its side
                break
            if select.select([slow], [], [], pause)[0]:
                break
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := slow.recv(65536):
                answer += chunk
        return answer


@pytest.mark.parametrize("part", ["head", "body"])
def test_a_client_trickling_its_request_is_cut_off_without_holding_others(part: str) -> None:
    """Slow loris: a byte every 0.25 s keeps the idle timeout from firing, but the request head (or body)
    has a time limit of its own: the service answers 408 and closes long before the last byte would have
    gone out, and answers another client meanwhile (SHALL)."""
    limits = ServiceLimits(idle_timeout=10.0, head_timeout=1.0, body_timeout=1.0, max_connections=4)
    running = ValidationService(limits=limits, warm=False)
    port = urlsplit(running.start()).port
    assert port is not None
    body = PATIENT.encode()
    head = f"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    at_once, trickled = (b"", head + body) if part == "head" else (head, body)
    answers: list[bytes] = []
    slow = threading.Thread(target=lambda: answers.append(_trickle(port, at_once, trickled, pause=0.25)))
    try:
        slow.start()
        time.sleep(0.3)  # the slow client is connected and trickling
        other = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        other.request("GET", "/health")
        health = other.getresponse()
        answered = health.status == 200 and json.loads(health.read())["status"] == "ready"
        other.close()
        still_trickling = slow.is_alive()
        slow.join(120)
        assert answered and still_trickling  # the other client was answered while the slow one was still sending
        status_line, _, rest = answers[0].partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.") and b" 408 " in status_line
        issue = json.loads(rest.split(b"\r\n\r\n", 1)[1])["issue"][0]
        assert issue["code"] == "timeout"
        assert ("en-tête" if part == "head" else "corps") in issue["details"]["text"]
        assert running.state.guard.open_connections == 0  # the slot was given back
    finally:
        slow.join(120)
        running.stop()


def test_keep_alive_connection_waits_for_its_next_request_under_the_idle_timeout_only() -> None:
    """The head's time limit starts with the head's first byte: a keep-alive connection quiet between two
    requests for longer than `head_timeout` (but under `idle_timeout`) still gets its second answer."""
    running = ValidationService(limits=ServiceLimits(idle_timeout=10.0, head_timeout=0.5), warm=False)
    url = running.start()
    parts = urlsplit(url)
    try:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for _ in range(2):
            connection.request("GET", "/health")
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["status"] == "ready"
            time.sleep(1.0)
        connection.close()
    finally:
        running.stop()


def test_size_and_concurrency_limits_are_on_by_default() -> None:
    limits = ServiceLimits()
    assert 0 < limits.max_request_bytes <= 64 * 1024 * 1024
    assert 0 < limits.max_connections <= 64 and limits.workers >= 1
    assert 0 < limits.head_timeout <= limits.idle_timeout and 0 < limits.body_timeout <= limits.request_timeout
