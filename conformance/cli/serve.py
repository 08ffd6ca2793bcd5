"""`conformance serve`: start the reference endpoints (FHIR server, PAM FR MLLP peers) until Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
import threading

import click

from conformance.cli._click_language import current_language, lang_option
from conformance.cli._names import reference_names_problem
from conformance.i18n import text, typography


def _t(key: str, **params: object) -> str:
    return text(f"serve.{key}", current_language(), **params)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@click.command(name="serve")
@lang_option(expose_value=False)
@click.option("--faults", default="", metavar="A,B")
@click.option("--hostile", default=None, metavar="MODE")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
)
@click.option(
    "--fhir-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
)
@click.option(
    "--mllp-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
)
@click.option("--tls", is_flag=True)
@click.option("--mutual-tls", is_flag=True)
@click.option("--allow-non-loopback", is_flag=True)
@click.option("--send-to", default=None, metavar="HOST:PORT")
@click.option("--validation", is_flag=True)
@click.option(
    "--port",
    "validation_port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--max-request-mb", default=64, show_default=True, type=click.IntRange(1, 1024))
@click.option("--request-timeout", default=300.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option("--json", "as_json", is_flag=True)
@click.option("--list", "list_only", is_flag=True)
@click.option("--config-template", "config_template", is_flag=True)
def command(
    faults: str,
    hostile: str | None,
    host: str,
    fhir_port: int,
    mllp_port: int,
    tls: bool,
    mutual_tls: bool,
    allow_non_loopback: bool,
    send_to: str | None,
    validation: bool,
    validation_port: int,
    workers: int,
    max_request_mb: int,
    request_timeout: float,
    as_json: bool,
    list_only: bool,
    config_template: bool = False,
) -> None:
    """Démarre les points de terminaison de référence / Start the reference endpoints (until Ctrl-C)."""
    if validation:
        from conformance.service.server import ServiceLimits

        limits = ServiceLimits(
            max_request_bytes=max_request_mb * 1024 * 1024, request_timeout=request_timeout, workers=workers
        )
        _serve_validation(host, validation_port, limits, allow_non_loopback, as_json)
        return
    from conformance.reference.endpoints import NonLoopbackError, ReferenceEndpoints
    from conformance.reference.faults import FAULTS, UnknownFaultError
    from conformance.reference.hostile import HOSTILE_MODES, UnknownHostileModeError
    from conformance.reference.test_data import TestDataError

    if list_only:
        french = current_language() == "fr"
        click.echo(_t("faults"))
        for fault in FAULTS.values():
            description = typography(fault.description_fr, "fr") if french else fault.description_en
            click.echo(f"  {fault.name:32} [{fault.endpoint}, {fault.capability}] {description}")
        click.echo(_t("hostile_modes"))
        for mode in HOSTILE_MODES.values():
            click.echo(f"  {mode.name:32} [{mode.endpoints}] {_hostile_description(mode)}")
        return
    problem = reference_names_problem(faults, hostile, current_language())
    if problem:
        raise click.UsageError(problem)
    try:
        endpoints = ReferenceEndpoints(
            set(_split(faults)),
            hostile,
            host=host,
            fhir_port=fhir_port,
            mllp_port=mllp_port,
            tls=tls,
            mutual_tls=mutual_tls,
            allow_non_loopback=allow_non_loopback,
        )
    except (UnknownFaultError, UnknownHostileModeError, NonLoopbackError, TestDataError) as exc:
        raise click.ClickException(str(exc)) from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        endpoints.start()
    except OSError as exc:
        raise click.ClickException(_t("cannot_start", error=exc)) from exc
    try:
        if config_template:
            click.echo(campaign_template(endpoints, current_language()))
            sys.stdout.flush()
            click.echo(_t("stop_hint"), err=True)
        else:
            _announce(endpoints, as_json)
        if send_to:
            target_host, _, target_port = send_to.rpartition(":")
            run = endpoints.start_mllp_sender(target_host or "127.0.0.1", int(target_port))
            click.echo(_t("sending", target=send_to), err=True)
            threading.Thread(target=_report_sender, args=(run,), daemon=True).start()
        stop.wait()
    finally:
        endpoints.stop()
        click.echo(_t("stopped"), err=True)


def _serve_validation(host: str, port: int, limits, allow_non_loopback: bool, as_json: bool) -> None:
    from conformance.service.server import NonLoopbackError, ValidationService

    try:
        service = ValidationService(host, port, limits=limits, allow_non_loopback=allow_non_loopback)
    except (NonLoopbackError, OSError) as exc:
        raise click.ClickException(_t("validation_cannot_start", error=exc)) from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    url = service.start()
    try:
        if as_json:
            click.echo(json.dumps({"validation_url": url}))
        else:
            click.echo(_t("validation_url", url=url))
            click.echo(_t("stop_hint"), err=True)
        stop.wait()
    finally:
        service.stop()
        click.echo(_t("validation_stopped"), err=True)


def _announce(endpoints, as_json: bool) -> None:
    info = endpoints.describe()
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False), nl=True)
        return

    def line(key: str, value: str) -> None:
        click.echo(f"{_t(key):<18} {value}")

    line("fhir_base_url", info["fhir_base_url"])
    line("mllp_receiver", f"{info['mllp_receiver']['host']}:{info['mllp_receiver']['port']}")
    line("faults_on", ", ".join(info["faults"]) or _t("none"))
    line("hostile_on", info["hostile"] or _t("none"))
    if "tls" in info:
        line("test_ca", info["tls"]["ca_cert"])
    data = info["test_data"]
    for patient in data["patients"]:
        status = "VALI" if patient["qualified"] else "PROV"
        line("patient", f"{patient['id']:16} {status}  INS {patient['ins_token'] or '-'}")
    line("practitioner", f"{data['practitioner']['id']:16} RPPS {data['practitioner']['rpps']}")
    line("organization", f"{data['organization']['id']:16} FINESS {data['organization']['finess']}")
    for document in data["documents"]:
        line("document", f"DocumentReference/{document['document_reference_id']}  Binary/{document['binary_id']}")
    click.echo(_t("stop_hint"), err=True)


def _report_sender(run) -> None:
    run.wait()
    for sent in run.sent:
        status = _t("ack_ok" if sent.ack_ok else "ack_not_ok")
        click.echo(
            _t("sent", label=f"{sent.label:10}", ack=f"{sent.ack_code or '-':3}", status=status, error=sent.error),
            err=True,
        )


def _hostile_description(mode) -> str:
    """The catalogue's wording of a hostile mode (its own English description if the catalogue lacks it)."""
    from conformance.i18n import CatalogueKeyError

    try:
        return _t(f"hostile.{mode.name}")
    except CatalogueKeyError:
        return mode.description


