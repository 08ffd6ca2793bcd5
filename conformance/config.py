"""The run configuration: one TOML file describing the system under test and how to run the campaign.

Every key is validated; an error names the file and the key (`campaign.toml: [fhir.auth] token: ...`).
Secrets (passwords, tokens, client secrets, key passwords) are wrapped in `Secret`, whose repr/str never
show the value; `RunConfig.secrets()` lists them for the evidence recorder's redaction and
`RunConfig.redacted()` is the copy written into the results. Relative paths are relative to the file.

Layout (every section optional except what the chosen suites need; see examples/campaign.toml):

    [run]        suites, language, output, programme, signing_key, pseudonymize, name, suppressions,
                 validation_server
    [fhir]       base_url, packages, max_response_bytes, allow_cross_host_redirects, max_redirects, foreign_urls
    [fhir.auth]  type = none | basic | bearer | oauth2-client-credentials | smart-backend-services, ...
    [tls]        verify, ca_bundle, client_cert, client_key, client_key_password
    [timeouts]   connect, read, total, retries, retry_backoff
    [mllp]       host, port (the system's receiver), tls, max_frame_bytes
    [mllp.listener] host, port (where the system sends to the harness), wait_seconds, expect_messages,
                 allowed_peers, max_connections, max_connection_bytes, max_total_bytes, idle_timeout
    [hl7v2]      sending/receiving application and facility, documents (MDM/ORU when true)
    [test_data]  patients (test-INS identities), practitioners, organizations, documents
    [documents]  files: documents the system produced (CDA R2 files, IHE XDM packages, or folders of them)
    [mssante]    mailbox_type, nil, require_pdf, require_mdn_request, rules_disabled, wait_seconds,
                 expect_messages, trigger_command, tls_probes
    [mssante.operator]      the harness's SMTP submission server: host, port, cert, key, client_ca, tls_min,
                            tls_max, ciphers, auth, tokens, passwords, max_message_bytes, max_connections,
                            max_connection_bytes, max_total_bytes, idle_timeout
    [mssante.correspondent] the system's inbound SMTP: host, port, address, ca_bundle, from_address,
                            wait_seconds, expected_codes
    [mssante.imap]          the harness's IMAP (Dovecot) for the notifications the system fetches: enabled,
                            host, port, user, password, max_connections
    [dmp]        DMP feeding (IHE XDS.b, SOAP 1.2/MTOM, VIHF): repository_url, registry_url, repository_id,
                 document, unknown_patient_ins, the open choices (vihf_versions, strict, strict_casing,
                 iti57_response_action, allow_sha1, value_sets, xades), trusted_ca
    [dmp.vihf]   the VIHF of the structure the harness speaks for: signing_cert, signing_key(_password), ...
    [dmp.listener] where the harness listens as the DMP: host, port, tls, server_cert, server_key, client_ca,
                 require_client_cert, wait_seconds, expect_submissions, max_request_bytes, request_deadline,
                 idle_timeout, max_connections
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.identifiers import INS_TEST_NIR_OID, bare_oid, urn
from conformance.suites import suite_names

SUITES = suite_names()
AUTH_TYPES = ("none", "basic", "bearer", "oauth2-client-credentials", "smart-backend-services")
LANGUAGES = ("fr", "en")
DEFAULT_PACKAGES = (
    "hl7.fhir.fr.core#2.2.0",
    "ans.fhir.fr.pdsm#3.1.1",
    "ans.fhir.fr.annuaire#1.2.0-snapshot-2",
)
REDACTED = "***"


class Secret:
    """A secret value: shown as '***' everywhere except through `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


class ConfigError(Exception):
    """A configuration problem, naming the file and the key, in French and English."""

    def __init__(self, file: str, key: str, message_fr: str, message_en: str) -> None:
        self.file = file
        self.key = key
        self.message_fr = message_fr
        self.message_en = message_en
        super().__init__(self.render("en"))

    def render(self, lang: str = "fr") -> str:
        from conformance.i18n import typography

        where = f"{self.file}: {self.key}: " if self.key else f"{self.file}: "
        return typography(where + (self.message_fr if lang == "fr" else self.message_en), lang)


class ConfigErrors(ConfigError):
    """Every problem found in one file, so that a user fixes them in one pass (one line each)."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.file, first.key, first.message_fr, first.message_en)

    def render(self, lang: str = "fr") -> str:
        return "\n".join(problem.render(lang) for problem in self.problems)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _toml_error(name: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    detail = str(exc)
    found = _TOML_POSITION.search(detail)
    if found is None:
        if detail.endswith(" (at end of document)"):
            detail = detail.removesuffix(" (at end of document)")
            return ConfigError(
                name, "", f"TOML invalide en fin de fichier (lecteur TOML : « {detail} »)", f"invalid TOML: {detail}"
            )
        return ConfigError(name, "", f"TOML invalide (lecteur TOML : « {detail} »)", f"invalid TOML: {detail}")
    line, column, detail = found.group(1), found.group(2), detail[: found.start()]
    return ConfigError(
        name,
        "",
        f"TOML invalide ligne {line}, colonne {column} (lecteur TOML : « {detail} »)",
        f"invalid TOML at line {line}, column {column}: {detail}",
    )


@dataclass(slots=True)
class AuthConfig:
    type: str = "none"
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    private_key: Path | None = None  # SMART backend services: PEM key signing the client assertion
    private_key_password: Secret | None = None
    key_id: str | None = None
    algorithm: str = "RS384"  # RS384 or ES384 (SMART backend services)
    scope: str | None = None


@dataclass(slots=True)
class TlsConfig:
    verify: bool = True
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    client_key_password: Secret | None = None


@dataclass(slots=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0
    total: float = 120.0  # one exchange, redirects and retries included
    retries: int = 1  # extra attempts for connection failures and 502/503/504 on idempotent requests
    retry_backoff: float = 0.5


@dataclass(slots=True)
class FhirConfig:
    base_url: str | None = None
    packages: list[str] = field(default_factory=lambda: list(DEFAULT_PACKAGES))
    max_response_bytes: int = 50 * 1024 * 1024
    allow_cross_host_redirects: bool = False
    max_redirects: int = 5
    # URLs the system names on another origin (paging links, attachments, Location): fetched without credentials
    # ("without-credentials") or not at all ("refuse"); a finding says so either way
    foreign_urls: str = "without-credentials"
    auth: AuthConfig = field(default_factory=AuthConfig)


@dataclass(slots=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (printed at start)
    wait_seconds: float = 10.0  # how long the harness collects what the system sends
    expect_messages: int = 1  # stop waiting early once this many messages arrived and the stream went quiet
    allowed_peers: list[str] = field(default_factory=list)  # addresses/networks whose messages count; empty: any
    max_connections: int = 64
    max_connection_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    idle_timeout: float = 60.0


@dataclass(slots=True)
class MllpConfig:
    host: str | None = None  # the system's receiver
    port: int | None = None
    tls: bool = False
    max_frame_bytes: int = 10 * 1024 * 1024
    listener: ListenerConfig | None = None  # None: the receiver-side tests are skipped


@dataclass(slots=True)
class Hl7v2Config:
    sending_application: str = "HOPEN_CONFORMANCE"
    sending_facility: str = "HOPEN"
    receiving_application: str = "SUT"
    receiving_facility: str = "SUT"
    documents: bool = False  # MDM^T02 / ORU^R01 document transmission suite


@dataclass(slots=True)
class PatientData:
    """A test patient: one model for the campaign's configuration ([[test_data.patients]]) and the reference
    endpoints' seeded identities."""

    ins: str  # NIR/NIA (15 characters); '' when the campaign does not know it (identity not qualified)
    oid: str = INS_TEST_NIR_OID  # bare OID of the INS authority
    family: str = ""
    given: str = ""
    birth_date: str = ""  # YYYY-MM-DD
    gender: str = ""  # male | female | other | unknown
    id: str | None = None  # server id when known
    qualified: bool = True  # identity status VALI: only then may the INS travel
    ipp: str | None = None  # the facility's patient identifier (to find an unqualified identity)
    ipp_system: str | None = None
    birth_place: str = ""  # INSEE code of the birth place (PID-11); default: the one the INS encodes
    birth_city: str = ""

    @property
    def ins_system(self) -> str:
        """The FHIR Identifier.system of the INS (`urn:oid:` + OID)."""
        return urn(self.oid)

    @property
    def ins_token(self) -> str:
        """`system|value` of the INS for a FHIR token search; '' without an INS."""
        return f"{self.ins_system}|{self.ins}" if self.ins else ""


@dataclass(slots=True)
class TestData:
    __test__ = False

    patients: list[PatientData] = field(default_factory=list)
    practitioners: list[str] = field(default_factory=list)  # RPPS numbers (idNatPs without the '8' prefix)
    organizations: list[str] = field(default_factory=list)  # FINESS numbers
    document_patient: str | None = None  # INS of the patient that has documents (default: the first patient)
    cda_document: Path | None = None  # CDA document provided in ITI-65 / MDM (default: a pack example)


@dataclass(slots=True)
class DocumentsConfig:
    """Documents the system under test produced (CDA R2 files, IHE XDM packages), files or folders."""

    files: list[Path] = field(default_factory=list)


MSS_MAILBOX_TYPES = ("APP", "ORG", "PER")
MSS_AUTH = ("XOAUTH2", "PLAIN", "client-certificate")
MSS_TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
MSS_DEFAULT_CIPHERS = (
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-RSA-AES128-SHA256",
)
# defects the harness as correspondent sends, and the integration error code (900-906) each should get
MSS_DEFECT_CODES = {
    "unknown-patient": "902",
    "ins-mismatch": "904",
    "ins-incomplete": "905",
    "two-patients": "906",
    "broken-hash": "906",
}


@dataclass(slots=True)
class MssOperatorConfig:
    """The harness as the system's MSSanté operator: where the system submits (SMTP + STARTTLS)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (printed at start; use 587 to mimic an operator)
    cert: Path | None = None  # server certificate (PEM); default: a throwaway test certificate
    key: Path | None = None
    client_ca: Path | None = None  # CA of the application mailboxes' client certificates
    tls_min: str = "1.2"
    tls_max: str = "1.2"
    ciphers: list[str] = field(default_factory=lambda: list(MSS_DEFAULT_CIPHERS))
    auth: list[str] = field(default_factory=lambda: ["XOAUTH2", "client-certificate"])  # accepted as conformant
    tokens: list[Secret] = field(default_factory=list)  # XOAUTH2 bearer tokens the operator accepts
    passwords: dict[str, Secret] = field(default_factory=dict)  # PLAIN credentials (accepted, judged non-conformant)
    max_message_bytes: int = 30 * 1024 * 1024
    max_connections: int = 16
    max_connection_bytes: int = 64 * 1024 * 1024  # received per connection (transport/limits.py bounds)
    max_total_bytes: int = 256 * 1024 * 1024  # received over the run: kept in memory as evidence
    idle_timeout: float = 30.0


@dataclass(slots=True)
class MssCorrespondentConfig:
    """The harness as a correspondent: sends documents to the system's inbound address, collects its MDNs."""

    host: str | None = None  # the system's inbound SMTP server
    port: int | None = None
    address: str = ""  # the system's inbound mailbox
    ca_bundle: Path | None = None  # CA of the system's inbound server certificate (default: the system's store)
    from_address: str = "correspondant@hopen-conformance.mssante.test"
    wait_seconds: float = 20.0  # how long to wait for each MDN
    expected_codes: dict[str, str] = field(default_factory=lambda: dict(MSS_DEFECT_CODES))


@dataclass(slots=True)
class MssImapConfig:
    """The harness's IMAP server (Dovecot), where it delivers the notifications the system must fetch."""

    enabled: bool = True
    host: str = "127.0.0.2"  # loopback; not 127.0.0.1, which Dovecot would treat as secure without TLS
    port: int = 0
    user: str = "bal-systeme@hopen-conformance.mssante.test"  # the system's mailbox login
    password: Secret | None = None  # default: a password generated for the run, given to the peer
    max_connections: int = 8


@dataclass(slots=True)
class MssanteConfig:
    mailbox_type: str = "APP"  # the system's sending mailbox: APP (application), ORG, PER
    nil: str | None = None  # expected X-MSS-NIL (the product's reference); any non-empty value when unset
    require_pdf: bool = True
    require_mdn_request: bool = True
    rules_disabled: list[str] = field(default_factory=list)  # rule ids (mss-...) not judged
    wait_seconds: float = 20.0  # how long the operator waits for the system's messages
    expect_messages: int = 1
    trigger_command: list[str] = field(default_factory=list)  # makes the system submit now (env HOPEN_MSS_*)
    tls_probes: bool = True  # operators with bad TLS (old versions, other cipher, expired, untrusted CA)
    operator: MssOperatorConfig = field(default_factory=MssOperatorConfig)
    correspondent: MssCorrespondentConfig = field(default_factory=MssCorrespondentConfig)
    imap: MssImapConfig = field(default_factory=MssImapConfig)


@dataclass(slots=True)
class DmpVihfConfig:
    """The VIHF the harness signs when it speaks as a document source (values default to the CDA's author)."""

    signing_cert: Path | None = None  # the structure's signing certificate (ORG_SIGN), PEM
    signing_key: Path | None = None
    signing_key_password: Secret | None = None
    structure_id: str | None = None  # Identifiant_Structure (default: the CDA author's organisation id)
    activity_sector: str | None = None  # Secteur_Activite, e.g. SA01^1.2.250.1.71.4.2.4
    version: str = "3.0"  # VIHF_Version sent (3.0 in every CNAM sample; the ANS table says 4.0)
    authentication_mode: str = "INDIRECTE_RENFORCEE"
    lps_name: str = "hopen-conformance"


@dataclass(slots=True)
class DmpListenerConfig:
    """The harness as the DMP: where the system's document source sends its ITI-41/18/43/57."""

    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = True
    server_cert: Path | None = None
    server_key: Path | None = None
    client_ca: Path | None = None  # CA(s) the client certificates must chain to (mutual TLS)
    require_client_cert: bool = True
    wait_seconds: float = 20.0
    expect_submissions: int = 1
    max_request_bytes: int = 20 * 1024 * 1024
    request_deadline: float = 30.0
    idle_timeout: float = 10.0
    max_connections: int = 16


@dataclass(slots=True)
class DmpConfig:
    repository_url: str | None = None  # the system's repository (the harness as document source)
    registry_url: str | None = None  # default: repository_url (the sources name the services differently)
    repository_id: str = "1.2.250.1.213.4.1.1.1.2"  # the system's repositoryUniqueId, for ITI-43
    document: Path | None = None  # the CI-SIS CDA sent (default: a CI-SIS pack example)
    unknown_patient_ins: str = "299999999999945"  # a test INS the system's registry must not know
    vihf_versions: list[str] = field(default_factory=lambda: ["3.0", "4.0"])
    strict: bool = False
    strict_casing: bool = False
    iti57_response_action: str = "dmp"  # dmp (UpdateDocumentSet-Response) | ihe (UpdateDocumentSetResponse)
    allow_sha1: bool = True
    value_sets: str = "dmp"  # dmp | cisis
    xades: str = "required"  # required | optional: the XAdES-signed submission set (validation/xds/xades.py)
    trusted_ca: Path | None = None  # CA the VIHF signing certificates must chain to (default: the listener's client_ca)
    vihf: DmpVihfConfig = field(default_factory=DmpVihfConfig)
    listener: DmpListenerConfig | None = None  # None: the dmp-feeding tests are skipped


@dataclass(slots=True)
class RunSettings:
    name: str = ""
    suites: list[str] = field(default_factory=lambda: list(SUITES))
    language: str = "fr"
    output: Path | None = None
    programme: str = "hopen2-2024"
    signing_key: Path | None = None
    pseudonymize: bool = False
    suppressions: Path | None = None  # known findings accepted, with reasons (conformance/suppressions.py)
    validation_server: str | None = None  # a running `conformance serve --validation`: CDA documents go there


@dataclass(slots=True)
class RunConfig:
    source: str = "<memory>"
    run: RunSettings = field(default_factory=RunSettings)
    fhir: FhirConfig = field(default_factory=FhirConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    mllp: MllpConfig = field(default_factory=MllpConfig)
    hl7v2: Hl7v2Config = field(default_factory=Hl7v2Config)
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)
    test_data: TestData = field(default_factory=TestData)
    mssante: MssanteConfig = field(default_factory=MssanteConfig)
    dmp: DmpConfig = field(default_factory=DmpConfig)

    def secrets(self) -> list[str]:
        """Every secret string, for redaction of everything written (headers, bodies, logs)."""
        return sorted({s.reveal() for s in _walk_secrets(self) if s.reveal()}, key=len, reverse=True)

    def redacted(self) -> dict[str, Any]:
        """The configuration as JSON-ready data, secrets replaced by '***' (the copy in results.json)."""
        return _to_data(self)

    def warnings(self) -> list[str]:
        notes = []
        if not self.tls.verify:
            notes.append(
                "TLS certificate verification is OFF (tls.verify = false): the server's identity was not checked"
            )
        return notes

    def target(self) -> dict[str, Any]:
        target: dict[str, Any] = {"name": self.run.name}
        if self.fhir.base_url:
            target["fhir_base_url"] = self.fhir.base_url
        if self.mllp.host:
            target["mllp_receiver"] = f"{self.mllp.host}:{self.mllp.port}"
        if self.mllp.listener:
            target["mllp_listener"] = f"{self.mllp.listener.host}:{self.mllp.listener.port}"
        if self.dmp.repository_url:
            target["dmp_repository"] = self.dmp.repository_url
        return target


def _walk_secrets(obj: Any) -> Iterator[Secret]:
    if isinstance(obj, Secret):
        yield obj
    elif is_dataclass(obj):
        for f in fields(obj):
            yield from _walk_secrets(getattr(obj, f.name))
    elif isinstance(obj, list):
        for item in obj:
            yield from _walk_secrets(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _walk_secrets(item)


def _to_data(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return REDACTED
    if is_dataclass(obj):
        return {f.name: _to_data(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, list):
        return [_to_data(item) for item in obj]
    if isinstance(obj, dict):
        return {key: _to_data(item) for key, item in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ---------------------------------------------------------------- loading


def _split_url(url: str):
    """urlsplit, or None when the URL cannot be parsed (e.g. 'http://[::1': invalid IPv6 host, bad port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return None
    return parts


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML configuration file. Raises ConfigError naming the file and the key."""
    path = Path(path)
    name = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(name, "", "fichier introuvable", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, "", f"lecture impossible ({exc})", f"cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(name, exc) from None
    return parse_config(data, source=name, base_dir=path.resolve().parent)


def parse_config(data: Mapping[str, Any], *, source: str = "<memory>", base_dir: Path | None = None) -> RunConfig:
    reader = _Reader(source, base_dir or Path.cwd())
    top = reader.table(
        data, "", {"run", "fhir", "tls", "timeouts", "mllp", "hl7v2", "test_data", "documents", "mssante", "dmp"}
    )
    config = RunConfig(source=source)
    # each section is read even when another one is wrong: every problem is reported at once
    for section in ("run", "fhir", "tls", "timeouts", "mllp", "hl7v2", "test_data", "documents", "mssante", "dmp"):
        read = getattr(reader, "run_settings" if section == "run" else section)
        try:
            setattr(config, section, read(top.get(section, {})))
        except ConfigErrors as exc:
            reader.problems.extend(exc.problems)
        except ConfigError as exc:
            reader.problems.append(exc)
    if reader.problems:
        raise ConfigErrors(reader.problems)
    return config


class _Reader:
    """Typed accessors that raise ConfigError with the file and the dotted key."""

    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir
        self.problems: list[ConfigError] = []  # reported after the whole file was read

    def error(self, key: str, fr: str, en: str) -> ConfigError:
        return ConfigError(self.source, key, fr, en)

    def table(self, value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        label = f"[{where}]" if where else "(racine)"
        if not isinstance(value, Mapping):
            raise self.error(label, "doit être une table", "must be a table")
        for name in sorted(set(value) - allowed):  # not fatal: the known keys are still read and checked
            self.problems.append(
                self.error(
                    f"{where}.{name}" if where else name,
                    f"clé inconnue (clés permises : {', '.join(sorted(allowed))})",
                    f"unknown key (allowed keys: {', '.join(sorted(allowed))})",
                )
            )
        return {key: item for key, item in value.items() if key in allowed}

    def string(self, table: Mapping[str, Any], where: str, key: str, default: str | None = None) -> str | None:
        value = table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{where}.{key}", "doit être une chaîne", "must be a string")
        return value

    def choice(self, table: Mapping[str, Any], where: str, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.string(table, where, key, default)
        if value not in allowed:
            raise self.error(
                f"{where}.{key}",
                f"valeur {value!r} non permise (valeurs: {', '.join(allowed)})",
                f"value {value!r} not allowed (values: {', '.join(allowed)})",
            )
        return value

    def boolean(self, table: Mapping[str, Any], where: str, key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{where}.{key}", "doit être true ou false", "must be true or false")
        return value

    def number(
        self, table: Mapping[str, Any], where: str, key: str, default: float, *, integer: bool = False, minimum=0
    ) -> Any:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            kind_fr, kind_en = ("un entier", "an integer") if integer else ("un nombre", "a number")
            raise self.error(f"{where}.{key}", f"doit être {kind_fr}", f"must be {kind_en}")
        if isinstance(value, float) and not math.isfinite(value):  # TOML allows nan and inf
            raise self.error(f"{where}.{key}", "doit être un nombre fini", "must be a finite number")
        if value < minimum:
            raise self.error(f"{where}.{key}", f"doit être >= {minimum}", f"must be >= {minimum}")
        return value

    def strings(self, table: Mapping[str, Any], where: str, key: str, default: list[str]) -> list[str]:
        value = table.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{where}.{key}", "doit être une liste de chaînes", "must be a list of strings")
        return list(value)

    def secret(self, table: Mapping[str, Any], where: str, key: str) -> Secret | None:
        value = self.string(table, where, key)
        return Secret(value) if value is not None else None

    def path(self, table: Mapping[str, Any], where: str, key: str, *, must_exist: bool = True) -> Path | None:
        value = self.string(table, where, key)
        if value is None:
            return None
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # '~someone' with no such user
            raise self.error(
                f"{where}.{key}",
                f"dossier personnel introuvable pour {value!r}",
                f"cannot expand the home folder in {value!r}",
            ) from None
        if not path.is_absolute():
            path = self.base_dir / path
        if must_exist and not path.exists():
            raise self.error(f"{where}.{key}", f"fichier introuvable: {path}", f"file not found: {path}")
        return path

    def port(self, table: Mapping[str, Any], where: str, key: str, default: int | None) -> int | None:
        if key not in table:
            return default
        value = self.number(table, where, key, 0, integer=True)
        if value > 65535:
            raise self.error(f"{where}.{key}", "port hors limites (0-65535)", "port out of range (0-65535)")
        return value

    # ---------------------------------------------------------------- sections

    def run_settings(self, value: Any) -> RunSettings:
        w = "run"
        allowed = {"name", "suites", "language", "output", "programme", "signing_key", "pseudonymize", "suppressions"}
        allowed.add("validation_server")
        t = self.table(value, w, allowed)
        suites = self.strings(t, w, "suites", list(SUITES))
        for suite in suites:
            if suite not in SUITES:
                raise self.error(
                    f"{w}.suites",
                    f"suite inconnue {suite!r} (suites: {', '.join(SUITES)})",
                    f"unknown suite {suite!r} (suites: {', '.join(SUITES)})",
                )
        programme = self.string(t, w, "programme", "hopen2-2024")
        if not programme:
            raise self.error(f"{w}.programme", "ne doit pas être vide", "must not be empty")
        return RunSettings(
            name=self.string(t, w, "name", "") or "",
            suites=suites,
            language=self.choice(t, w, "language", LANGUAGES, "fr"),
            output=self.path(t, w, "output", must_exist=False),
            programme=programme,
            signing_key=self.path(t, w, "signing_key"),
            pseudonymize=self.boolean(t, w, "pseudonymize", False),
            suppressions=self.path(t, w, "suppressions"),
            validation_server=self.url(t, w, "validation_server"),
        )

    def fhir(self, value: Any) -> FhirConfig:
        w = "fhir"
        allowed = {"base_url", "packages", "max_response_bytes", "allow_cross_host_redirects", "max_redirects", "auth"}
        allowed.add("foreign_urls")
        t = self.table(value, w, allowed)
        base_url = self.string(t, w, "base_url")
        if base_url is not None:
            parts = _split_url(base_url)
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise self.error(
                    f"{w}.base_url",
                    f"URL http(s) attendue, reçu {base_url!r}",
                    f"an http(s) URL is expected, got {base_url!r}",
                )
            base_url = base_url.rstrip("/")
        packages = self.strings(t, w, "packages", list(DEFAULT_PACKAGES))
        for package in packages:
            if "#" not in package and not package.endswith(".tgz"):
                raise self.error(
                    f"{w}.packages",
                    f"{package!r}: forme NOM#VERSION ou chemin .tgz attendue",
                    f"{package!r}: NAME#VERSION or a .tgz path expected",
                )
        return FhirConfig(
            base_url=base_url,
            packages=packages,
            max_response_bytes=self.number(t, w, "max_response_bytes", 50 * 1024 * 1024, integer=True, minimum=1),
            allow_cross_host_redirects=self.boolean(t, w, "allow_cross_host_redirects", False),
            max_redirects=self.number(t, w, "max_redirects", 5, integer=True),
            foreign_urls=self.choice(t, w, "foreign_urls", ("without-credentials", "refuse"), "without-credentials"),
            auth=self.auth(t.get("auth", {})),
        )

    def auth(self, value: Any) -> AuthConfig:
        w = "fhir.auth"
        allowed = {
            "type",
            "username",
            "password",
            "token",
            "token_url",
            "client_id",
            "client_secret",
            "private_key",
            "private_key_password",
            "key_id",
            "algorithm",
            "scope",
        }
        t = self.table(value, w, allowed)
        auth = AuthConfig(
            type=self.choice(t, w, "type", AUTH_TYPES, "none"),
            username=self.string(t, w, "username"),
            password=self.secret(t, w, "password"),
            token=self.secret(t, w, "token"),
            token_url=self.string(t, w, "token_url"),
            client_id=self.string(t, w, "client_id"),
            client_secret=self.secret(t, w, "client_secret"),
            private_key=self.path(t, w, "private_key"),
            private_key_password=self.secret(t, w, "private_key_password"),
            key_id=self.string(t, w, "key_id"),
            algorithm=self.choice(t, w, "algorithm", ("RS384", "ES384"), "RS384"),
            scope=self.string(t, w, "scope"),
        )
        required = {
            "basic": ("username", "password"),
            "bearer": ("token",),
            "oauth2-client-credentials": ("token_url", "client_id", "client_secret"),
            "smart-backend-services": ("token_url", "client_id", "private_key"),
        }.get(auth.type, ())
        for key in required:
            if not getattr(auth, key):
                raise self.error(
                    f"{w}.{key}",
                    f"obligatoire quand type = {auth.type!r}",
                    f"required when type = {auth.type!r}",
                )
        token_url = _split_url(auth.token_url) if auth.token_url else None
        if auth.token_url and (token_url is None or token_url.scheme not in ("http", "https")):
            raise self.error(f"{w}.token_url", "URL http(s) attendue", "an http(s) URL is expected")
        return auth

    def tls(self, value: Any) -> TlsConfig:
        w = "tls"
        t = self.table(value, w, {"verify", "ca_bundle", "client_cert", "client_key", "client_key_password"})
        tls = TlsConfig(
            verify=self.boolean(t, w, "verify", True),
            ca_bundle=self.path(t, w, "ca_bundle"),
            client_cert=self.path(t, w, "client_cert"),
            client_key=self.path(t, w, "client_key"),
            client_key_password=self.secret(t, w, "client_key_password"),
        )
        if tls.client_key and not tls.client_cert:
            raise self.error(f"{w}.client_cert", "obligatoire avec client_key", "required when client_key is given")
        return tls

    def timeouts(self, value: Any) -> Timeouts:
        w = "timeouts"
        t = self.table(value, w, {"connect", "read", "total", "retries", "retry_backoff"})
        timeouts = Timeouts(
            connect=self.number(t, w, "connect", 5.0, minimum=0.001),
            read=self.number(t, w, "read", 30.0, minimum=0.001),
            total=self.number(t, w, "total", 120.0, minimum=0.001),
            retries=self.number(t, w, "retries", 1, integer=True),
            retry_backoff=self.number(t, w, "retry_backoff", 0.5),
        )
        if timeouts.retries > 10:
            raise self.error(f"{w}.retries", "au plus 10", "at most 10")
        return timeouts

    def mllp(self, value: Any) -> MllpConfig:
        w = "mllp"
        t = self.table(value, w, {"host", "port", "tls", "max_frame_bytes", "listener"})
        mllp = MllpConfig(
            host=self.string(t, w, "host"),
            port=self.port(t, w, "port", None),
            tls=self.boolean(t, w, "tls", False),
            max_frame_bytes=self.number(t, w, "max_frame_bytes", 10 * 1024 * 1024, integer=True, minimum=1),
        )
        if (mllp.host is None) != (mllp.port is None):
            missing = "port" if mllp.port is None else "host"
            raise self.error(f"{w}.{missing}", "host et port vont ensemble", "host and port go together")
        if "listener" in t:
            lw = "mllp.listener"
            keys = {"host", "port", "wait_seconds", "expect_messages", "allowed_peers", "max_connections"}
            keys |= {"max_connection_bytes", "max_total_bytes", "idle_timeout"}
            lt = self.table(t["listener"], lw, keys)
            mllp.listener = ListenerConfig(
                host=self.string(lt, lw, "host", "127.0.0.1") or "127.0.0.1",
                port=self.port(lt, lw, "port", 0) or 0,
                wait_seconds=self.number(lt, lw, "wait_seconds", 10.0),
                expect_messages=self.number(lt, lw, "expect_messages", 1, integer=True),
                allowed_peers=self.peers(lt, lw),
                max_connections=self.number(lt, lw, "max_connections", 64, integer=True, minimum=1),
                max_connection_bytes=self.number(
                    lt, lw, "max_connection_bytes", 64 * 1024 * 1024, integer=True, minimum=1
                ),
                max_total_bytes=self.number(lt, lw, "max_total_bytes", 256 * 1024 * 1024, integer=True, minimum=1),
                idle_timeout=self.number(lt, lw, "idle_timeout", 60.0, minimum=0.001),
            )
        return mllp

    def peers(self, table: Mapping[str, Any], where: str) -> list[str]:
        import ipaddress

        peers = self.strings(table, where, "allowed_peers", [])
        for peer in peers:
            try:
                ipaddress.ip_network(peer.strip(), strict=False)
            except ValueError:
                raise self.error(
                    f"{where}.allowed_peers", f"adresse ou réseau invalide : {peer!r}", f"invalid address: {peer!r}"
                ) from None
        return peers

    def hl7v2(self, value: Any) -> Hl7v2Config:
        w = "hl7v2"
        keys = ("sending_application", "sending_facility", "receiving_application", "receiving_facility")
        t = self.table(value, w, {*keys, "documents"})
        defaults = Hl7v2Config()
        values = {k: self.string(t, w, k, getattr(defaults, k)) or getattr(defaults, k) for k in keys}
        return Hl7v2Config(**values, documents=self.boolean(t, w, "documents", False))

    def test_data(self, value: Any) -> TestData:
        w = "test_data"
        t = self.table(value, w, {"patients", "practitioners", "organizations", "document_patient", "cda_document"})
        patients_raw = t.get("patients", [])
        if not isinstance(patients_raw, list):
            raise self.error(f"{w}.patients", "doit être une liste de tables", "must be an array of tables")
        patients = [self.patient(item, f"{w}.patients[{i}]") for i, item in enumerate(patients_raw)]
        return TestData(
            patients=patients,
            practitioners=self.strings(t, w, "practitioners", []),
            organizations=self.strings(t, w, "organizations", []),
            document_patient=self.string(t, w, "document_patient"),
            cda_document=self.path(t, w, "cda_document"),
        )

    def documents(self, value: Any) -> DocumentsConfig:
        w = "documents"
        t = self.table(value, w, {"files"})
        files = [self.path({"files": item}, w, "files") for item in self.strings(t, w, "files", [])]
        return DocumentsConfig(files=[f for f in files if f is not None])

    def mssante(self, value: Any) -> MssanteConfig:
        w = "mssante"
        keys = {
            "mailbox_type",
            "nil",
            "require_pdf",
            "require_mdn_request",
            "rules_disabled",
            "wait_seconds",
            "expect_messages",
            "trigger_command",
            "tls_probes",
            "operator",
            "correspondent",
            "imap",
        }
        t = self.table(value, w, keys)
        return MssanteConfig(
            mailbox_type=self.choice(t, w, "mailbox_type", MSS_MAILBOX_TYPES, "APP"),
            nil=self.string(t, w, "nil"),
            require_pdf=self.boolean(t, w, "require_pdf", True),
            require_mdn_request=self.boolean(t, w, "require_mdn_request", True),
            rules_disabled=self.strings(t, w, "rules_disabled", []),
            wait_seconds=self.number(t, w, "wait_seconds", 20.0, minimum=0.1),
            expect_messages=self.number(t, w, "expect_messages", 1, integer=True, minimum=1),
            trigger_command=self.strings(t, w, "trigger_command", []),
            tls_probes=self.boolean(t, w, "tls_probes", True),
            operator=self.mss_operator(t.get("operator", {})),
            correspondent=self.mss_correspondent(t.get("correspondent", {})),
            imap=self.mss_imap(t.get("imap", {})),
        )

    def mss_imap(self, value: Any) -> MssImapConfig:
        w = "mssante.imap"
        t = self.table(value, w, {"enabled", "host", "port", "user", "password", "max_connections"})
        defaults = MssImapConfig()
        return MssImapConfig(
            enabled=self.boolean(t, w, "enabled", True),
            host=self.string(t, w, "host", defaults.host) or defaults.host,
            port=self.port(t, w, "port", 0) or 0,
            user=self.string(t, w, "user", defaults.user) or defaults.user,
            password=self.secret(t, w, "password"),
            max_connections=self.number(t, w, "max_connections", 8, integer=True, minimum=1),
        )

    def mss_operator(self, value: Any) -> MssOperatorConfig:
        w = "mssante.operator"
        keys = {f.name for f in fields(MssOperatorConfig)}
        t = self.table(value, w, keys)
        defaults = MssOperatorConfig()
        auth = self.strings(t, w, "auth", list(defaults.auth))
        for mechanism in auth:
            if mechanism not in MSS_AUTH:
                raise self.error(
                    f"{w}.auth", f"{mechanism!r} inconnu ({', '.join(MSS_AUTH)})", f"unknown {mechanism!r}"
                )
        passwords_raw = t.get("passwords", {})
        if not isinstance(passwords_raw, Mapping) or not all(isinstance(v, str) for v in passwords_raw.values()):
            raise self.error(f"{w}.passwords", "table utilisateur = mot de passe", "a table of user = password")
        operator = MssOperatorConfig(
            host=self.string(t, w, "host", "127.0.0.1") or "127.0.0.1",
            port=self.port(t, w, "port", 0) or 0,
            cert=self.path(t, w, "cert"),
            key=self.path(t, w, "key"),
            client_ca=self.path(t, w, "client_ca"),
            tls_min=self.choice(t, w, "tls_min", MSS_TLS_VERSIONS, "1.2"),
            tls_max=self.choice(t, w, "tls_max", MSS_TLS_VERSIONS, "1.2"),
            ciphers=self.strings(t, w, "ciphers", list(MSS_DEFAULT_CIPHERS)),
            auth=auth,
            tokens=[Secret(v) for v in self.strings(t, w, "tokens", [])],
            passwords={str(k): Secret(v) for k, v in passwords_raw.items()},
            max_message_bytes=self.number(
                t, w, "max_message_bytes", defaults.max_message_bytes, integer=True, minimum=1024
            ),
            max_connections=self.number(t, w, "max_connections", 16, integer=True, minimum=1),
            max_connection_bytes=self.number(
                t, w, "max_connection_bytes", defaults.max_connection_bytes, integer=True, minimum=1024
            ),
            max_total_bytes=self.number(t, w, "max_total_bytes", defaults.max_total_bytes, integer=True, minimum=1024),
            idle_timeout=self.number(t, w, "idle_timeout", 30.0, minimum=0.1),
        )
        if (operator.cert is None) != (operator.key is None):
            raise self.error(f"{w}.key", "cert et key vont ensemble", "cert and key go together")
        if MSS_TLS_VERSIONS.index(operator.tls_min) > MSS_TLS_VERSIONS.index(operator.tls_max):
            raise self.error(f"{w}.tls_min", "tls_min au-delà de tls_max", "tls_min above tls_max")
        return operator

    def mss_correspondent(self, value: Any) -> MssCorrespondentConfig:
        w = "mssante.correspondent"
        keys = {"host", "port", "address", "ca_bundle", "from_address", "wait_seconds", "expected_codes"}
        t = self.table(value, w, keys)
        defaults = MssCorrespondentConfig()
        codes_raw = t.get("expected_codes", {})
        if not isinstance(codes_raw, Mapping):
            raise self.error(f"{w}.expected_codes", "doit être une table", "must be a table")
        codes = dict(defaults.expected_codes)
        for case, code in codes_raw.items():
            if case not in MSS_DEFECT_CODES or not isinstance(code, str) or not code.isdigit():
                raise self.error(
                    f"{w}.expected_codes.{case}",
                    f"cas connus : {', '.join(MSS_DEFECT_CODES)} ; valeur : code à 3 chiffres",
                    f"known cases: {', '.join(MSS_DEFECT_CODES)}; value: a 3-digit code",
                )
            codes[case] = code
        correspondent = MssCorrespondentConfig(
            host=self.string(t, w, "host"),
            port=self.port(t, w, "port", None),
            address=self.string(t, w, "address", "") or "",
            ca_bundle=self.path(t, w, "ca_bundle"),
            from_address=self.string(t, w, "from_address", defaults.from_address) or defaults.from_address,
            wait_seconds=self.number(t, w, "wait_seconds", 20.0, minimum=0.1),
            expected_codes=codes,
        )
        if (correspondent.host is None) != (correspondent.port is None):
            raise self.error(f"{w}.port", "host et port vont ensemble", "host and port go together")
        if correspondent.host is not None and "@" not in correspondent.address:
            raise self.error(f"{w}.address", "adresse de la BAL de réception attendue", "inbound mailbox expected")
        return correspondent

    def url(self, table: Mapping[str, Any], where: str, key: str) -> str | None:
        value = self.string(table, where, key)
        if value is None:
            return None
        parts = _split_url(value)
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(
                f"{where}.{key}", f"URL http(s) attendue, reçu {value!r}", f"an http(s) URL is expected, got {value!r}"
            )
        return value

    def dmp(self, value: Any) -> DmpConfig:
        w = "dmp"
        keys = {
            "repository_url",
            "registry_url",
            "repository_id",
            "document",
            "unknown_patient_ins",
            "vihf_versions",
            "strict",
            "strict_casing",
            "iti57_response_action",
            "allow_sha1",
            "value_sets",
            "xades",
            "trusted_ca",
            "vihf",
            "listener",
        }
        t = self.table(value, w, keys)
        defaults = DmpConfig()
        dmp = DmpConfig(
            repository_url=self.url(t, w, "repository_url"),
            registry_url=self.url(t, w, "registry_url"),
            repository_id=self.string(t, w, "repository_id", defaults.repository_id) or defaults.repository_id,
            document=self.path(t, w, "document"),
            unknown_patient_ins=self.string(t, w, "unknown_patient_ins", defaults.unknown_patient_ins) or "",
            vihf_versions=self.strings(t, w, "vihf_versions", ["3.0", "4.0"]),
            strict=self.boolean(t, w, "strict", False),
            strict_casing=self.boolean(t, w, "strict_casing", False),
            iti57_response_action=self.choice(t, w, "iti57_response_action", ("dmp", "ihe"), "dmp"),
            allow_sha1=self.boolean(t, w, "allow_sha1", True),
            value_sets=self.choice(t, w, "value_sets", ("dmp", "cisis"), "dmp"),
            xades=self.choice(t, w, "xades", ("required", "optional"), "required"),
            trusted_ca=self.path(t, w, "trusted_ca"),
            vihf=self.dmp_vihf(t.get("vihf", {})),
        )
        if len(dmp.unknown_patient_ins) != 15:
            raise self.error(f"{w}.unknown_patient_ins", "un INS a 15 caractères", "an INS has 15 characters")
        if "listener" in t:
            dmp.listener = self.dmp_listener(t["listener"])
        return dmp

    def dmp_vihf(self, value: Any) -> DmpVihfConfig:
        w = "dmp.vihf"
        keys = {
            "signing_cert",
            "signing_key",
            "signing_key_password",
            "structure_id",
            "activity_sector",
            "version",
            "authentication_mode",
            "lps_name",
        }
        t = self.table(value, w, keys)
        vihf = DmpVihfConfig(
            signing_cert=self.path(t, w, "signing_cert"),
            signing_key=self.path(t, w, "signing_key"),
            signing_key_password=self.secret(t, w, "signing_key_password"),
            structure_id=self.string(t, w, "structure_id"),
            activity_sector=self.string(t, w, "activity_sector"),
            version=self.string(t, w, "version", "3.0") or "3.0",
            authentication_mode=self.choice(
                t, w, "authentication_mode", ("DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE"), "INDIRECTE_RENFORCEE"
            ),
            lps_name=self.string(t, w, "lps_name", "hopen-conformance") or "hopen-conformance",
        )
        if (vihf.signing_cert is None) != (vihf.signing_key is None):
            raise self.error(
                f"{w}.signing_key",
                "signing_cert et signing_key vont ensemble",
                "signing_cert and signing_key go together",
            )
        return vihf

    def dmp_listener(self, value: Any) -> DmpListenerConfig:
        w = "dmp.listener"
        keys = {
            "host",
            "port",
            "tls",
            "server_cert",
            "server_key",
            "client_ca",
            "require_client_cert",
            "wait_seconds",
            "expect_submissions",
            "max_request_bytes",
            "request_deadline",
            "idle_timeout",
            "max_connections",
        }
        t = self.table(value, w, keys)
        listener = DmpListenerConfig(
            host=self.string(t, w, "host", "127.0.0.1") or "127.0.0.1",
            port=self.port(t, w, "port", 0) or 0,
            tls=self.boolean(t, w, "tls", True),
            server_cert=self.path(t, w, "server_cert"),
            server_key=self.path(t, w, "server_key"),
            client_ca=self.path(t, w, "client_ca"),
            require_client_cert=self.boolean(t, w, "require_client_cert", True),
            wait_seconds=self.number(t, w, "wait_seconds", 20.0),
            expect_submissions=self.number(t, w, "expect_submissions", 1, integer=True),
            max_request_bytes=self.number(t, w, "max_request_bytes", 20 * 1024 * 1024, integer=True, minimum=1),
            request_deadline=self.number(t, w, "request_deadline", 30.0, minimum=0.001),
            idle_timeout=self.number(t, w, "idle_timeout", 10.0, minimum=0.001),
            max_connections=self.number(t, w, "max_connections", 16, integer=True, minimum=1),
        )
        if listener.tls and not (listener.server_cert and listener.server_key):
            raise self.error(
                f"{w}.server_cert",
                "obligatoire (avec server_key) quand tls = true",
                "required (with server_key) when tls = true",
            )
        if listener.tls and listener.require_client_cert and not listener.client_ca:
            raise self.error(
                f"{w}.client_ca",
                "obligatoire quand require_client_cert = true",
                "required when require_client_cert = true",
            )
        return listener

    def patient(self, value: Any, w: str) -> PatientData:
        t = self.table(
            value,
            w,
            {
                "ins",
                "oid",
                "family",
                "given",
                "birth_date",
                "gender",
                "id",
                "qualified",
                "ipp",
                "ipp_system",
                "birth_place",
                "birth_city",
            },
        )
        ins = self.string(t, w, "ins") or ""
        qualified = self.boolean(t, w, "qualified", True)
        if not ins and qualified:
            raise self.error(f"{w}.ins", "obligatoire (NIR ou NIA de test)", "required (test NIR or NIA)")
        if ins and (len(ins) != 15 or not ins[:1].isdigit()):
            raise self.error(f"{w}.ins", "un INS a 15 caractères", "an INS has 15 characters")
        gender = self.string(t, w, "gender", "") or ""
        if gender and gender not in ("male", "female", "other", "unknown"):
            raise self.error(f"{w}.gender", "male, female, other ou unknown", "male, female, other or unknown")
        return PatientData(
            ins=ins,
            oid=bare_oid(self.string(t, w, "oid", INS_TEST_NIR_OID) or INS_TEST_NIR_OID),
            family=self.string(t, w, "family", "") or "",
            given=self.string(t, w, "given", "") or "",
            birth_date=self.string(t, w, "birth_date", "") or "",
            gender=gender,
            id=self.string(t, w, "id"),
            qualified=qualified,
            ipp=self.string(t, w, "ipp"),
            ipp_system=self.string(t, w, "ipp_system"),
            birth_place=self.string(t, w, "birth_place", "") or "",
            birth_city=self.string(t, w, "birth_city", "") or "",
        )
