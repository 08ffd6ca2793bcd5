"""Helpers shared by the hardening tests (tests/hostile, tests/security): configuration files pointing the
campaign at running endpoints, `conformance run` as a subprocess, reading a run folder back.

Loaded by the conftest files of those folders (not a test module: no test here).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFORMANCE = str(Path(sys.executable).parent / "conformance")

# Short, explicit timeouts: every hostile behaviour must end within these (tests never assert timings).
SHORT_TIMEOUTS = {"connect": 1.0, "read": 1.5, "total": 3.0, "retries": 0, "retry_backoff": 0.05}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def toml_table(name: str, values: Mapping[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {toml_value(v)}" for key, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def reference_patients(ref: Any) -> list[dict[str, Any]]:
    """The reference's seeded patients as [[test_data.patients]] tables."""
    patients = []
    for p in ref.test_data.patients:
        entry: dict[str, Any] = {
            "family": p.family,
            "given": p.given,
            "birth_date": p.birth_date,
            "gender": p.gender,
            "id": p.id,
            "qualified": p.qualified,
            "ipp": p.ipp,
            "ipp_system": p.ipp_system,
        }
        if p.qualified:
            entry["ins"] = p.ins
            entry["oid"] = p.ins_system.removeprefix("urn:oid:")
        patients.append(entry)
    return patients


@dataclass
class Target:
    """Where the campaign is pointed: a FHIR base URL and/or an MLLP receiver, and the test data."""

    fhir_base_url: str | None = None
    mllp: tuple[str, int] | None = None
    patients: list[dict[str, Any]] | None = None
    practitioners: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()

    @classmethod
    def of(cls, ref: Any) -> Target:
        data = ref.test_data
        return cls(
            fhir_base_url=ref.fhir_base_url,
            mllp=(ref.mllp_receiver.host, ref.mllp_receiver.port),
            patients=reference_patients(ref),
            practitioners=(data.practitioner_rpps,),
            organizations=(data.organization_finess,),
        )


def write_config(
    path: Path,
    target: Target,
    *,
    suites: Iterable[str],
    timeouts: Mapping[str, Any] | None = None,
    auth: Mapping[str, Any] | None = None,
    tls: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    fhir: Mapping[str, Any] | None = None,
    mllp: Mapping[str, Any] | None = None,
    listener: Mapping[str, Any] | None = None,
) -> Path:
    parts = [
        toml_table("run", {"name": "hardening", "suites": list(suites), "language": "en", **(run or {})}),
        toml_table("timeouts", {**SHORT_TIMEOUTS, **(timeouts or {})}),
    ]
    if target.fhir_base_url:
        parts.append(toml_table("fhir", {"base_url": target.fhir_base_url, **(fhir or {})}))
        parts.append(toml_table("fhir.auth", auth or {"type": "none"}))
    if tls:
        parts.append(toml_table("tls", tls))
    if target.mllp:
        parts.append(toml_table("mllp", {"host": target.mllp[0], "port": target.mllp[1], **(mllp or {})}))
    if listener:
        parts.append(toml_table("mllp.listener", listener))
    parts.append(
        toml_table(
            "test_data",
            {"practitioners": list(target.practitioners), "organizations": list(target.organizations)},
        )
    )
    for patient in target.patients or []:
        parts.append(toml_table("[test_data.patients]", patient).replace("[[[", "[[").replace("]]]", "]]"))
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


@dataclass
class RunOutcome:
    code: int
    output: str
    run_dir: Path

    @property
    def results(self) -> dict[str, Any]:
        path = self.run_dir / "results.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def tests(self) -> dict[str, dict[str, Any]]:
        return {t["id"]: t for t in self.results.get("tests", [])}

    def evidence(self) -> list[dict[str, Any]]:
        records = []
        for path in sorted((self.run_dir / "evidence").rglob("*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:
                records.append({"unreadable": str(path)})
        return records


def run_conformance(config: Path, run_dir: Path, *extra: str, timeout: float = 300) -> RunOutcome:
    """`conformance run --config FILE --output DIR` in a subprocess (as a user would run it)."""
    command = [CONFORMANCE, "run", "--config", str(config), "--output", str(run_dir), "--lang", "en", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return RunOutcome(done.returncode, done.stdout + done.stderr, run_dir)


def free_port() -> int:
    """A port that was free a moment ago (for a listener started by a subprocess; tiny race accepted)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def described(test: Mapping[str, Any]) -> str:
    """Everything a reader sees about a test's verdict, lower-cased, for 'the message names the fault'."""
    return json.dumps([test.get("messages"), test.get("findings")], ensure_ascii=False).lower()


class RawServer:
    """A tiny hostile TCP server on 127.0.0.1:0: `behaviour(conn, stop)` runs for each connection, in a thread.

    Loops are bounded by `stop` (set on close) and by `lifetime` seconds, so a forgotten server ends by itself.
    """

    def __init__(self, behaviour, *, lifetime: float = 60.0, ssl_context=None) -> None:
        import threading

        self.behaviour = behaviour
        self.ssl_context = ssl_context
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._deadline = lifetime
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"raw-hostile-{self.port}")
        self._thread.start()

    def _serve(self) -> None:
        import threading
        import time

        ends = time.monotonic() + self._deadline
        while not self.stop_event.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self.stop_event.set()

    def _handle(self, conn: socket.socket) -> None:
        import contextlib

        try:
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
            conn.settimeout(5)
            self.behaviour(conn, self.stop_event)
        except OSError as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self.stop_event.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_request_head(conn: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_frame(conn: socket.socket, limit: int = 16 * 1024 * 1024) -> bytes:
    """One MLLP frame's payload (or what arrived before the peer stopped)."""
    data = b""
    while b"\x1c\r" not in data and len(data) < limit:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\x1c\r", 1)[0].lstrip(b"\x0b")


@dataclass
class Pki:
    """A throwaway PKI generated at test time: a CA, a server certificate for 127.0.0.1/localhost, a client
    certificate whose key is encrypted with `key_password`, and a second, untrusted CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    key_password: str
    other_ca: Path

    def server_context(self, *, require_client_cert: bool = True):
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.server_cert), str(self.server_key))
        if require_client_cert:
            context.load_verify_locations(str(self.ca))
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def generate_pki(folder: Path, key_password: str = "client-key-passphrase-7d1e") -> Pki:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def ca(common: str):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(name(common))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    def leaf(ca_key, ca_cert, common: str, usage, sans):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    def write(path: Path, data: bytes) -> Path:
        path.write_bytes(data)
        return path

    def cert_pem(cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(key, password: str | None = None) -> bytes:
        encryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
        )
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)

    ca_key, ca_cert = ca("hardening test CA")
    _, other_cert = ca("untrusted test CA")
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    server_key, server_cert = leaf(ca_key, ca_cert, "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, sans)
    client_key, client_cert = leaf(ca_key, ca_cert, "hardening client", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return Pki(
        ca=write(folder / "ca.pem", cert_pem(ca_cert)),
        server_cert=write(folder / "server.pem", cert_pem(server_cert)),
        server_key=write(folder / "server.key", key_pem(server_key)),
        client_cert=write(folder / "client.pem", cert_pem(client_cert)),
        client_key=write(folder / "client.key", key_pem(client_key, key_password)),
        key_password=key_password,
        other_ca=write(folder / "other-ca.pem", cert_pem(other_cert)),
    )
