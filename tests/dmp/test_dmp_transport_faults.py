"""Every transport fault of the issue, in both directions, through a whole campaign (the `conformance run`
command) on real loopback sockets: each gives a clear verdict, named in French, within the configured timeouts,
and the run completes.

- The harness as the document source (`dmp-repository`): a repository that does not speak TLS, presents a
  certificate of another authority, answers with a truncated multipart, with a MIME part missing, in SOAP 1.1,
  with an oversized answer, or never answers.
- The harness as the DMP (`dmp-feeding`): a document source that sends in clear, with a certificate of another
  authority, a truncated multipart, a missing MIME part, a SOAP 1.1 envelope, an oversized request, or stalls.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from i18n.english import english_fragments
from support.verdicts import owed_exit_code

from conformance.config import Timeouts, TlsConfig
from conformance.reference.dmp.endpoints import REFERENCE_PATIENT, STRUCTURE_ID, STRUCTURE_NAME
from conformance.reference.dmp.pki import DmpPki, generate_dmp_pki
from conformance.reference.dmp.simulator import DmpSimulator
from conformance.reference.dmp.source import DocumentSource, SigningMaterial, soap11, vihf_for
from conformance.transport.mtom import decode_mtom, encode_mtom
from conformance.transport.soap import HttpReply, HttpRequest, SoapClient, ThreadedSoapServer
from conformance.validation.xds.build import provide_request
from conformance.validation.xds.rules import XdsRules

CONFORMANCE = str(Path(sys.executable).parent / "conformance")  # the command, in a child process, as users run it

TIMEOUTS = "[timeouts]\nconnect = 2\nread = 2\ntotal = 8\nretries = 0\n[fhir]\nmax_response_bytes = 1000000\n"
RUN_BOUND = 90.0  # seconds a whole run may take, whatever the fault (the campaign's own start-up included)


@pytest.fixture(scope="module")
def pki() -> Iterator[DmpPki]:
    material = generate_dmp_pki(STRUCTURE_ID, STRUCTURE_NAME)
    yield material
    material.cleanup()


@pytest.fixture(scope="module")
def stranger() -> Iterator[DmpPki]:
    """The same structure under another certificate authority."""
    material = generate_dmp_pki(STRUCTURE_ID, STRUCTURE_NAME)
    yield material
    material.cleanup()


def _run(tmp_path: Path, config: str, suite: str) -> tuple[dict[str, dict], float, str]:
    """Run `suite` with `config`: (tests by id, seconds taken, output)."""
    path = tmp_path / "campaign.toml"
    path.write_text(config, encoding="utf-8")
    out = tmp_path / "run"
    started = time.monotonic()
    command = [CONFORMANCE, "run", "--config", str(path), "--suite", suite, "--output", str(out), "--lang", "fr"]
    done = subprocess.run([*command, "--quiet"], capture_output=True, text=True, timeout=RUN_BOUND * 2)
    elapsed = time.monotonic() - started
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert done.returncode == owed_exit_code(results["tests"]), done.stdout + done.stderr
    assert results["complete"] is True
    return {t["id"]: t for t in results["tests"]}, elapsed, done.stdout + done.stderr


def _text(test: dict) -> str:
    return json.dumps([test["messages"], test["findings"]], ensure_ascii=False)


def _english(test: dict) -> list[str]:
    """English in what a French user reads of the test (its messages)."""
    return [fragment for message in test["messages"] for fragment in english_fragments(message)]


# ---------------------------------------------------------------- the harness as the document source


class HostileRepository:
    """The judging simulator behind a listener that spoils its answers in one way."""

    def __init__(self, mode: str, pki: DmpPki, stranger: DmpPki) -> None:
        self.mode = mode
        self.release = threading.Event()
        rules = XdsRules(trusted_ca=pki.ca_cert.read_bytes(), known_patients=frozenset({REFERENCE_PATIENT}))
        self.simulator = DmpSimulator(rules)
        context = {
            "no-tls": None,
            "wrong-server-cert": stranger.server_context(),
        }.get(mode, pki.server_context())
        self.server = ThreadedSoapServer(self.handle, ssl_context=context).start()

    def handle(self, request: HttpRequest) -> HttpReply:
        reply = self.simulator.handle(request)
        if self.mode == "stall":
            self.release.wait(60)
        if self.mode == "truncated-multipart":
            return HttpReply(reply.status, reply.content_type, reply.body[: len(reply.body) * 2 // 3])
        if self.mode == "missing-part":
            message = decode_mtom(reply.content_type, reply.body)
            if message.parts:  # ITI-43: the document's part dropped, its xop:Include left
                content_type, body = encode_mtom(message.root, (), action=message.action)
                return HttpReply(reply.status, content_type, body)
        if self.mode == "soap11":
            return HttpReply(reply.status, reply.content_type, soap11(reply.body))
        if self.mode == "oversized":
            return HttpReply(reply.status, reply.content_type, reply.body + b" " * 2_000_000)
        return reply

    @property
    def url(self) -> str:
        return self.server.base_url.replace("http://", "https://") + "/repository"

    def stop(self) -> None:
        self.release.set()
        self.server.stop()


def _source_config(pki: DmpPki, url: str) -> str:
    return (
        f"{TIMEOUTS}[tls]\nca_bundle = '{pki.ca_cert}'\nclient_cert = '{pki.client_cert}'\n"
        f"client_key = '{pki.client_key}'\n[dmp]\nrepository_url = '{url}'\ntrusted_ca = '{pki.ca_cert}'\n"
        f"[dmp.vihf]\nsigning_cert = '{pki.signing_cert}'\nsigning_key = '{pki.signing_key}'\n"
    )


REGISTER = "dmp-repository/register/"
# fault -> (test id, outcome, words its message must contain)
REPOSITORY_FAULTS = {
    "no-tls": (REGISTER + "accepts-valid-submission", "error", "le serveur ne parle pas TLS"),
    "wrong-server-cert": (REGISTER + "accepts-valid-submission", "error", "non émis par l'autorité de confiance"),
    "truncated-multipart": (REGISTER + "accepts-valid-submission", "failed", "tronqué"),
    "missing-part": ("dmp-repository/retrieve/retrieve-identical", "failed", "partie MIME"),
    "soap11": (REGISTER + "answers-addressed", "failed", "SOAP 1.1 au lieu de 1.2"),
    "oversized": (REGISTER + "accepts-valid-submission", "error", "au-delà de la taille maximale"),
    "stall": (REGISTER + "accepts-valid-submission", "error", "délai"),
}


@pytest.mark.parametrize("mode", sorted(REPOSITORY_FAULTS))
def test_a_faulty_repository_gets_a_clear_verdict(tmp_path, pki, stranger, mode):
    repository = HostileRepository(mode, pki, stranger)
    try:
        tests, elapsed, _ = _run(tmp_path, _source_config(pki, repository.url), "dmp-repository")
    finally:
        repository.stop()
    test_id, outcome, words = REPOSITORY_FAULTS[mode]
    assert tests[test_id]["outcome"] == outcome, (tests[test_id]["outcome"], tests[test_id]["messages"])
    assert words in _text(tests[test_id]), tests[test_id]["messages"]
    assert not _english(tests[test_id]), tests[test_id]["messages"]
    assert tests[REGISTER + "accepts-valid-submission"]["evidence"]  # the exchange up to the fault is kept
    assert elapsed < RUN_BOUND, elapsed
    assert len(tests) == 9  # every test was judged: none hung, none crashed the run


# ---------------------------------------------------------------- the harness as the DMP


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listener_config(pki: DmpPki, port: int, mode: str = "") -> str:
    # connections-exhausted: one connection at a time, and the held one is not timed out within the window
    bounds = "max_connections = 1\nidle_timeout = 10\n" if mode == "connections-exhausted" else "idle_timeout = 1\n"
    return (
        f"{TIMEOUTS}[dmp]\ntrusted_ca = '{pki.ca_cert}'\n[dmp.listener]\nport = {port}\n"
        f"server_cert = '{pki.server_cert}'\nserver_key = '{pki.server_key}'\nclient_ca = '{pki.ca_cert}'\n"
        f"wait_seconds = 4\nmax_request_bytes = 2000000\nrequest_deadline = 3\n{bounds}"
    )


def _wait_open(pki: DmpPki, port: int, within: float = 60.0) -> None:
    """Until the listener is up. A full handshake: a bare TCP probe would itself be recorded as a TLS fault."""
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(pki.client_cert, pki.client_key)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
                context.wrap_socket(raw, server_hostname="127.0.0.1").close()
            return
        except OSError:
            time.sleep(0.1)


def _source(pki: DmpPki, port: int, *, scheme: str = "https", cert=None, key=None) -> DocumentSource:
    base = f"{scheme}://127.0.0.1:{port}"
    tls = TlsConfig(ca_bundle=pki.ca_cert, client_cert=cert or pki.client_cert, client_key=key or pki.client_key)
    client = SoapClient.create(base, tls=tls, timeouts=Timeouts(connect=2, read=4, total=8, retries=0), sink=None,
                               max_bytes=10**7)  # fmt: skip
    signing = SigningMaterial(pki.signing_cert.read_bytes(), pki.signing_key.read_bytes())
    return DocumentSource(client, f"{base}/repository", f"{base}/registry", signing)


def _send(source: DocumentSource, cda: bytes, mutate=None, request=None) -> None:
    try:
        source.provide(request or provide_request(cda), vihf_for(cda), mutate=mutate)
    except Exception:  # a refused connection is the point of some faults
        pass
    finally:
        source.client.close()


def _stall(pki: DmpPki, port: int) -> None:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(pki.client_cert, pki.client_key)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"POST /repository HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<a")
        tls.settimeout(10)
        with contextlib.suppress(OSError):
            tls.recv(100)  # the listener gives up and closes


def _client(mode: str, pki: DmpPki, stranger: DmpPki, port: int, cda: bytes) -> None:
    _wait_open(pki, port)
    if mode == "no-tls":
        _send(_source(pki, port, scheme="http"), cda)
    elif mode == "wrong-client-cert":
        _send(_source(pki, port, cert=stranger.client_cert, key=stranger.client_key), cda)
    elif mode == "truncated-multipart":
        _send(_source(pki, port), cda, mutate=lambda ct, body, _p: (ct, body[: len(body) * 2 // 3]))
    elif mode == "missing-part":
        request = provide_request(cda)
        request.document[0].set("href", "cid:absent@example")
        _send(_source(pki, port), cda, request=request)
    elif mode == "soap11":
        _send(_source(pki, port), cda, mutate=lambda ct, body, _p: (ct, soap11(body)))
    elif mode == "oversized":
        request = provide_request(cda)
        request.replace_content(cda + b" " * 3_000_000)
        _send(_source(pki, port), cda, request=request)
    elif mode == "stall":
        _stall(pki, port)
    elif mode == "connections-exhausted":  # a connection held open, then a submission on a second one
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(pki.client_cert, pki.client_key)
        held = None
        for _ in range(50):  # until the readiness probe's connection is released and this one is admitted
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                held = context.wrap_socket(raw, server_hostname="127.0.0.1")
                break
            except OSError:
                raw.close()
                time.sleep(0.2)
        assert held is not None
        with held:
            _send(_source(pki, port), cda)
            time.sleep(5)


MUTUAL_TLS = "dmp-feeding/transport/mutual-tls"
SOURCE_FAULTS = {
    "no-tls": (MUTUAL_TLS, "failed", "requête HTTP en clair sur le port TLS"),
    "wrong-client-cert": (MUTUAL_TLS, "failed", "certificat client refusé"),
    "truncated-multipart": ("dmp-feeding/transport/mtom", "failed", "tronqué"),
    "missing-part": ("dmp-feeding/transport/mtom", "failed", "partie MIME"),
    "soap11": ("dmp-feeding/transport/soap12", "failed", "SOAP 1.1"),
    "oversized": (MUTUAL_TLS, "error", "au-delà de la limite du banc"),
    "stall": (MUTUAL_TLS, "failed", "corps de requête incomplet"),
    # the harness's own bound: inconclusive, never a verdict on the source
    "connections-exhausted": (MUTUAL_TLS, "error", "connexions simultanées atteinte"),
}


@pytest.mark.parametrize("mode", sorted(SOURCE_FAULTS))
def test_a_faulty_document_source_gets_a_clear_verdict(tmp_path, pki, stranger, cda_bytes, mode):
    port = _free_port()
    client = threading.Thread(target=_client, args=(mode, pki, stranger, port, cda_bytes), daemon=True)
    client.start()
    tests, elapsed, _ = _run(tmp_path, _listener_config(pki, port, mode), "dmp-feeding")
    client.join(15)
    test_id, outcome, words = SOURCE_FAULTS[mode]
    assert tests[test_id]["outcome"] == outcome, (tests[test_id]["outcome"], tests[test_id]["messages"])
    assert words in _text(tests[test_id]), tests[test_id]["messages"]
    assert not _english(tests[test_id]), tests[test_id]["messages"]
    assert elapsed < RUN_BOUND, elapsed
    others = {t["id"]: t["messages"] for t in tests.values() if t["id"] != test_id and t["outcome"] != "skipped"}
    assert all(tests[i]["outcome"] == "passed" for i in others), others  # the fault fails its test only
