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
