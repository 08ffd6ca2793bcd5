"""Questionnaire rules the reference validator applies beyond the R4 text: que-12 as corrected after R4 (SHALL:
more than one enableWhen needs enableBehavior), enableWhenExpression (SHALL: an answered item must be enabled),
and a canonical naming a resource of the wrong type (SHOULD: a warning, as the reference validator's
default reference policy does not check it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_helpers import rules, validate_with

URL = "http://example.org/fhir/Questionnaire/q-expr"
SDC_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"


def _item(link: str, **extra: Any) -> dict[str, Any]:
    return {"linkId": link, "text": link, "type": "boolean", **extra}


def test_two_enable_when_need_enable_behavior(tmp_path: Path) -> None:
    conditions = [{"question": q, "operator": "exists", "answerBoolean": True} for q in ("a", "b")]
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [_item("a"), _item("b"), _item("c", enableWhen=conditions)],
    }
    assert rules(validate_with(tmp_path, questionnaire)) == {"que-12"}
    questionnaire["item"][2]["enableBehavior"] = "any"
    assert not rules(validate_with(tmp_path, questionnaire))


def _expression_questionnaire() -> dict[str, Any]:
    expression = {
        "language": "text/fhirpath",
        "expression": "%resource.item.where(linkId='condition').answer.value = true",
    }
    return {
        "resourceType": "Questionnaire",
        "url": URL,
        "status": "active",
        "item": [
            _item("condition"),
            _item("detail", extension=[{"url": SDC_EXPRESSION, "valueExpression": expression}]),
        ],
    }


def _response(condition: bool) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": URL,
        "status": "completed",
        "item": [
            {"linkId": "condition", "text": "condition", "answer": [{"valueBoolean": condition}]},
            {"linkId": "detail", "text": "detail", "answer": [{"valueBoolean": True}]},
        ],
    }


def test_enable_when_expression_decides_whether_an_item_may_be_answered(tmp_path: Path) -> None:
    questionnaire = _expression_questionnaire()
    assert rules(validate_with(tmp_path, _response(False), [questionnaire])) == {"Questionnaire_QR_Item_NotEnabled2"}
    assert not rules(validate_with(tmp_path, _response(True), [questionnaire]))


def test_canonical_of_the_wrong_type(tmp_path: Path) -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://hl7.org/fhir/ValueSet/administrative-gender",
        "status": "completed",
    }
    found = validate_with(tmp_path, response)
    assert [f.severity.value for f in found if f.rule == "Reference_REF_Canonical_WrongType"] == ["warning"]
    response["questionnaire"] = "http://example.org/fhir/Questionnaire/unknown"
    assert "Reference_REF_Canonical_WrongType" not in {f.rule for f in validate_with(tmp_path, response)}
