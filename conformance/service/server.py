"""HTTP validation service (`conformance serve --validation`): bounded like the harness's other listeners.

Bounds: loopback unless asked otherwise, `max_connections` open at once (shared `ListenerGuard`), a body of
at most `max_request_bytes` with a Content-Length, `idle_timeout` on the socket, a request head received
within `head_timeout` seconds of its first byte and its body within `body_timeout` seconds (a client
trickling bytes, slow-loris style, gets a 408 OperationOutcome and is disconnected; each connection has its
own thread, so it holds one of the `max_connections` slots and nothing else), `request_timeout` seconds per
validation (the answer is then a 503 OperationOutcome; the validation finishes in the background, holding
one of the `workers`).

Warm engines live in `workers` engine processes (spawned), each compiling every schematron and loading the
FHIR packages and HL7 v2 profiles once at start. Saxon keeps Python's interpreter lock for the whole length
of a compile (seconds for the largest schematrons), so a warm-up in the serving process would hold every
request back; in its own process it holds nothing. An engine process takes CDA documents and XDM packages
as soon as its transversal profile schematrons are compiled (the first step of its warm-up, the only
schematrons every document needs whole, and their first run); the rest of its warm-up (the volet
schematrons, FHIR, HL7 v2) goes on in a thread of that process, its compiles taking turns with requests
(one lock: a compile or a validation at a time), and other inputs go to it once it is done. Until then,
requests are validated in this process on `workers` threads by the cold path (only the rules the
document can fire are compiled), with the same verdicts; `/health` says "warming" meanwhile, and the
`X-Hopen-Engine` header of an answer says which path gave it ("warm": an engine process; "cold": this
process).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from conformance.findings import Outcome, finding
from conformance.transport.limits import (
    DEFAULT_BIND_HOST,
    DeadlineReader,
    ListenerGuard,
    ListenerLimits,
    NonLoopbackError,
    RequestTooSlow,
    is_loopback,
)
from conformance.validation.options import ValidateOptions

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class ServiceLimits:
    max_connections: int = 16
    max_request_bytes: int = 64 * 1024 * 1024
    idle_timeout: float = 30.0
    head_timeout: float = 10.0  # request line and headers, from their first byte
    body_timeout: float = 120.0  # the whole body, from the end of the head
    request_timeout: float = 300.0
    workers: int = 1


def options_from_query(query: dict[str, list[str]], base: ValidateOptions | None = None) -> ValidateOptions:
    """Query parameters named like the CLI options: profile (repeatable), ig, hl7v2_profile, schematron, lang."""
    options = replace(base or ValidateOptions())

    def last(name: str) -> str | None:
        values = query.get(name) or query.get(name.replace("_", "-"))
        return values[-1] if values else None

    lang = last("lang")
    if lang in ("fr", "en"):
        options.lang = lang
    options.profiles = [*options.profiles, *query.get("profile", [])]
    options.igs = [*options.igs, *query.get("ig", [])]
    options.hl7v2_profile = last("hl7v2_profile") or options.hl7v2_profile
    options.schematron = last("schematron") or options.schematron
    pack = last("cda_pack")
    if pack:
        options.cda_pack = Path(pack)
    return options


def _problem_outcome(name: str, rule: str, fr: str, en: str, code: str = "processing") -> Outcome:
    outcome = Outcome(subject=name, kind="input")
    outcome.add(finding("fatal", code, rule, "", fr, en, source="tool"))
    return outcome


@dataclass
class ServiceState:
    limits: ServiceLimits
    options: ValidateOptions
    guard: ListenerGuard
    executor: ThreadPoolExecutor
    ready: threading.Event = field(default_factory=threading.Event)  # every engine warmed: all inputs
    cda_ready: threading.Event = field(default_factory=threading.Event)  # profiles compiled: CDA, XDM inputs
    warm_seconds: float | None = None
    cda_seconds: float | None = None
    served: int = 0
    engines: ProcessPoolExecutor | None = None  # the warm engine processes; used once `ready` is set

    def submit(self, body: bytes, name: str, options: ValidateOptions) -> tuple[Future, bool]:
        """On a warm engine process when one is ready for this input, else on this process's threads (the
        cold path); and whether an engine process took it."""
        engines = self.engines
        if engines is not None and (self.ready.is_set() or (self.cda_ready.is_set() and cda_only(body))):
            try:
                return engines.submit(_engine_validate, body, name, options), True
            except (BrokenProcessPool, RuntimeError):
                self.engine_lost()
        return self.validate_here(body, name, options), False

    def validate_here(self, body: bytes, name: str, options: ValidateOptions) -> Future:
        return self.executor.submit(_validate, body, name, options)

    def engine_lost(self) -> None:
        """An engine process died (killed, out of memory): this process serves from now on (nothing left
        to warm up), compiling whole schematrons again once a second document needs other rules."""
        engines, self.engines = self.engines, None
        self.cda_ready.set()
        self.ready.set()
        if engines is not None:
            engines.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            from conformance.validation.cda import schematron

            schematron.prune_every_document(False)


class _Handler(BaseHTTPRequestHandler):
    server_version = "hopen-conformance-validation"
    protocol_version = "HTTP/1.1"
    state: ServiceState  # set on the subclass built per service
    engine = "cold"  # which path answered the last validation on this connection (X-Hopen-Engine)

    def setup(self) -> None:
        self.timeout = self.state.limits.idle_timeout
        super().setup()
        self.rfile.close()  # the socket's own file: reads go through the deadlines instead
        self.reader = DeadlineReader(self.connection, self.state.limits.idle_timeout)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.expect_head(self.state.limits.head_timeout)
        try:
            super().handle_one_request()
        except RequestTooSlow as slow:
            self._too_slow(slow)
        finally:
            self.reader.done()

    def _too_slow(self, slow: RequestTooSlow) -> None:
        """408 and close: the connection's slot and thread are freed for other clients."""
        self.close_connection = True
        if slow.part == "head":  # answered as to a request not yet read
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""
        self.reader.done()
        with contextlib.suppress(OSError):
            self._send_json(
                HTTPStatus.REQUEST_TIMEOUT,
                self._issue(
                    "timeout",
                    f"{slow.fr} (limite du service)",
                    f"{slow.en} (service limit)",
                ),
            )

    def log_message(self, format: str, *args: Any) -> None:
        return  # inputs may carry patient data: no request log

    def handle(self) -> None:
        admission = self.state.guard.admit(self.client_address[0] if self.client_address else "")
        if admission is None:
            self.close_connection = True
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""  # answered before reading
            with contextlib.suppress(OSError):
                self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, self._issue("too-costly", "connexions", "connections"))
            return
        try:
            super().handle()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        finally:
            self.state.guard.release(admission)

    # ---------------------------------------------------------------- routes

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path in ("/health", ""):
            self._send_json(
                HTTPStatus.OK,
                {
                    "status": "ready" if self.state.ready.is_set() else "warming",
                    # "warm": answered by the engine processes; "cold": by this process, compiling as needed
                    "engine": "warm" if self.state.ready.is_set() and self.state.engines is not None else "cold",
                    # CDA documents and XDM packages: to the engine processes from their first warm-up step
                    "cda_engine": "warm" if self.state.cda_ready.is_set() and self.state.engines else "cold",
                    "served": self.state.served,
                    "warm_seconds": self.state.warm_seconds,
                    "cda_warm_seconds": self.state.cda_seconds,
                },
            )
        elif path == "/metadata":
            self._send_json(HTTPStatus.OK, _capability_statement(), FHIR_JSON)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, self._issue("not-found", "ressource inconnue", "unknown resource"))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path).rstrip("/")
        query = parse_qs(url.query, keep_blank_values=True)
        body = self._read_body()
        if body is None:
            return
        if path == "/validate":
            self._validate(body, query)
        elif path.endswith("/$validate") and path.count("/") <= 2:
            self._fhir_validate(body, query)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, self._issue("not-found", "ressource inconnue", "unknown resource"))

    # ---------------------------------------------------------------- helpers

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            self._send_json(
                HTTPStatus.LENGTH_REQUIRED, self._issue("invalid", "Content-Length requis", "Content-Length required")
            )
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._send_json(
                HTTPStatus.LENGTH_REQUIRED, self._issue("invalid", "Content-Length requis", "Content-Length required")
            )
            return None
        limit = self.state.limits.max_request_bytes
        if length < 0 or length > limit:
            self.close_connection = True
            self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                self._issue(
                    "too-costly", f"corps de requête au-delà de {limit} octets", f"request body over {limit} bytes"
                ),
            )
            return None
        self.reader.expect_body(self.state.limits.body_timeout)
        data = self.rfile.read(length)
        self.reader.done()
        if len(data) < length:
            self.close_connection = True
            return None
        return data

    def _run(self, body: bytes, name: str, options: ValidateOptions) -> list[Outcome] | None:
        timeout = self.state.limits.request_timeout
        future, warm = self.state.submit(body, name, options)
        self.engine = "warm" if warm else "cold"
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            return None
        except BrokenProcessPool:  # the engine process died under this request: validated here instead
            self.state.engine_lost()
        self.engine = "cold"
        try:
            return self.state.validate_here(body, name, options).result(timeout=timeout)
        except FutureTimeout:
            return None

    def _validate(self, body: bytes, query: dict[str, list[str]]) -> None:
        from conformance.cli.validate import _as_json

        options = options_from_query(query, self.state.options)
        name = (query.get("name") or ["input"])[-1][:500]
        outcomes = self._run(body, name, options)
        if outcomes is None:
            self._timeout(name, options.lang)
            return
        self.state.served += 1
        valid = all(o.is_valid for o in outcomes)
        if (query.get("format") or ["json"])[-1] == "outcomes":  # what `validate --server` reads back
            self._send_json(HTTPStatus.OK, {"outcomes": [o.to_dict() for o in outcomes]}, valid=valid)
        else:
            self._send_json(HTTPStatus.OK, _as_json(outcomes, options.lang), FHIR_JSON, valid=valid)

    def _fhir_validate(self, body: bytes, query: dict[str, list[str]]) -> None:
        options = options_from_query(query, self.state.options)
        resource, profiles = _resource_of(body)
        if resource is None:
            self._send_json(
                HTTPStatus.BAD_REQUEST,
                self._issue(
                    "invalid",
                    "corps : une ressource FHIR ou un Parameters attendu",
                    "body: a FHIR resource or Parameters expected",
                ),
                FHIR_JSON,
            )
            return
        options.profiles = [*options.profiles, *profiles]
        outcomes = self._run(resource, "resource", options)
        if outcomes is None:
            self._timeout("resource", options.lang)
            return
        self.state.served += 1
        outcome = outcomes[0] if len(outcomes) == 1 else _merged(outcomes)
        self._send_json(HTTPStatus.OK, outcome.to_operation_outcome(options.lang), FHIR_JSON, valid=outcome.is_valid)

    def _timeout(self, name: str, lang: str) -> None:
        seconds = self.state.limits.request_timeout
        outcome = _problem_outcome(
            name,
            "validation-timeout",
            f"Validation non terminée en {seconds:g} s (limite du service) : résultat non concluant",
            f"Validation not finished within {seconds:g} s (service limit): inconclusive",
            code="timeout",
        )
        self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, outcome.to_operation_outcome(lang), FHIR_JSON)

    def _issue(self, code: str, fr: str, en: str) -> dict[str, Any]:
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "details": {"text": f"{fr} / {en}"}}],
        }

    def _send_json(
        self,
        status: HTTPStatus,
        payload: dict[str, Any],
        content_type: str = "application/json",
        valid: bool | None = None,
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if valid is not None:
            self.send_header("X-Hopen-Valid", "true" if valid else "false")
            self.send_header("X-Hopen-Engine", self.engine)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _merged(outcomes: list[Outcome]) -> Outcome:
    merged = Outcome(subject=outcomes[0].subject, kind=outcomes[0].kind)
    for outcome in outcomes:
        merged.extend(outcome.findings)
    return merged


def _resource_of(body: bytes) -> tuple[bytes | None, list[str]]:
    """The resource to validate and the profiles a Parameters names (JSON); XML resources pass through."""
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return body, []
    try:
        data = json.loads(body)
    except ValueError:
        return None, []
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return None, []
    if data["resourceType"] != "Parameters":
        return body, []
    resource = None
    profiles: list[str] = []
    for parameter in data.get("parameter") or []:
        if not isinstance(parameter, dict):
            continue
        if parameter.get("name") == "resource" and isinstance(parameter.get("resource"), dict):
            resource = json.dumps(parameter["resource"]).encode("utf-8")
        elif parameter.get("name") == "profile":
            value = parameter.get("valueUri") or parameter.get("valueCanonical") or parameter.get("valueString")
            if isinstance(value, str):
                profiles.append(value)
    return resource, profiles


def _capability_statement() -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json", "xml"],
        "rest": [
            {
                "mode": "server",
                "operation": [
                    {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"}
                ],
            }
        ],
    }


def warm_engines(
    options: ValidateOptions,
    turn: AbstractContextManager[Any] | None = None,
    cda_ready: Callable[[], None] | None = None,
) -> float:
    """Load what a request would otherwise pay: the CDA profile schematrons (the longest compiles, first)
    and their first run on one example (`cda_ready` is called then), each CDA volet schematron, then the
    FHIR packages and HL7 v2 profiles. Each Saxon step (a compile, the first run) is done holding `turn`
    (a lock); the FHIR and HL7 v2 steps, pure Python, run beside the requests of an engine process, which
    sends its other inputs to them only once the warm-up is over (`_engine_validate`)."""
    started = time.perf_counter()

    def prime_cda() -> None:
        from conformance.validation.cda import prime

        with turn or contextlib.nullcontext():
            prime(options)

    steps = (
        lambda: _warm_cda(options, turn, all_volets=False),
        prime_cda,
        cda_ready or (lambda: None),
        lambda: _warm_cda(options, turn, all_volets=True),
        lambda: _warm_fhir(options),
        lambda: _warm_hl7v2(options),
    )
    for step in steps:
        try:
            step()
        except Exception:  # a missing engine is reported when a request needs it
            continue
    return time.perf_counter() - started


def _warm_fhir(options: ValidateOptions) -> None:
    from conformance.validation.batch import warm_fhir  # every base definition compiled, as a batch worker's

    warm_fhir(options)


def _warm_hl7v2(options: ValidateOptions) -> None:
    from conformance.cli.validate import validate_bytes

    sample = b"MSH|^~\\&|A|B|C|D|20240101000000||ADT^A01^ADT_A01|1|P|2.5\rEVN||20240101000000\rPID|||1^^^X||N^P\r"
    validate_bytes(sample, "warm-up", replace(options, hl7v2_profile=options.hl7v2_profile or "pam-fr-2.11"))


def _warm_cda(options: ValidateOptions, turn: AbstractContextManager[Any] | None, *, all_volets: bool) -> None:
    from conformance.validation.cda import warm_up

    warm_up(options, all_volets=all_volets, turn=turn)


def preload(options: ValidateOptions) -> None:
    """What the cold path needs before any compile, loaded before the service listens (a fraction of a
    second): the validators' modules, the CDA pack's index and its XSD."""
    import importlib

    for module in ("conformance.cli.validate", "conformance.sourcemap", "conformance.validation.hl7v2"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    with contextlib.suppress(Exception):  # a missing pack is reported when a request needs it
        from conformance.validation.cda import schematron
        from conformance.validation.cda.document import preload as preload_cda

        schematron.prune_every_document(True)  # until the engine processes are ready
        preload_cda(options, metadata=True)


WARM_UP_NICENESS = 10
HOLD_MAX_SECONDS = 600.0
WARMED_WAIT_SECONDS = 600.0  # an engine's other inputs wait for its warm-up at most this long


class Turns:
    """Requests and warm-up steps of an engine process, one at a time, a waiting request first.

    The warm-up side is the object itself (`with turns:`), requests use `with turns.request():`. The
    warm-up takes its next turn only when no request waits: a plain lock, released and taken again at once
    by the warm-up's loop of compiles, would leave a request waiting for the whole loop (measured: 8 s).

    Nor does it take one within `grace` seconds of a request's turn: the request's thread still has its
    answer to send back (pickled and written by the process pool's code, after the turn), and a Saxon
    compile started meanwhile keeps the interpreter lock for its whole length (measured: a result of 0.06 s
    in the engine reached the client in 0.71 s)."""

    def __init__(self, grace: float = 0.0) -> None:
        self._changed = threading.Condition()
        self._busy = False
        self._waiting = 0
        self._grace = grace
        self._answered = -math.inf  # time.monotonic() at the end of the last request's turn

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        with self._changed:
            self._waiting += 1
            try:
                self._changed.wait_for(lambda: not self._busy)
            finally:
                self._waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._answered = time.monotonic()
            self._release()

    def __enter__(self) -> None:
        with self._changed:
            while True:
                self._changed.wait_for(lambda: not self._busy and not self._waiting)
                left = self._answered + self._grace - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            self._busy = True

    def __exit__(self, *_exc: object) -> None:
        self._release()

    def _release(self) -> None:
        with self._changed:
            self._busy = False
            self._changed.notify_all()


ANSWER_GRACE_SECONDS = 0.05  # an answer's way back to the serving process: a few milliseconds of pickling
_ENGINE_TURNS = Turns(ANSWER_GRACE_SECONDS)  # an engine process: one Saxon step of its warm-up or one request
_ENGINE_CDA_READY = threading.Event()
_ENGINE_WARMED = threading.Event()


def _engine_start(options: ValidateOptions, warmed: Any = None, hold: Any = None) -> None:
    """Initializer of an engine process: returns (the process takes requests) once the CDA profile
    schematrons are compiled; the rest of the warm-up goes on in a thread, then `warmed` (a multiprocessing
    event) is set. `hold` (tests): an event the warm-up waits for after the profiles (at most
    HOLD_MAX_SECONDS).

    The warm-up runs on a thread of low CPU priority (Linux sets a thread's niceness): on a busy machine
    the requests the serving process answers meanwhile get the CPU first. The engine answers on the main
    thread, at normal priority; the Saxon processor (and its threads) is created there first. Requests
    and the warm-up's Saxon steps take turns (`_ENGINE_TURNS`): Saxon is never used by both threads at once."""
    with contextlib.suppress(Exception):  # no CDA engine: the warm-up says so when a request needs it
        from conformance.validation.cda import schematron

        schematron.saxon()

    def cda_ready() -> None:
        _ENGINE_CDA_READY.set()
        if hold is not None:
            hold.wait(HOLD_MAX_SECONDS)

    def warm() -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WARM_UP_NICENESS)
        try:
            warm_engines(options, _ENGINE_TURNS, cda_ready)
        finally:
            _ENGINE_CDA_READY.set()
            _ENGINE_WARMED.set()
            if warmed is not None:
                warmed.set()

    threading.Thread(target=warm, name="validation-warm-up", daemon=True).start()
    _ENGINE_CDA_READY.wait()


def _engine_ready() -> None:
    """Run by an engine process once its initializer returned: it takes CDA requests from now on."""


def _engine_validate(body: bytes, name: str, options: ValidateOptions) -> list[Outcome]:
    """In an engine process: a CDA document or XDM package at once (taking turns with the warm-up's Saxon
    steps), any other input once the warm-up is over (its FHIR and HL7 v2 steps run beside requests)."""
    if not cda_only(body):
        _ENGINE_WARMED.wait(WARMED_WAIT_SECONDS)
    with _ENGINE_TURNS.request():
        return _validate(body, name, options)


def _validate(body: bytes, name: str, options: ValidateOptions) -> list[Outcome]:
    from conformance.cli.validate import validate_bytes

    return validate_bytes(body, name, options)


def cda_only(body: bytes) -> bool:
    """A CDA document or an XDM package: what the CDA profile schematrons and a volet validate, alone."""
    from conformance.validation.detect import Kind, detect_kind

    return body[:2] != b"\x1f\x8b" and detect_kind(body) in (Kind.CDA, Kind.XDM)


class ValidationService:
    """The service on a background thread: `start()` returns its base URL, `stop()` closes it."""

    def __init__(
        self,
        host: str = DEFAULT_BIND_HOST,
        port: int = 0,
        *,
        limits: ServiceLimits | None = None,
        options: ValidateOptions | None = None,
        warm: bool = True,
        allow_non_loopback: bool = False,
        hold_warm_up: bool = False,
    ) -> None:
        """`hold_warm_up` (tests): the engine processes stop their warm-up once the CDA profiles are compiled,
        until `resume_warm_up()` (or HOLD_MAX_SECONDS)."""
        if not is_loopback(host) and not allow_non_loopback:
            raise NonLoopbackError(f"refusing to bind {host}: loopback only unless explicitly allowed")
        self.limits = limits or ServiceLimits()
        self.state = ServiceState(
            limits=self.limits,
            options=options or ValidateOptions(),
            guard=ListenerGuard(
                ListenerLimits(
                    max_connections=self.limits.max_connections,
                    max_connection_bytes=self.limits.max_request_bytes + 65536,
                    idle_timeout=self.limits.idle_timeout,
                )
            ),
            executor=ThreadPoolExecutor(max_workers=max(1, self.limits.workers), thread_name_prefix="validate"),
        )
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.warm = warm
        self._thread: threading.Thread | None = None
        self._context = multiprocessing.get_context("spawn")  # a fork would copy this process's Saxon state
        self._hold = self._context.Event() if hold_warm_up else None
        self._warmed = self._context.Event()  # set by the first engine process done with its whole warm-up
        self._stopping = threading.Event()
        self._preloaded = threading.Event()  # this process's compile policy set: the engines' readiness may change it

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        if self.warm:  # spawned first: the engine processes start up on the other core while this one preloads
            self._start_engines()
            preload(self.state.options)
            if self.state.engines is None:  # lost during the preload, which turned per-document compiles on
                self.state.engine_lost()
            self._preloaded.set()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="validation-service", daemon=True)
        self._thread.start()
        if not self.warm:
            self.state.cda_ready.set()
            self.state.ready.set()
        return self.url

    def _start_engines(self) -> None:
        """Engine processes warm up on their own cores; the service takes CDA documents to them when the
        first of them has its profiles compiled, and every input when the first of them is fully warm."""
        started = time.perf_counter()
        workers = max(1, self.limits.workers)
        engines = ProcessPoolExecutor(
            workers,
            mp_context=self._context,
            initializer=_engine_start,
            initargs=(self.state.options, self._warmed, self._hold),
        )
        self.state.engines = engines

        def cda_ready(future: Future) -> None:
            if self.state.cda_ready.is_set():
                return
            try:
                future.result()
            except Exception:  # the engine process could not start: this process keeps serving
                self.state.engine_lost()
            self.state.cda_seconds = round(time.perf_counter() - started, 2)
            self.state.cda_ready.set()

        def warmed() -> None:
            while not self._warmed.wait(0.5):
                if self._stopping.is_set() or self.state.engines is not engines:
                    return  # stopped, or the engine died: engine_lost said ready
            self._preloaded.wait()
            if self._stopping.is_set() or self.state.engines is not engines:
                return
            self.state.warm_seconds = round(time.perf_counter() - started, 2)
            self.state.ready.set()
            from conformance.validation.cda import schematron  # the engine processes answer from now on

            schematron.prune_every_document(False)
            schematron.clear_memory_cache()

        for _ in range(workers):  # one per engine process, so that each is spawned now
            engines.submit(_engine_ready).add_done_callback(cda_ready)
        threading.Thread(target=warmed, name="validation-engines-warmed", daemon=True).start()

    def resume_warm_up(self) -> None:
        """Let engine processes held after their CDA profiles (`hold_warm_up`) finish their warm-up."""
        if self._hold is not None:
            self._hold.set()

    def stop(self) -> None:
        self._stopping.set()
        self.resume_warm_up()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.state.executor.shutdown(wait=False, cancel_futures=True)
        engines, self.state.engines = self.state.engines, None
        if self.warm:  # this process's compile policy back to a plain process's
            with contextlib.suppress(Exception):
                from conformance.validation.cda import schematron

                schematron.prune_every_document(False)
        if engines is not None:
            # A warm-up takes seconds: the engine processes are ended, not waited for.
            for process in list(getattr(engines, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.terminate()
            engines.shutdown(wait=False, cancel_futures=True)
