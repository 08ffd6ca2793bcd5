"""Throwaway RSA certificates for the MSSanté channel (the ECO.1.1.3 suites are ECDHE-RSA: an RSA server key).

One trusted test CA ("IGC Santé" stand-in) issues the operator's valid and expired server certificates and the
application mailbox's client certificate; a second, untrusted CA issues an otherwise valid server certificate.
Files live in a private temporary folder removed by `cleanup()`; nothing is committed.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTS = ("127.0.0.1", "localhost", "127.0.0.2")  # 127.0.0.2: the IMAP server (see transport.imap)


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hopen-conformance MSSante test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca(common_name: str, now: datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _rsa()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
    subject: str,
    *,
    server: bool,
    not_before: datetime,
    not_after: datetime,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _rsa()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if server:
        names: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address(HOSTS[0])),
            x509.DNSName(HOSTS[1]),
            x509.IPAddress(ipaddress.ip_address(HOSTS[2])),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca[1], hashes.SHA256()), key


@dataclass
class MssPki:
    folder: Path
    ca_cert: Path  # the trusted test CA
    server: tuple[Path, Path]  # (cert, key), valid, for 127.0.0.1 and localhost
    expired: tuple[Path, Path]  # same CA, expired yesterday
    untrusted: tuple[Path, Path]  # valid dates, issued by another CA
    client: tuple[Path, Path]  # the application mailbox's client certificate

    def client_context(self, *, with_client_cert: bool = False) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        if with_client_cert:
            ctx.load_cert_chain(str(self.client[0]), str(self.client[1]))
        return ctx

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write(folder: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey | None = None) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
    return cert_path, key_path


def generate_mss_pki() -> MssPki:
    folder = Path(tempfile.mkdtemp(prefix="hopen-mss-tls-"))
    folder.chmod(0o700)
    now = datetime.now(UTC)
    trusted = _ca("hopen-conformance test CA (IGC Sante stand-in)", now)
    other = _ca("hopen-conformance untrusted CA", now)
    valid = {"not_before": now - timedelta(minutes=5), "not_after": now + timedelta(days=1)}
    expired = {"not_before": now - timedelta(days=10), "not_after": now - timedelta(days=1)}
    ca_cert, _ = _write(folder, "ca", trusted[0])
    return MssPki(
        folder=folder,
        ca_cert=ca_cert,
        server=_write(folder, "server", *_leaf(trusted, HOSTS[0], server=True, **valid)),
        expired=_write(folder, "expired", *_leaf(trusted, HOSTS[0], server=True, **expired)),
        untrusted=_write(folder, "untrusted", *_leaf(other, HOSTS[0], server=True, **valid)),
        client=_write(folder, "client", *_leaf(trusted, "bal-app.hopital.mssante.test", server=False, **valid)),
    )
