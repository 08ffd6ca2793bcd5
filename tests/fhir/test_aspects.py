"""One hand-made defect per aspect: each must be reported with the right severity, code, rule and location."""

from __future__ import annotations

import copy
from typing import Any

import pytest


def find(outcome: Any, rule: str) -> list[Any]:
    return [f for f in outcome.findings if f.rule == rule]


def rules(outcome: Any, severity: str | None = None) -> set[str]:
    return {f.rule for f in outcome.findings if severity is None or f.severity.value == severity}


DIV = '<div xmlns="http://www.w3.org/1999/xhtml">Anne Durand</div>'
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "text": {"status": "generated", "div": DIV},
    "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.7", "value": "123"}],
    "name": [{"family": "Durand", "given": ["Anne"]}],
    "gender": "female",
    "birthDate": "1980-02-29",
}
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "text": {"status": "generated", "div": DIV},
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "subject": {"reference": "Patient/p1"},
    "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
}


def patient(**changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(PATIENT)
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def observation(**changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(OBSERVATION)
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def single(outcome: Any, rule: str) -> Any:
    matches = find(outcome, rule)
    assert matches, f"{rule} not reported; got {[(f.rule, f.location) for f in outcome.findings]}"
    return matches[0]


def test_valid_baselines_have_no_error(validator: Any) -> None:
    for resource in (PATIENT, OBSERVATION):
        outcome = validator.validate(resource)
        assert outcome.is_valid, [f.render("en") for f in outcome.errors]


# ---- structure -------------------------------------------------------------------------------------------

STRUCTURE_CASES = [
    ("unknown element", patient(foo=1), "Unrecognised_property_", "Patient"),
    ("string expected", patient(gender=1), "This_property_must_be__not_", "Patient.gender"),
    ("array where single", patient(gender=["female"]), "This_property_must_be_an_simple_value_not_", "Patient.gender"),
    ("single where array", patient(name={"family": "Durand"}), "This_property_must_be_an_Array_not_", "Patient.name"),
    ("wrong choice type", patient(deceasedString="yes"), "Unrecognised_property_", "Patient"),
    ("empty object", patient(maritalStatus={}), "Object_must_have_some_content", "Patient.maritalStatus"),
    ("empty array", patient(name=[]), "Array_cannot_be_empty", "Patient.name"),
    ("empty string", patient(birthDate=""), "Type_Specific_Checks_DT_Primitive_NotEmpty", "Patient.birthDate"),
    ("empty primitive extension", patient(_gender={}), "Object_must_have_some_content", "Patient.gender"),
    ("unknown primitive extension", patient(_foo={"extension": []}), "Unrecognised_property_", "Patient"),
    (
        "object where primitive",
        patient(birthDate={"value": "1980"}),
        "This_property_must_be_an_simple_value_not_",
        "Patient.birthDate",
    ),
]


@pytest.mark.parametrize(
    ("label", "resource", "rule", "location"), STRUCTURE_CASES, ids=[c[0] for c in STRUCTURE_CASES]
)
def test_structure_defects(validator: Any, label: str, resource: dict[str, Any], rule: str, location: str) -> None:
    outcome = validator.validate(resource, lang="en")
    issue = single(outcome, rule)
    assert issue.severity.value == "error"
    assert issue.code in ("structure", "invalid")
    assert issue.location == location
    assert issue.message_fr and issue.message_en and issue.message_fr != issue.message_en


def test_resource_type_missing_and_unknown(validator: Any) -> None:
    missing = patient(resourceType=None)
    assert single(validator.validate(missing), "Unable_to_find_resourceType_property").severity.value == "error"
    unknown = patient(resourceType="Patiente")
    assert single(validator.validate(unknown), "This_does_not_appear_to_be_a_FHIR_resource_unknown_name_")


def test_choice_type_and_primitive_extension_are_accepted(validator: Any) -> None:
    ext = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                "valueDateTime": "1980-02-29T10:00:00+01:00",
            }
        ]
    }
    resource = patient(deceasedBoolean=False, _birthDate=ext)
    assert validator.validate(resource).is_valid
    only_extension = patient(birthDate=None, _birthDate=ext)
    assert validator.validate(only_extension).is_valid


