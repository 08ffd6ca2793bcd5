"""Pseudonymisation of patient data in FHIR JSON/XML, HL7 v2 PID and CDA recordTarget, consistent in a run."""

from __future__ import annotations

import html
import json

import pytest
from support.sample import PATIENT, adt_message, patient_resource

from conformance.evidence.pseudonymize import Pseudonymizer

CDA = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole>
<id root="1.2.250.1.213.1.4.10" extension="2870675123456"/>
<patient><name><given>Clothilde</given><family qualifier="BR">DESMAREAUX</family></name>
<birthTime value="19870614"/></patient></patientRole></recordTarget>
<component><text>Patiente Clothilde DESMAREAUX, née le 14/06/1987</text></component></ClinicalDocument>"""

FHIR_XML = """<Patient xmlns="http://hl7.org/fhir"><identifier><value value="2870675123456"/></identifier>
<name><family value="DESMAREAUX"/><given value="Clothilde"/></name><birthDate value="1987-06-14"/></Patient>"""


def _absent(text: str) -> None:
    for value in (PATIENT.family, PATIENT.given, PATIENT.birth_date, PATIENT.hl7_birth, PATIENT.ins, "14/06/1987"):
        assert value.lower() not in text.lower(), value


def test_fhir_json_patient_is_pseudonymised() -> None:
    pseudonymizer = Pseudonymizer()
    body = json.dumps(patient_resource())
    pseudonymizer.learn(body)
    out = pseudonymizer.apply(body)
    _absent(out)
    assert json.loads(out)["resourceType"] == "Patient"  # still valid JSON


def test_hl7v2_pid_is_pseudonymised_and_structure_kept() -> None:
    pseudonymizer = Pseudonymizer()
    message = adt_message()
    pseudonymizer.learn(message)
    out = pseudonymizer.apply(message)
    _absent(out)
    assert out.count("\r") == message.count("\r") and out.split("\r")[2].count("|") == message.split("\r")[2].count("|")


def test_cda_record_target_and_fhir_xml_are_pseudonymised() -> None:
    for document in (CDA, FHIR_XML):
        pseudonymizer = Pseudonymizer()
        pseudonymizer.learn(document)
        _absent(pseudonymizer.apply(document))


def test_same_input_same_pseudonym_within_a_run_and_learned_values_apply_everywhere() -> None:
    pseudonymizer = Pseudonymizer()
    pseudonymizer.learn(json.dumps(patient_resource()))
    first = pseudonymizer.apply(f"GET /Patient?family={PATIENT.family}")
    second = pseudonymizer.apply(f"MSH...PID|||x||{PATIENT.family.lower()}^y")
    pseudonym = first.rsplit("=", 1)[1]
    assert pseudonym != PATIENT.family and pseudonym in second
    other_run = Pseudonymizer()
    other_run.learn(json.dumps(patient_resource()))
    assert pseudonym not in other_run.apply(PATIENT.family)


def test_url_search_parameters_teach_the_pseudonymiser() -> None:
    pseudonymizer = Pseudonymizer()
    pseudonymizer.learn_from_url(
        "http://h/Patient?family=Zorglub&birthdate=eq1950-02-03&identifier=urn:oid:1.2.250.1.213.1.4.10|1500299123456"
    )
    _out = pseudonymizer.apply("Zorglub 1950-02-03 1500299123456 19500203")
    for value in ("Zorglub", "1950-02-03", "1500299123456", "19500203"):
        assert value not in _out


def test_garbage_never_raises() -> None:
    pseudonymizer = Pseudonymizer()
    for body in (b"{not json", b"<unclosed", b"MSH|", b"\x00\xff\xfe", b"MSH|^~\\&|\rPID|||"):
        pseudonymizer.learn(body)
        pseudonymizer.apply_bytes(body)


def test_documents_embedded_in_base64_are_pseudonymised_and_reencoded() -> None:
    import base64

    encoded = base64.b64encode(CDA.encode()).decode()
    binary = json.dumps({"resourceType": "Binary", "contentType": "text/xml", "data": encoded})
    mdm = f"MSH|^~\\&|A|B|C|D|20260101||MDM^T02|1|P|2.5\rOBX|1|ED|11488-4^CR^LN||^text^XML^Base64^{encoded}||||||F\r"
    for body in (binary, mdm):
        pseudonymizer = Pseudonymizer()
        pseudonymizer.learn(body)
        out = pseudonymizer.apply(body)
        _absent(out)
        run = out.split("Base64^")[1].split("|")[0] if body is mdm else json.loads(out)["data"]
        _absent(base64.b64decode(run).decode())
        assert base64.b64decode(run).decode().startswith("<?xml")


def test_url_encoded_values_are_pseudonymised() -> None:
    pseudonymizer = Pseudonymizer()
    pseudonymizer.learn_identity(family="Hélène-Martin", given=["Zoé"], identifiers=["287067512345642"])
    url = "http://h/Patient?identifier=urn%3Aoid%3A1.2.250.1.213.1.4.10%7C287067512345642&family=H%C3%A9l%C3%A8ne-Martin&given=Zo%C3%A9"
    out = pseudonymizer.apply(url)
    for value in ("287067512345642", "H%C3%A9l%C3%A8ne", "Zo%C3%A9"):
        assert value not in out


def test_composed_names_do_not_garble_ordinary_words() -> None:
    pseudonymizer = Pseudonymizer()
    pseudonymizer.learn_identity(family="DE LA TOURELLE", given=["Marie Anne"])
    out = pseudonymizer.apply("Envoi de la lettre de Marie Anne DE LA TOURELLE ; Mme TOURELLE")
    assert out.startswith("Envoi de la lettre de ")
    assert "TOURELLE" not in out and "Marie Anne" not in out


def _hostile_patients() -> dict[str, bytes]:
    """Patient bodies a hostile server can send so that no parser reads them (or reads them as another text)."""
    patient = json.dumps(patient_resource())
    deep = patient[:-1] + ', "extension": ' + "[" * 100_000 + "]" * 100_000 + "}"
    escaped = patient.replace(
        PATIENT.family, PATIENT.family[:3] + "\\u" + f"{ord(PATIENT.family[3]):04x}" + PATIENT.family[4:]
    )
    xml_deep = FHIR_XML.replace("</Patient>", "<extension>" * 300 + "</extension>" * 300 + "</Patient>")
    referenced = FHIR_XML.replace(
        f'"{PATIENT.family}"', f'"{PATIENT.family[:2]}&#{ord(PATIENT.family[2])};{PATIENT.family[3:]}"'
    )
    return {
        "json-nested-100000-deep": deep.encode(),
        "json-cut-at-the-size-limit": patient[: patient.index("gender")].encode(),
        "json-in-utf-16": patient.encode("utf-16"),
        "json-in-utf-16-be-without-bom": patient.encode("utf-16-be"),
        "json-name-with-a-unicode-escape": escaped.encode(),
        "xml-deeper-than-the-parser": xml_deep.encode(),
        "xml-name-with-a-character-reference": (referenced + f"<p>{PATIENT.family}</p>").encode(),
    }


@pytest.mark.parametrize("kind", sorted(_hostile_patients()))
def test_a_patient_the_parsers_cannot_read_is_still_pseudonymised(kind: str) -> None:
    """SHALL: a body cut, nested past the parser's depth, in UTF-16 or with escaped characters never reaches
    the evidence with the patient's name in clear (and learning from it never raises)."""
    body = _hostile_patients()[kind]
    pseudonymizer = Pseudonymizer()
    pseudonymizer.learn(body)
    out = pseudonymizer.apply_bytes(body)
    text = out.decode(
        "utf-16" if "utf-16" in kind and "be" not in kind else "utf-16-be" if "utf-16" in kind else "utf-8"
    )
    unescaped = html.unescape(text.encode().decode("unicode_escape", "replace")) if "utf-16" not in kind else text
    for value in (PATIENT.family, PATIENT.given):
        assert value.lower() not in text.lower() and value.lower() not in unescaped.lower(), value
