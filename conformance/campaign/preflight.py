"""Preflight: before any suite, every configured endpoint the selected suites need is reached once.

    checks = run_preflight(session)          # [EndpointCheck(endpoint="fhir", target=".../metadata", ok=False, ...)]

An unreachable endpoint stops the run in seconds (exit 2): results.json says "inconclusive" and gives no
indicator verdict, since the harness judged nothing. The checks run in parallel, each bounded by the configured
connect timeout (at most MAX_CHECK_SECONDS). `conformance run --no-preflight` skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance.i18n import CatalogueKeyError, text, told
from conformance.results import EndpointCheck
from conformance.transport.failure import describe
from conformance.transport.reach import Reach, reach_http, reach_tcp

if TYPE_CHECKING:
    from conformance.campaign.session import CampaignSession
    from conformance.config import RunConfig

MAX_CHECK_SECONDS = 10.0
FHIR_SUITES = {"fhir-basics", "identity", "directory", "documents"}
MLLP_SUITES = {"pam", "documents-hl7v2"}
DMP_REPOSITORY_SUITES = {"dmp-repository"}
MSS_RECEIVER_SUITES = {"mssante-receiver"}

Probe = Callable[[], Reach]


def run_preflight(session: CampaignSession) -> list[EndpointCheck]:
    """The checks of every endpoint the selected suites need, in a stable order."""
    probes = planned_probes(session.config, session.suites)
    probes += _listener_probes(session)
    if not probes:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(probes))) as pool:
        reaches = list(pool.map(lambda probe: probe[2](), probes))
    return [_check(endpoint, target, reach) for (endpoint, target, _), reach in zip(probes, reaches, strict=True)]


def planned_probes(config: RunConfig, suites: Sequence[str]) -> list[tuple[str, str, Probe]]:
    """(endpoint, target, probe) for the system's endpoints the selected suites reach out to."""
    selected = set(suites)
    timeout = min(config.timeouts.connect, MAX_CHECK_SECONDS)
    probes: list[tuple[str, str, Probe]] = []
    if selected & FHIR_SUITES and config.fhir.base_url:
        metadata = config.fhir.base_url.rstrip("/") + "/metadata"
        probes.append(("fhir", _shown(metadata), _http_probe(config, metadata, timeout)))
        token_url = config.fhir.auth.token_url
        if token_url and config.fhir.auth.type != "none":
            probes.append(("auth.token", _shown(token_url), _http_probe(config, token_url, timeout)))
    if selected & MLLP_SUITES and config.mllp.host and config.mllp.port:
        host, port = config.mllp.host, config.mllp.port
        probes.append(("mllp.receiver", f"{host}:{port}", lambda: _reach_mllp(config, host, port, timeout)))
    if selected & DMP_REPOSITORY_SUITES:
        for endpoint, url in (("dmp.repository", config.dmp.repository_url), ("dmp.registry", config.dmp.registry_url)):
            if url:
                probes.append((endpoint, _shown(url), _tcp_probe(url, timeout)))
    correspondent = config.mssante.correspondent
    if selected & MSS_RECEIVER_SUITES and correspondent.host and correspondent.port:
        host, port = correspondent.host, correspondent.port
        probes.append(("mssante.correspondent", f"{host}:{port}", lambda: reach_tcp(host, port, timeout=timeout)))
    return probes


def _listener_probes(session: CampaignSession) -> list[tuple[str, str, Probe]]:
    """The harness's own listeners were started just before: one that could not bind is a preflight failure."""
    probes: list[tuple[str, str, Probe]] = []
    errors = (
        ("mllp.listener", session.listener_error, session.config.mllp.listener, MLLP_SUITES),
        ("dmp.listener", session.dmp_listener_error, session.config.dmp.listener, {"dmp-feeding"}),
    )
    for endpoint, error, listener, suites in errors:
        if error is None or listener is None or not set(session.suites) & suites:
            continue
        target = f"{listener.host}:{listener.port}"
        probes.append((endpoint, target, _known(Reach(False, "bind", _error_text(error)))))
    return probes


def _http_probe(config: RunConfig, url: str, timeout: float) -> Probe:
    def probe() -> Reach:
        from conformance.transport.http import TransportError, build_ssl_context

        try:
            context = build_ssl_context(config.tls) if url.startswith("https:") else None
        except TransportError as exc:
            return Reach(False, "tls", exc.message("en"))
        return reach_http(url, timeout=timeout, ssl_context=context)

    return probe


def _reach_mllp(config: RunConfig, host: str, port: int, timeout: float) -> Reach:
    from conformance.transport.http import TransportError, build_ssl_context

    try:
        context = build_ssl_context(config.tls) if config.mllp.tls else None
    except TransportError as exc:
        return Reach(False, "tls", exc.message("en"))
    return reach_tcp(host, port, timeout=timeout, ssl_context=context)


def _known(reach: Reach) -> Probe:
    return lambda: reach


def _tcp_probe(url: str, timeout: float) -> Probe:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return lambda: reach_tcp(parts.hostname or "", port, timeout=timeout)


def _check(endpoint: str, target: str, reach: Reach) -> EndpointCheck:
    if reach.ok:
        return EndpointCheck(endpoint, target, True, elapsed_ms=reach.elapsed_ms)
    cause = reach.cause or "network"
    fr, en = (_unreachable(endpoint, target, describe(cause, reach.detail, lang), lang) for lang in ("fr", "en"))
    return EndpointCheck(endpoint, target, False, reach.cause, fr, en, reach.elapsed_ms)


def _unreachable(endpoint: str, target: str, cause: str, lang: str) -> str:
    try:
        name = text(f"preflight.endpoint.{endpoint}", lang)
    except CatalogueKeyError:
        name = endpoint
    return text("preflight.unreachable", lang, endpoint=name, target=target, cause=cause)


def _shown(url: str) -> str:
    """The URL without user information (credentials never reach a report)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _error_text(error: BaseException) -> str:
    return told(error, "en") or getattr(error, "strerror", None) or str(error) or "cannot start"
