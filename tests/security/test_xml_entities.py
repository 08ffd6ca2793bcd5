"""XML parsers fed by outside input refuse external entities (XXE) and entity expansion bombs: the FHIR XML
and CDA entries report a finding quickly, and never read a local file into a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.validation import cda, fhir
from conformance.validation.options import ValidateOptions

pytestmark = pytest.mark.timeout(60)
OPTIONS = ValidateOptions(lang="en")
LAUGHS = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lollollol"}">' for i in range(10))


def documents(root: str, namespace: str, canary: Path) -> dict[str, bytes]:
    xxe = f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "file://{canary}">]>'
    bomb = f"<!DOCTYPE {root} [{LAUGHS}]>"
    body = f'<{root} xmlns="{namespace}"><id value="a"/><text>&VALUE;</text></{root}>'
    return {
        "xxe": f'<?xml version="1.0"?>{xxe}{body.replace("VALUE", "x")}'.encode(),
        "billion-laughs": f'<?xml version="1.0"?>{bomb}{body.replace("VALUE", "l9")}'.encode(),
    }


@pytest.mark.parametrize("kind", ["xxe", "billion-laughs"])
@pytest.mark.parametrize(
    ("validator", "root", "namespace"),
    [(fhir, "Patient", "http://hl7.org/fhir"), (cda, "ClinicalDocument", "urn:hl7-org:v3")],
    ids=["fhir-xml", "cda"],
)
def test_entities_refused(tmp_path: Path, validator, root: str, namespace: str, kind: str) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("xxe-canary-6b1f2e")
    data = documents(root, namespace, canary)[kind]
    outcomes = validator.validate_input(data, name="hostile.xml", options=OPTIONS)
    assert outcomes and not all(o.is_valid for o in outcomes)
    text = repr([o.to_dict() for o in outcomes])
    assert "xxe-canary-6b1f2e" not in text and "lollollollollol" not in text


def test_xdm_zip_bomb_is_refused_without_inflating_it() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("IHE_XDM/SUBSET01/METADATA.XML", b"<x/>")
        with archive.open("IHE_XDM/SUBSET01/DOC0001.XML", "w") as member:
            for _ in range(400):
                member.write(bytes(1024 * 1024))  # 400 MB of zeros, ~400 KB compressed
    data = buffer.getvalue()
    assert len(data) < 2 * 1024 * 1024
    outcomes = cda.validate_input(data, name="bomb.zip", options=OPTIONS)
    assert outcomes[0].kind == "xdm" and not outcomes[0].is_valid
    messages = " ".join(f.message_en.lower() for o in outcomes for f in o.findings)
    assert "size" in messages or "large" in messages or "ratio" in messages, messages


@pytest.fixture
def canary_server():
    """A loopback HTTP server counting what XML parsers fetch from it (they must fetch nothing)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fetched: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            fetched.append(self.path)
            body = b'<!ENTITY leak "network-canary-3c9a">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", fetched
    server.shutdown()
    server.server_close()


def _network_documents(root: str, namespace: str, url: str, canary: Path) -> dict[str, str]:
    body = f'<{root} xmlns="{namespace}"><id value="a"/><text>&leak;</text></{root}>'
    return {
        "external-entity": f'<!DOCTYPE {root} [<!ENTITY leak SYSTEM "{url}/entity">]>{body}',
        "parameter-entity": f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{url}/param"> %p;]>{body}',
        "external-dtd": f'<!DOCTYPE {root} SYSTEM "{url}/dtd">{body}',
        "xinclude": f'<{root} xmlns="{namespace}" xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="file://{canary}" parse="text"/><xi:include href="{url}/inc"/></{root}>',
        "stylesheet-and-schema": f'<?xml-stylesheet type="text/xsl" href="{url}/x.xsl"?><{root} xmlns="{namespace}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{namespace} {url}/s.xsd"/>',
    }


@pytest.mark.parametrize(
    "kind", ["external-entity", "parameter-entity", "external-dtd", "xinclude", "stylesheet-and-schema"]
)
@pytest.mark.parametrize("reader", ["fhir-xml", "cda", "soap-envelope", "pseudonymiser"])
def test_xml_readers_fetch_nothing_and_read_no_file(tmp_path: Path, canary_server, kind: str, reader: str) -> None:
    """SHALL: no XML reader fed by the system (validators, the SOAP listener's envelope reader, the evidence
    pseudonymiser) fetches a URL or reads a file the document names: nothing reaches the canary server."""
    from conformance.evidence.pseudonymize import Pseudonymizer
    from conformance.transport.soap import SoapError, parse_envelope

    url, fetched = canary_server
    canary = tmp_path / "canary.txt"
    canary.write_text("xxe-canary-6b1f2e")
    root, namespace = {
        "fhir-xml": ("Patient", "http://hl7.org/fhir"),
        "cda": ("ClinicalDocument", "urn:hl7-org:v3"),
        "soap-envelope": ("Envelope", "http://www.w3.org/2003/05/soap-envelope"),
        "pseudonymiser": ("Patient", "http://hl7.org/fhir"),
    }[reader]
    document = _network_documents(root, namespace, url, canary)[kind]
    if reader == "soap-envelope":
        try:
            text = repr(parse_envelope(document.encode()))
        except SoapError as error:
            text = str(error)
    elif reader == "pseudonymiser":
        pseudonymizer = Pseudonymizer()
        pseudonymizer.learn(document)
        text = pseudonymizer.apply(document)
    else:
        validator = fhir if reader == "fhir-xml" else cda
        text = repr([o.to_dict() for o in validator.validate_input(document.encode(), name="x.xml", options=OPTIONS)])
    assert fetched == []
    assert "xxe-canary-6b1f2e" not in text and "network-canary-3c9a" not in text
