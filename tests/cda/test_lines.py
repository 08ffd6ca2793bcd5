"""Findings of documents and messages validated outside `conformance validate` (a campaign's) carry their
line and column in the bytes judged, as the CLI's do."""

from __future__ import annotations

from conformance.validation.cda import validate_document
from conformance.validation.hl7v2 import validate_message

from .conftest import NS, mutate


def _without_set_id(root) -> None:
    root.remove(root.find("cda:setId", NS))


def test_a_cda_validated_directly_gives_lines_and_columns() -> None:
    data = mutate("CSE-CS24_2024.01.xml", _without_set_id)
    outcome = validate_document(data, name="recu.xml")
    header = next(f for f in outcome.errors if f.rule == "cda-header-setid")
    assert header.line is not None and header.column is not None
    assert data.decode("utf-8").splitlines()[header.line - 1].lstrip().startswith("<ClinicalDocument")
    embedded = validate_document(data, name="x OBX-5.5", source_lines=False)
    assert next(f for f in embedded.errors if f.rule == "cda-header-setid").line is None


def test_an_hl7v2_message_validated_directly_gives_lines_and_columns() -> None:
    message = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|1|P|2.5\rEVN||20240101\rPID|||123^^^X||DOE^JOHN\r"
    outcome = validate_message(message, "pam-fr-2.11", "en")
    located = [f for f in outcome.findings if f.location.startswith("PID")]
    assert located and all(f.line == 3 for f in located), outcome.render("en")