def test_repeating_primitive_with_parallel_extension_array(validator: Any) -> None:
    name = {
        "family": "Durand",
        "given": ["Anne", None],
        "_given": [
            None,
            {
                "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier", "valueCode": "CL"}
                ]
            },
        ],
    }
    assert validator.validate(patient(name=[name])).is_valid
    broken = {"family": "Durand", "given": ["Anne", None]}
    outcome = validator.validate(patient(name=[broken]))
    assert single(outcome, "Type_Specific_Checks_DT_Primitive_ValueExt").location == "Patient.name[0].given[1]"


def test_contained_resources(validator: Any) -> None:
    practitioner = {"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Martin"}]}
    referenced = patient(contained=[practitioner], generalPractitioner=[{"reference": "#pr1"}])
    assert validator.validate(referenced).is_valid
    orphan = validator.validate(patient(contained=[practitioner]))
    assert single(orphan, "dom-3").severity.value == "error"
    nested = dict(practitioner, contained=[{"resourceType": "Organization", "id": "o1", "name": "X"}])
    outcome = validator.validate(patient(contained=[nested], generalPractitioner=[{"reference": "#pr1"}]))
    assert "dom-2" in rules(outcome, "error")
    bad_inner = dict(practitioner, gender="robot")
    outcome = validator.validate(patient(contained=[bad_inner], generalPractitioner=[{"reference": "#pr1"}]))
    assert single(outcome, "Terminology_TX_NoValid_16").location == "Patient.contained[0].gender"


# ---- primitives ------------------------------------------------------------------------------------------

PRIMITIVE_CASES = [
    ("date month", patient(birthDate="1980-13-01"), "Type_Specific_Checks_DT_Date_Valid", "Patient.birthDate"),
    ("date calendar", patient(birthDate="1981-02-29"), "Type_Specific_Checks_DT_Date_Valid", "Patient.birthDate"),
    (
        "dateTime timezone",
        patient(deceasedDateTime="2020-01-01T10:00:00"),
        "Type_Specific_Checks_DT_DateTime_TZ",
        "Patient.deceased.ofType(dateTime)",
    ),
    ("id", patient(id="bad id!"), "Resource_RES_ID_Malformed", "Patient.id"),
    (
        "uri whitespace",
        patient(identifier=[{"system": "urn:oid:1 2", "value": "1"}]),
        "Type_Specific_Checks_DT_URI_WS",
        "Patient.identifier[0].system",
    ),
    (
        "integer",
        patient(multipleBirthInteger=1.5),
        "Type_Specific_Checks_DT_Integer_Valid",
        "Patient.multipleBirth.ofType(integer)",
    ),
    ("boolean", patient(active="true"), "This_property_must_be__not_", "Patient.active"),
    ("code whitespace", patient(gender="fe  male"), "Type_Specific_Checks_DT_Code_WS", "Patient.gender"),
    (
        "base64",
        patient(photo=[{"contentType": "image/png", "data": "not base64!"}]),
        "Type_Specific_Checks_DT_Base64_Valid",
        "Patient.photo[0].data",
    ),
]


@pytest.mark.parametrize(
    ("label", "resource", "rule", "location"), PRIMITIVE_CASES, ids=[c[0] for c in PRIMITIVE_CASES]
)
def test_primitive_defects(validator: Any, label: str, resource: dict[str, Any], rule: str, location: str) -> None:
    issue = single(validator.validate(resource), rule)
    assert issue.severity.value == "error"
    assert issue.location == location