# The suites a configuration printed by --config-template runs as is: the harness is the client of the served
# endpoints. The others need the reference to send to the harness (PAM receiver tests, MSSanté, DMP).
TEMPLATE_SUITES = ("fhir-basics", "identity", "documents", "directory", "documents-hl7v2", "produced-documents")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def campaign_template(endpoints, lang: str) -> str:
    """A campaign configuration (TOML) pointed at the running `endpoints`, with their test data: saved to a
    file, `conformance run --config FILE` runs it as is."""
    from conformance.campaign.reference import reference_config

    config = reference_config(endpoints)
    lines = [f"# {line}" for line in _t("template_header").splitlines()]

    def table(name: str, values: dict[str, object]) -> None:
        present = {key: value for key, value in values.items() if value not in (None, "", [])}
        if present:
            lines.extend(["", f"[{name}]", *(f"{key} = {_toml_value(value)}" for key, value in present.items())])

    table("run", {"name": _t("template_name"), "suites": list(TEMPLATE_SUITES), "language": lang})
    table("fhir", {"base_url": config.fhir.base_url})
    info = endpoints.describe()
    if "tls" in info:
        table("tls", {"ca_bundle": info["tls"]["ca_cert"]})
    table("mllp", {"host": config.mllp.host, "port": config.mllp.port})
    table("hl7v2", {"documents": True})
    table("documents", {"files": [str(path) for path in config.documents.files]})
    data = config.test_data
    table(
        "test_data",
        {
            "practitioners": data.practitioners,
            "organizations": data.organizations,
            "document_patient": data.document_patient,
        },
    )
    for patient in data.patients:
        lines.extend(["", "[[test_data.patients]]"])
        for key in ("ins", "oid", "family", "given", "birth_date", "gender", "id", "qualified", "ipp", "ipp_system"):
            value = getattr(patient, key)
            if value not in (None, "") or key == "ins":
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
