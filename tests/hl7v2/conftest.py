"""Fixtures for the HL7 v2 tests: sample messages from ../shared, a PAM FR ADT builder, throwaway TLS certificates."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest


def _segment(name: str, fields: dict[int, str]) -> str:
    values = [""] * max(fields)
    for number, value in fields.items():
        values[number - 1] = value
    return "|".join([name, *values]) + "\r"


ADT_A01 = (
    "MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20240306111154||ADT^A01^ADT_A01|3975|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||"
    "2.11^IHE_FRANCE-2.11-PAM\r"
    "EVN||20240306111154||||20240306110000\r"
    "PID|1||000003^^^CHU-X&000897406&N^PI~279035121518989^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||"
    "PAT-TROIS^DOMINIQUE^DOMINIQUE^^^^L||19790328|F|||28 Av de Breteuil^^PARIS^^75007^FRA^H~^^^^^^BDL^^51215|||||S||"
    "24000006^^^CHU-X&000897406&M^AN||||||||||||N||VALI|20240306111153\r"
    "PD1||U||||||||||N\r"
    "ROL||UC|ODRP|10000023084^AGNES^Isabelle^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS\r"
    + _segment(
        "PV1",
        {
            1: "1",
            2: "I",
            3: "6268^201^1^CHU-X&000897406&M^O",
            4: "R",
            19: "000897406^^^CHU-X&000897406&M^VN",
            44: "20240306110000",
            51: "V",
        },
    )
    + "PV2|||||||CS|20240306100000|20240310080000\r"
    "ZBE|312^CHU-X^000897406|20240306110000||INSERT|N||Chir V^^^^^CHU-X&000897406&N^UF^^^6268|"
    "Chir V^^^^^CHU-X&000897406&N^UF^^^6268|HMS\r"
    "ZFA|ACTIF|20240306111154|||||||INO|20240306111154|IC|20240306111154\r"
    "ZFP|5|52\r"
    "ZFV|||||||||||MED\r"
    "ZFM|8\r"
    "ZFD|||Y|N|INSI|20211201\r"
)


@pytest.fixture
def adt_a01() -> str:
    """A PAM FR 2.11 ADT^A01 that conforms (derived from the ANS sample, with its defects fixed)."""
    return ADT_A01


def sample_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and (path.suffix in (".er7", ".hl7") or path.name.startswith("Message metier"))
    )


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def write(name: str, cert, private_key) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path

    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hl7v2 test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common_name: str, usage, san=None):
        leaf_key = key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        return builder.sign(ca_key, hashes.SHA256()), leaf_key

    server_san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    server_cert, server_key = leaf("localhost", ExtendedKeyUsageOID.SERVER_AUTH, server_san)
    client_cert, client_key = leaf("hl7v2 test client", ExtendedKeyUsageOID.CLIENT_AUTH)
    ca_path, _ = write("ca", ca, ca_key)
    server_path, server_key_path = write("server", server_cert, server_key)
    client_path, client_key_path = write("client", client_cert, client_key)
    return {
        "ca": ca_path,
        "server": server_path,
        "server_key": server_key_path,
        "client": client_path,
        "client_key": client_key_path,
    }


def with_value(message: str, where: str, value: str) -> str:
    """A copy of `message` with the value at `where` (e.g. `PID-3[2].4.2`, `ZBE-4`) replaced."""
    from conformance.validation.hl7v2.er7 import parse_location

    loc = parse_location(where)
    segments = message.rstrip("\r").split("\r")
    seen = 0
    for index, raw in enumerate(segments):
        if not raw.startswith(loc.segment):
            continue
        seen += 1
        if seen != loc.occurrence:
            continue
        fields = raw.split("|")
        number = loc.field - 1 if loc.segment == "MSH" else loc.field
        fields += [""] * (number + 1 - len(fields))
        reps = fields[number].split("~")
        reps += [""] * (loc.repetition - len(reps))
        if loc.component is None:
            reps[loc.repetition - 1] = value
        else:
            comps = reps[loc.repetition - 1].split("^")
            comps += [""] * (loc.component - len(comps))
            if loc.subcomponent is None:
                comps[loc.component - 1] = value
            else:
                subs = comps[loc.component - 1].split("&")
                subs += [""] * (loc.subcomponent - len(subs))
                subs[loc.subcomponent - 1] = value
                comps[loc.component - 1] = "&".join(subs)
            reps[loc.repetition - 1] = "^".join(comps)
        fields[number] = "~".join(reps)
        segments[index] = "|".join(fields)
        return "\r".join(segments) + "\r"
    raise AssertionError(f"{where} not found in the message")


def without_segment(message: str, name: str) -> str:
    return "".join(f"{raw}\r" for raw in message.rstrip("\r").split("\r") if not raw.startswith(name))


def with_segment(message: str, after: str, segment: str) -> str:
    """Insert `segment` after the first segment named `after`."""
    result = []
    inserted = False
    for raw in message.rstrip("\r").split("\r"):
        result.append(raw)
        if not inserted and raw.startswith(after):
            result.append(segment)
            inserted = True
    return "\r".join(result) + "\r"
