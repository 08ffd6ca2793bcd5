"""QuestionnaireResponse answers judged against the Questionnaire they name (given with --ig)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.validation.fhir.inputs import validate_input
from conformance.validation.options import ValidateOptions

URL = "http://example.org/fhir/Questionnaire/admission"
QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "id": "admission",
    "url": URL,
    "status": "active",
    "item": [
        {"linkId": "name", "text": "Nom", "type": "string", "required": True, "maxLength": 20},
        {
            "linkId": "weight",
            "text": "Poids",
            "type": "decimal",
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueDecimal": 1},
                {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueDecimal": 300},
            ],
        },
        {
            "linkId": "smoker",
            "text": "Fumeur",
            "type": "choice",
            "answerOption": [
                {"valueCoding": {"system": "http://example.org/yn", "code": "y"}},
                {"valueCoding": {"system": "http://example.org/yn", "code": "n"}},
            ],
        },
        {
            "linkId": "packs",
            "text": "Paquets par jour",
            "type": "integer",
            "enableWhen": [
                {
                    "question": "smoker",
                    "operator": "=",
                    "answerCoding": {"system": "http://example.org/yn", "code": "y"},
                }
            ],
        },
    ],
}
RESPONSE: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "id": "r1",
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">r</div>'},
    "questionnaire": URL,
    "status": "completed",
    "item": [
        {"linkId": "name", "text": "Nom", "answer": [{"valueString": "Durand"}]},
        {"linkId": "weight", "text": "Poids", "answer": [{"valueDecimal": 72.5}]},
        {
            "linkId": "smoker",
            "text": "Fumeur",
            "answer": [{"valueCoding": {"system": "http://example.org/yn", "code": "y"}}],
        },
        {"linkId": "packs", "text": "Paquets par jour", "answer": [{"valueInteger": 1}]},
    ],
}


@pytest.fixture(scope="module")
def questionnaire_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("q") / "admission.json"
    path.write_text(json.dumps(QUESTIONNAIRE))
    return path


def _errors(response: dict[str, Any], questionnaire_file: Path) -> set[tuple[str, str]]:
    options = ValidateOptions(lang="en", igs=[str(questionnaire_file)])
    [outcome] = validate_input(json.dumps(response).encode(), name="qr.json", options=options)
    return {(f.rule, f.location) for f in outcome.errors}


def _changed(**items: Any) -> dict[str, Any]:
    response = copy.deepcopy(RESPONSE)
    response["item"] = [items.get(i["linkId"], i) for i in response["item"] if items.get(i["linkId"], i) is not None]
    return response


def test_a_complete_response_is_valid(questionnaire_file: Path) -> None:
    assert _errors(RESPONSE, questionnaire_file) == set()


def test_a_missing_required_answer_and_an_unknown_link_id_are_errors(questionnaire_file: Path) -> None:
    response = _changed(name=None)
    response["item"].append({"linkId": "height", "answer": [{"valueInteger": 180}]})
    assert _errors(response, questionnaire_file) == {
        ("Questionnaire_QR_Item_Missing", "QuestionnaireResponse"),
        ("Questionnaire_QR_Item_NotFound", "QuestionnaireResponse"),
    }


def test_answers_of_the_wrong_type_out_of_bounds_or_not_among_the_options(questionnaire_file: Path) -> None:
    response = _changed(
        name={"linkId": "name", "answer": [{"valueInteger": 3}]},
        weight={"linkId": "weight", "answer": [{"valueDecimal": 500}]},
        smoker={"linkId": "smoker", "answer": [{"valueCoding": {"system": "http://example.org/yn", "code": "x"}}]},
        packs=None,
    )
    assert _errors(response, questionnaire_file) == {
        ("Questionnaire_QR_Item_WrongType", "QuestionnaireResponse.item[0].answer[0].value.ofType(integer)"),
        ("Questionnaire_QR_Item_Decimal_Max", "QuestionnaireResponse.item[1].answer[0].value.ofType(decimal)"),
        ("Questionnaire_QR_Item_NoCoding", "QuestionnaireResponse.item[2].answer[0]"),
    }


def test_an_answer_to_a_question_that_enable_when_disables_is_an_error(questionnaire_file: Path) -> None:
    no = {
        "linkId": "smoker",
        "text": "Fumeur",
        "answer": [{"valueCoding": {"system": "http://example.org/yn", "code": "n"}}],
    }
    assert _errors(_changed(smoker=no), questionnaire_file) == {
        ("Questionnaire_QR_Item_NotEnabled2", "QuestionnaireResponse.item[3]")
    }
    assert _errors(_changed(smoker=no, packs=None), questionnaire_file) == set()


def test_an_unknown_questionnaire_is_a_warning_not_an_error(questionnaire_file: Path) -> None:
    response = copy.deepcopy(RESPONSE)
    response["questionnaire"] = "http://other.org/Questionnaire/unknown"
    options = ValidateOptions(lang="fr", igs=[str(questionnaire_file)])
    [outcome] = validate_input(json.dumps(response).encode(), name="qr.json", options=options)
    assert not outcome.errors
    assert any(f.rule == "Questionnaire_QR_Q_NotFound" and "introuvable" in f.message_fr for f in outcome.findings)