def test_primitive_ranges(validator: Any) -> None:
    attachment = patient(photo=[{"contentType": "image/png", "size": -5}])
    assert (
        single(validator.validate(attachment), "Type_Specific_Checks_DT_Integer_LT0").location
        == "Patient.photo[0].size"
    )
    positive = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "text": {"status": "generated", "div": DIV},
        "medicationCodeableConcept": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
        "dosageInstruction": [{"timing": {"repeat": {"count": 0}}}],
    }
    issue = single(validator.validate(positive), "Type_Specific_Checks_DT_Integer_LT1")
    assert issue.location == "MedicationRequest.dosageInstruction[0].timing.repeat.count"


# ---- cardinality -----------------------------------------------------------------------------------------


def test_cardinality_minimum_and_maximum(validator: Any) -> None:
    outcome = validator.validate(observation(status=None), lang="en")
    issue = single(outcome, "Validation_VAL_Profile_Minimum")
    assert (issue.severity.value, issue.code, issue.location) == ("error", "structure", "Observation")
    assert "Observation.status" in issue.message_en
    outcome = validator.validate(patient(deceasedBoolean=True, deceasedDateTime="2020-01-01"))
    issue = single(outcome, "Validation_VAL_Profile_Maximum")
    assert issue.location == "Patient"


# ---- invariants ------------------------------------------------------------------------------------------


def test_invariants(validator: Any) -> None:
    outcome = validator.validate(patient(contact=[{"gender": "male"}]))
    issue = single(outcome, "pat-1")
    assert (issue.severity.value, issue.code, issue.location) == ("error", "invariant", "Patient.contact[0]")
    period = {"start": "2020-02-01", "end": "2020-01-01"}
    issue = single(
        validator.validate(patient(identifier=[{"system": "urn:oid:1.2", "value": "1", "period": period}])), "per-1"
    )
    assert issue.location == "Patient.identifier[0].period"
    ext = {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        "valueDateTime": "1980-02-29T10:00:00+01:00",
        "extension": [{"url": "x", "valueString": "y"}],
    }
    assert "ext-1" in rules(validator.validate(patient(extension=[ext])), "error")
    no_text = patient(text=None)
    issue = single(validator.validate(no_text), "dom-6")
    assert issue.severity.value == "warning"


# ---- references and bundles ------------------------------------------------------------------------------


def test_reference_target_type_and_format(validator: Any) -> None:
    outcome = validator.validate(observation(subject={"reference": "Medication/m1"}), lang="en")
    issue = single(outcome, "Reference_REF_BadTargetType")
    assert (issue.severity.value, issue.location) == ("error", "Observation.subject.reference")
    outcome = validator.validate(observation(subject={"reference": "not a reference"}))
    issue = single(outcome, "Reference_REF_Suspicious")  # outside a Bundle the reference validator only warns
    assert (issue.severity.value, issue.location) == ("warning", "Observation.subject")
    outcome = validator.validate(observation(subject={"reference": "#nowhere"}))
    assert single(outcome, "Reference_REF_CantResolve").severity.value == "error"
    assert validator.validate(observation(subject={"reference": "https://example.org/fhir/Patient/p1"})).is_valid
    outcome = validator.validate(observation(subject={"reference": "Patient/p1", "type": "Group"}))
    assert single(outcome, "Reference_REF_TypeMismatch").location == "Observation.subject"


def _bundle(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "id": "b", "type": kind, "entry": entries}


