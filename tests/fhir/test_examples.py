"""The R4 examples (hl7.fhir.r4.examples 4.0.1) against their base definitions.

Every resource is valid (no error) except the ones listed in KNOWN_WRONG, each with the reason it really is wrong; those
must still be reported with the listed rule. A representative subset runs in the normal suite, the whole
corpus (5,305 resources, minutes) under `-m slow`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def rules(outcome: Any, severity: str | None = None) -> set[str]:
    return {f.rule for f in outcome.findings if severity is None or f.severity.value == severity}


SKIP = {"package.json", "ig-r4.json", ".index.json"}
# Three bundles (10bb101f..., 3a0707d3..., lri-example) have entry ids that differ from their fullUrl: a warning
# (Bundle_BUNDLE_Entry_IdUrlMismatch), as the reference validator's own test corpus expects no error for it.
SUBSET_STEP = 13  # ~400 resources
SUBSET_MAX_BYTES = 1_500_000

KNOWN_WRONG: dict[str, tuple[set[str], str]] = {
    "Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json": (
        {"BUNDLE_ENTRY_URL_MATCHES_TYPE_ID"},
        "fullUrl .../Patient/pat12 on the Patient pat2",
    ),
    "Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json": (
        {"BUNDLE_ENTRY_URL_MATCHES_TYPE_ID"},
        "fullUrl .../Patient/pat12 on the Patient pat2",
    ),
    "Bundle-lri-example.json": (
        {"BUNDLE_ENTRY_URL_MATCHES_TYPE_ID"},
        "fullUrls .../Observation/lri-gramstainN on the Observations gramstainN",
    ),
    "CodeSystem-dicom-dcim.json": (
        {"Extension_EXTP_Context_Wrong"},
        "valueset-concept-comments on CodeSystem.concept; its R4 context is ValueSet.compose.include.concept",
    ),
    "Bundle-valuesets.json": (
        {"Extension_EXTP_Context_Wrong"},
        "holds CodeSystem dicom-dcim (valueset-concept-comments on CodeSystem.concept)",
    ),
    "CapabilityStatement-example.json": (
        {"Type_Specific_Checks_DT_UUID_Valid"},
        "url is a urn:uuid in upper case (UUIDs must be lowercase)",
    ),
    "CapabilityStatement-knowledge-repository.json": (
        {"CapabalityStatement_CS_SP_WrongType"},
        "searchParam version typed string; its definitions (Library-version...) are tokens",
    ),
    "CapabilityStatement-measure-processor.json": (
        {"CapabalityStatement_CS_SP_WrongType"},
        "searchParam version typed string; Measure-version is a token",
    ),
    "CapabilityStatement-terminology-server.json": (
        {"CapabalityStatement_CS_SP_WrongType"},
        "searchParam types differ from ValueSet-reference (uri) and ConceptMap-source/target (reference)",
    ),
    "MeasureReport-hiv-indicators.json": (
        {"MEASURE_MR_GRP_UNK_CODE", "MEASURE_MR_GRP_MISSING_BY_CODE"},
        "group codes without the system http://ihe.net/qrph/adx/ of the Measure's group codes",
    ),
    "TerminologyCapabilities-example.json": (
        {"Type_Specific_Checks_DT_UUID_Valid"},
        "url is a urn:uuid in upper case (UUIDs must be lowercase)",
    ),
    "Bundle-dataelements.json": ({"bdl-7"}, "the same fullUrl is used by several entries (bdl-7)"),
    "Bundle-v2-valuesets.json": ({"Type_Specific_Checks_DT_Code_WS"}, "codes ending in a non-breaking space"),
    "CodeSystem-v2-0550.json": ({"Type_Specific_Checks_DT_Code_WS"}, "codes ending in a non-breaking space"),
    "Bundle-valueset-expansions.json": (
        {"Extension_EXT_Unknown_NotHere", "Extension_EXTP_Context_Wrong"},
        "valueset-definition is not an R4 extension; normative-version used outside its StructureDefinition context",
    ),
    "Bundle-hla-1.json": (
        {"Extension_EXT_SubExtension_Invalid"},
        "sub-extension 'uri' is not defined by hla-genotyping-results-glstring (its definition names it 'url')",
    ),
    "DeviceMetric-example.json": (
        {"Reference_REF_BadTargetType"},
        "parent refers to a DeviceDefinition, R4 allows Device",
    ),
    "DeviceUseStatement-example.json": (
        {"Reference_REF_BadTargetType"},
        "reasonReference to a Procedure is not allowed in R4",
    ),
    "MedicationRequest-medrx0301.json": (
        {"Reference_REF_BadTargetType"},
        "dispenseRequest.performer must be an Organization",
    ),
    "Observation-clinical-gender.json": ({"Reference_REF_BadTargetType"}, "performer refers to an Encounter"),
    "Observation-example-genetics-brcapat.json": (
        {"Extension_EXT_Unknown_NotHere"},
        "US Core ethnicity extension is not loaded",
    ),
    "ImplementationGuide-fhir.json": ({"Validation_VAL_Profile_Minimum"}, "name and status are mandatory"),
    "Questionnaire-qs1.json": (
        {"Validation_VAL_Profile_Minimum", "Extension_EXT_Unknown_NotHere"},
        "items without linkId; questionnaire-allowedResource is not an R4 extension",
    ),
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": (
        {"Resource_RES_ID_Malformed"},
        "id longer than 64 characters",
    ),
    "StructureDefinition-Definition.json": ({"sdf-4"}, "logical pattern, not abstract and without baseDefinition"),
    "StructureDefinition-Event.json": ({"sdf-4"}, "logical pattern, not abstract and without baseDefinition"),
    "StructureDefinition-FiveWs.json": ({"sdf-4"}, "logical pattern, not abstract and without baseDefinition"),
    "StructureDefinition-Request.json": ({"sdf-4"}, "logical pattern, not abstract and without baseDefinition"),
}
for _name in (
    "ActivityDefinition-blood-tubes-supply.json",
    "ActivityDefinition-heart-valve-replacement.json",
    "EventDefinition-example.json",
    "Questionnaire-zika-virus-exposure-assessment.json",
):
    KNOWN_WRONG[_name] = ({"txt-2"}, "the narrative div holds only whitespace")
for _kind in ("codesystem", "valueset"):
    for _name in ("author", "effective", "end", "keyword", "workflow"):
        _resource = "CodeSystem" if _kind == "codesystem" else "ValueSet"
        KNOWN_WRONG[f"SearchParameter-{_kind}-extensions-{_resource}-{_name}.json"] = (
            {"Validation_VAL_Profile_Minimum"},
            "extension search parameter without the mandatory base",
        )


def _corpus(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if p.name not in SKIP)


def _check(validator: Any, paths: list[Path]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for path in paths:
        outcome = validator.validate(path.read_bytes(), lang="en")
        expected = KNOWN_WRONG.get(path.name)
        if expected is None:
            if outcome.errors:
                problems[path.name] = [f.render("en")[:300] for f in outcome.errors[:5]]
        elif not expected[0] <= rules(outcome, "error") | rules(outcome, "fatal"):
            problems[path.name] = [
                f"expected {sorted(expected[0])} ({expected[1]}), got {sorted(rules(outcome, 'error'))}"
            ]
    return problems


def test_representative_subset_of_r4_examples(validator: Any, r4_examples_dir: Path) -> None:
    corpus = _corpus(r4_examples_dir)
    assert len(corpus) == 5305
    subset = [p for p in corpus[::SUBSET_STEP] if p.stat().st_size <= SUBSET_MAX_BYTES]
    subset += [
        r4_examples_dir / name for name in KNOWN_WRONG if (r4_examples_dir / name).stat().st_size <= SUBSET_MAX_BYTES
    ]
    assert len(subset) > 350
    assert _check(validator, subset) == {}


@pytest.mark.slow
def test_all_r4_examples(validator: Any, r4_examples_dir: Path) -> None:
    assert _check(validator, _corpus(r4_examples_dir)) == {}


def test_fast_fhirpath_agrees_with_fhirpathpy_on_examples(validator: Any, r4_examples_dir: Path) -> None:
    """Every invariant the subset evaluates gives the same answer with the compiled subset and with fhirpathpy."""
    from conformance.validation.fhir.fhirpath import NATIVE_BY_EXPRESSION
    from conformance.validation.fhir.validator import FhirValidator, _native_rule

    probe = FhirValidator(validator.ctx)
    cache = probe.expressions
    mismatches: list[str] = []
    compared = 0
    make_runner = probe._runner

    def comparing_runner(constraint: Any) -> Any:
        fast_runner = make_runner(constraint)
        if constraint.key == "ext-1":
            return fast_runner  # fhirpathpy misses values that only have extensions (see test_fhirpath)
        no_native = _native_rule(constraint) is None and constraint.expression not in NATIVE_BY_EXPRESSION
        if no_native and cache.fast(constraint.expression) is None:
            return fast_runner

        def both(item: Any, resource: Any, root: Any, path: str) -> bool | None:
            nonlocal compared
            answer = fast_runner(item, resource, root, path)
            full = cache.evaluate_full(constraint.expression, item, resource, root, path)
            if full is not None:
                compared += 1
                if answer != full:
                    mismatches.append(f"{constraint.expression} on {str(item)[:120]}")
            return answer

        return both

    probe._runner = comparing_runner  # type: ignore[method-assign]
    corpus = _corpus(r4_examples_dir)
    sample = [p for p in corpus[::41] if p.stat().st_size <= 400_000]
    sample += [p for p in corpus if p.name.startswith("StructureDefinition-")][::15]  # ElementDefinition rules
    for path in sample:
        probe.validate(path.read_bytes())
    assert compared > 1000
    assert mismatches == []
