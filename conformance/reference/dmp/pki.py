"""Throwaway certificates for the DMP exchanges (never committed): a test CA in place of the IGC Santé, the
listener's server certificate, the structure's mutual-TLS certificate (ORG_AUTH_CLI) and its VIHF signing
certificate (ORG_SIGN), both naming the structure in OU, and a client certificate of another structure.
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


@dataclass
class DmpPki:
    folder: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path  # the structure's TLS client certificate
    client_key: Path
    signing_cert: Path  # the structure's VIHF signing certificate
    signing_key: Path
    other_cert: Path  # another structure's TLS client certificate (same CA)
    other_key: Path

    def server_context(self, *, require_client_cert: bool = True) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        context.load_verify_locations(self.ca_cert)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        return context

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organisation: str, unit: str = "") -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _issue(ca_key, ca_name, subject: x509.Name, usage, hosts=(), days: int = 1):
    key = _rsa()
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def generate_dmp_pki(structure_id: str, structure_name: str, host: str = "127.0.0.1") -> DmpPki:
    folder = Path(tempfile.mkdtemp(prefix="hopen-dmp-tls-"))
    folder.chmod(0o700)
    ca_key = _rsa()
    ca_name = _name("hopen-conformance AC de test (en lieu et place de l'IGC Santé)", "hopen-conformance test")
    now = datetime.now(UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = _issue(
        ca_key, ca_name, _name(host, "hopen-conformance test"), ExtendedKeyUsageOID.SERVER_AUTH, (host, "localhost")
    )
    client = _issue(
        ca_key,
        ca_name,
        _name(f"{structure_id} ORG_AUTH_CLI", structure_name, structure_id),
        ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    signing = _issue(ca_key, ca_name, _name(f"{structure_id} ORG_SIGN", structure_name, structure_id), None)
    other = _issue(
        ca_key,
        ca_name,
        _name("1999999999 ORG_AUTH_CLI", "Autre structure", "1999999999"),
        ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    files: dict[str, bytes] = {"ca.pem": ca.public_bytes(serialization.Encoding.PEM)}
    for stem, (cert, key) in {"server": server, "client": client, "signing": signing, "other": other}.items():
        files[f"{stem}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        files[f"{stem}-key.pem"] = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o600)
    return DmpPki(
        folder,
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server-key.pem",
        folder / "client.pem",
        folder / "client-key.pem",
        folder / "signing.pem",
        folder / "signing-key.pem",
        folder / "other.pem",
        folder / "other-key.pem",
    )