def test_bundle_resolution_and_rules(validator: Any) -> None:
    pat = patient()
    obs = observation(subject={"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"})
    good = _bundle(
        "collection",
        [
            {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": pat},
            {"fullUrl": "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059", "resource": obs},
        ],
    )
    assert validator.validate(good).is_valid, [f.render("en") for f in validator.validate(good).errors]
    dangling = copy.deepcopy(good)
    dangling["entry"][1]["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    issue = single(validator.validate(dangling), "Bundle_BUNDLE_Not_Local")
    assert (issue.severity.value, issue.location) == ("warning", "Bundle.entry[1].resource.subject.reference")
    document = copy.deepcopy(dangling)
    document["type"] = "document"
    assert "Bundle_BUNDLE_Entry_NotFound" in rules(validator.validate(document), "error")
    wrong_type = copy.deepcopy(good)
    wrong_type["entry"][0]["resource"] = {
        "resourceType": "Medication",
        "id": "m",
        "text": {"status": "generated", "div": DIV},
    }
    assert single(validator.validate(wrong_type), "Reference_REF_BadTargetType")
    mismatch = _bundle("collection", [{"fullUrl": "http://example.org/fhir/Patient/other", "resource": pat}])
    issue = single(validator.validate(mismatch), "BUNDLE_ENTRY_URL_MATCHES_TYPE_ID")
    assert (issue.severity.value, issue.location) == ("error", "Bundle.entry[0]")
    transaction = _bundle(
        "transaction", [{"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": pat}]
    )
    assert "bdl-3" in rules(validator.validate(transaction), "error")


# ---- profiles --------------------------------------------------------------------------------------------


def test_unknown_profiles(validator: Any) -> None:
    url = "https://example.org/StructureDefinition/nowhere"
    outcome = validator.validate(PATIENT, profiles=[url], lang="en")
    issue = single(outcome, "Validation_VAL_Unknown_Profile")
    assert issue.severity.value == "error" and url in issue.message_en
    declared = patient(meta={"profile": [url]})
    issue = single(validator.validate(declared), "Validation_VAL_Profile_Unknown")
    assert issue.severity.value == "warning"


def test_profile_of_another_type_is_an_error(validator: Any) -> None:
    outcome = validator.validate(
        OBSERVATION, profiles=["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]
    )
    assert "Validation_VAL_Profile_WrongType" in rules(outcome, "error")


# ---- JSON text and XML -----------------------------------------------------------------------------------


def test_text_inputs(validator: Any) -> None:
    from conformance.validation.fhir import validate

    assert validate(b'{"resourceType": "Patient", "gender": "female"}', context=validator.ctx).is_valid
    broken = validate(b'{"resourceType": "Patient",', context=validator.ctx)
    assert single(broken, "Error_parsing_JSON_").severity.value == "fatal"


XML_PATIENT = """<Patient xmlns="http://hl7.org/fhir">
  <id value="x1"/>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">Anne</div></text>
  <name><family value="Durand"/><given value="Anne"/><given value="Marie"/></name>
  <gender value="female"/>
  <birthDate value="1980-02-29">
    <extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1980-02-29T10:00:00+01:00"/></extension>
  </birthDate>
  <multipleBirthInteger value="2"/>
</Patient>"""


def test_xml_input(validator: Any) -> None:
    from conformance.validation.fhir import validate

    outcome = validate(XML_PATIENT, context=validator.ctx)
    assert outcome.is_valid, [f.render("en") for f in outcome.errors]
    bad = XML_PATIENT.replace('<gender value="female"/>', '<gender value="robot"/><colour value="blue"/>')
    outcome = validate(bad, context=validator.ctx)
    assert single(outcome, "Terminology_TX_NoValid_16").location == "Patient.gender"
    assert single(outcome, "Unrecognised_property_").location == "Patient"
    assert (
        single(
            validate("<Patient xmlns='http://hl7.org/fhir'><id", context=validator.ctx), "Error_parsing_XML_"
        ).severity.value
        == "fatal"
    )


# ---- narrative, JSON syntax, documents -------------------------------------------------------------------

NARRATIVE_CASES = [
    ('<div xmlns="http://www.w3.org/1999/xhtml"><p onClick="x()">a</p></div>', "XHTML_XHTML_Attribute_Illegal"),
    ('<div xmlns="http://www.w3.org/1999/xhtml"><object value="1">a</object></div>', "XHTML_XHTML_Element_Illegal"),
    ('<div xmlns="http://www.w3.org/1999/xhtml"><p>a</pa></div>', "Error_parsing_XHTML_"),
    ('<div xmlns="http://www.w3.org/1999/xhtmlx">a</div>', "XHTML_XHTML_NS_InValid"),
    ('<div xmlns="http://www.w3.org/1999/xhtml">   </div>', "txt-2"),
    (
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><div xmlns="http://www.w3.org/1999/xhtml">&e;</div>',
        "Error_parsing_XHTML_",
    ),
]


@pytest.mark.parametrize(("div", "rule"), NARRATIVE_CASES)
def test_narrative_rules(validator: Any, div: str, rule: str) -> None:
    outcome = validator.validate(patient(text={"status": "generated", "div": div}))
    issue = single(outcome, rule)
    assert issue.severity.value == "error" and issue.location == "Patient.text.div"


def test_duplicate_json_property_is_fatal(validator: Any) -> None:
    outcome = validator.validate(b'{"resourceType": "Patient", "active": true, "active": false}', lang="en")
    issue = single(outcome, "Error_parsing_JSON_")
    assert issue.severity.value == "fatal" and "active" in issue.message_en


def test_document_bundle_references_must_resolve(validator: Any) -> None:
    composition = {
        "resourceType": "Composition",
        "id": "c",
        "text": {"status": "generated", "div": DIV},
        "status": "final",
        "type": {"text": "note"},
        "date": "2020-01-01",
        "title": "t",
        "author": [{"reference": "Practitioner/missing"}],
        "subject": {"reference": "Patient/p1"},
    }
    bundle = {
        "resourceType": "Bundle",
        "id": "d",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
        "type": "document",
        "timestamp": "2020-01-01T00:00:00Z",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Composition/c", "resource": composition},
            {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient()},
        ],
    }
    outcome = validator.validate(bundle)
    issue = single(outcome, "Bundle_BUNDLE_Entry_NotFound")
    assert issue.location == "Bundle.entry[0].resource.author[0].reference"
    assert not [f for f in outcome.errors if "subject" in f.location]


def test_xml_primitive_lexical_forms(validator: Any) -> None:
    from conformance.validation.fhir import validate

    def parameters(value: str) -> str:
        return f'<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="p"/>{value}</parameter></Parameters>'

    assert validate(parameters('<valueDecimal value="-0.5e3"/>'), context=validator.ctx).is_valid
    assert validate(parameters('<valueBoolean value="true"/>'), context=validator.ctx).is_valid
    for bad in ('<valueDecimal value="00.1"/>', '<valueInteger value="1e4"/>', '<valueBoolean value="TRUE"/>'):
        outcome = validate(parameters(bad), context=validator.ctx)
        assert not outcome.is_valid, bad
        assert all(f.location.startswith("Parameters.parameter[0].value.ofType(") for f in outcome.errors)


XML_RULE_CASES = [
    (
        '<List xmlns="http://hl7.org/fhir"><mode value="working"/><status value="current"/></List>',
        "Validation_VAL_Profile_OutOfOrder",
        "/f:List/f:status",
    ),
    (
        '<List xmlns="http://hl7.org/fhir"><id xmlns="urn:other" value="a"/><status value="current"/><mode value="working"/></List>',
        "Wrong_namespace__expected_",
        "/f:List/?:id",
    ),
    (
        '<List xmlns="http://hl7.org/fhir"><id value="a">text</id><status value="current"/><mode value="working"/></List>',
        "Text_should_not_be_present",
        "/f:List/f:id",
    ),
]


@pytest.mark.parametrize(("xml", "rule", "location"), XML_RULE_CASES)
def test_xml_only_rules(validator: Any, xml: str, rule: str, location: str) -> None:
    from conformance.validation.fhir import validate

    outcome = validate(xml, context=validator.ctx)
    issue = single(outcome, rule)
    assert issue.severity.value == "error" and issue.location == location
    good = '<List xmlns="http://hl7.org/fhir"><id value="a"/><status value="current"/><mode value="working"/></List>'
    assert validate(good, context=validator.ctx).is_valid


def test_xml_doctype_is_fatal(validator: Any) -> None:
    from conformance.validation.fhir import validate

    xml = '<!DOCTYPE List [<!ENTITY x "y">]><List xmlns="http://hl7.org/fhir"><status value="current"/><mode value="working"/></List>'
    assert single(validate(xml, context=validator.ctx), "Error_parsing_XML_").severity.value == "fatal"


def test_attachment_size_and_snomed_edition_uri(validator: Any) -> None:
    good = patient(photo=[{"contentType": "text/plain", "data": "aGVsbG8=", "size": 5}])
    assert validator.validate(good).is_valid
    wrong = patient(photo=[{"contentType": "text/plain", "data": "aGVsbG8=", "size": 100}])
    assert single(validator.validate(wrong), "TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT").location == "Patient.photo[0]"
    edition = patient(
        maritalStatus={
            "coding": [{"system": "http://snomed.info/sct/900000000000207008/version/20190731", "code": "1"}]
        }
    )
    issue = single(validator.validate(edition), "Terminology_TX_System_Invalid")
    assert (issue.severity.value, issue.location) == ("error", "Patient.maritalStatus.coding[0]")


def test_plain_strings_present_empty_or_missing(validator: Any) -> None:
    """A plain string (string, markdown) counts as present for its element's minimum, and only an empty one is
    reported: the walk says nothing else about it."""
    item = {"linkId": "1", "text": "Question", "type": "string"}
    questionnaire = {"resourceType": "Questionnaire", "status": "draft", "item": [item]}
    assert validator.validate(questionnaire).is_valid
    empty = validator.validate({**questionnaire, "item": [{**item, "text": ""}]}, lang="en")
    assert [(f.rule, f.location) for f in empty.errors] == [
        ("Type_Specific_Checks_DT_Primitive_NotEmpty", "Questionnaire.item[0].text")
    ]
    missing = validator.validate({**questionnaire, "item": [{"text": "Question", "type": "string"}]}, lang="en")
    assert "Validation_VAL_Profile_Minimum" in {f.rule for f in missing.errors}


@pytest.mark.parametrize(
    ("size", "rule"),
    [
        (-1, "Type_Specific_Checks_DT_Integer_LT0"),
        (2**31, "Type_Specific_Checks_DT_Integer_GT"),
        (1.5, "Type_Specific_Checks_DT_Integer_Valid"),
        (True, "This_property_must_be__not_"),
        ("5", "This_property_must_be__not_"),
    ],
)
def test_a_number_is_judged_after_valid_ones_of_the_same_shape(validator: Any, size: Any, rule: str) -> None:
    """An object whose members the walk has already found nothing to say of (a valid size, in range) is not
    waved through for its shape: the next one's size out of range or of another JSON kind is reported."""
    for valid in (0, 2**31 - 1, 7.0):
        assert validator.validate(patient(photo=[{"contentType": "text/plain", "size": valid}])).is_valid
    outcome = validator.validate(patient(photo=[{"contentType": "text/plain", "size": size}]))
    assert single(outcome, rule).location == "Patient.photo[0].size"


def test_a_decimal_is_judged_after_valid_ones_of_the_same_shape(validator: Any) -> None:
    for value in (72, 72.5, 10**30):
        assert validator.validate(observation(valueQuantity={"value": value, "unit": "/min"})).is_valid
    for value, rule in ((True, "This_property_must_be__not_"), ("72", "This_property_must_be__not_")):
        outcome = validator.validate(observation(valueQuantity={"value": value, "unit": "/min"}))
        assert single(outcome, rule).location == "Observation.value.ofType(Quantity).value"
