"""Throwaway TLS material generated at run time (never committed): a test CA, a server certificate for the
loopback address, a client certificate for mutual TLS, and deliberately bad server certificates for the
hostile modes. Files live in a private temporary folder removed by `cleanup()`.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hopen-conformance test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class TestPki:
    """Paths of the generated PEM files."""

    folder: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    bad_server_cert: Path  # issued by the CA, but expired and for another host name
    bad_server_key: Path
    hosts: tuple[str, ...] = field(default=("127.0.0.1", "localhost"))

    def server_context(self, *, require_client_cert: bool = False, bad: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if bad:
            ctx.load_cert_chain(self.bad_server_cert, self.bad_server_key)
        else:
            ctx.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca_cert)
        return ctx

    def client_context(self, *, with_client_cert: bool = True) -> ssl.SSLContext:
        """A client context trusting the test CA (and presenting the client certificate): for tests."""
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        if with_client_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    subject: str,
    *,
    hosts: tuple[str, ...],
    usage: x509.ObjectIdentifier,
    not_before: datetime,
    not_after: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def generate_pki(hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TestPki:
    folder = Path(tempfile.mkdtemp(prefix="hopen-ref-tls-"))
    folder.chmod(0o700)
    now = datetime.now(UTC)
    ca_key = _key()
    ca_name = _name("hopen-conformance throwaway test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),  # keyCertSign, cRLSign
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    valid = {"not_before": now - timedelta(minutes=5), "not_after": now + timedelta(days=1)}
    server_cert, server_key = _issue(
        ca_key, ca_name, hosts[0], hosts=hosts, usage=ExtendedKeyUsageOID.SERVER_AUTH, **valid
    )
    client_cert, client_key = _issue(
        ca_key, ca_name, "hopen-conformance test client", hosts=(), usage=ExtendedKeyUsageOID.CLIENT_AUTH, **valid
    )
    bad_cert, bad_key = _issue(
        ca_key,
        ca_name,
        "wrong-host.invalid",
        hosts=("wrong-host.invalid",),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        not_before=now - timedelta(days=10),
        not_after=now - timedelta(days=1),
    )
    files = {
        "ca.pem": _pem_cert(ca_cert),
        "server.pem": _pem_cert(server_cert),
        "server-key.pem": _pem_key(server_key),
        "client.pem": _pem_cert(client_cert),
        "client-key.pem": _pem_key(client_key),
        "bad-server.pem": _pem_cert(bad_cert),
        "bad-server-key.pem": _pem_key(bad_key),
    }
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        path.chmod(0o600)
    return TestPki(
        folder=folder,
        ca_cert=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server-key.pem",
        client_cert=folder / "client.pem",
        client_key=folder / "client-key.pem",
        bad_server_cert=folder / "bad-server.pem",
        bad_server_key=folder / "bad-server-key.pem",
        hosts=hosts,
    )
