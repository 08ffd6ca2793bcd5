"""Snapshot generation from a differential and its base, against the real R4 core definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pkg_helpers import CORE_REF, make_package

from conformance.cli import cli
from conformance.packages import load_context
from conformance.packages.snapshot import SnapshotError, generate_snapshot

PROFILE_URL = "http://example.org/fhir/StructureDefinition/ins-patient"
PROFILE: dict[str, Any] = {
    "resourceType": "StructureDefinition",
    "id": "ins-patient",
    "url": PROFILE_URL,
    "version": "0.1.0",
    "name": "InsPatient",
    "status": "draft",
    "kind": "resource",
    "abstract": False,
    "type": "Patient",
    "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
    "derivation": "constraint",
    "differential": {
        "element": [
            {
                "path": "Patient.identifier",
                "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"},
                "min": 1,
            },
            {"path": "Patient.identifier", "sliceName": "ins", "min": 1, "max": "1"},
            {"path": "Patient.identifier.system", "min": 1, "fixedUri": "urn:oid:1.2.250.1.213.1.4.8"},
            {"path": "Patient.identifier.value", "min": 1, "maxLength": 15},
            {"path": "Patient.birthDate", "min": 1},
            {"path": "Patient.deceasedBoolean", "fixedBoolean": False},
        ]
    },
}
OBSERVATION_MAX: dict[str, Any] = {
    **{k: v for k, v in PROFILE.items() if k not in ("differential", "type", "baseDefinition")},
    "url": "http://example.org/fhir/StructureDefinition/obs-kg",
    "id": "obs-kg",
    "type": "Observation",
    "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
    "differential": {"element": [{"path": "Observation.valueQuantity", "min": 1}]},
}


@pytest.fixture(scope="module")
def core() -> Any:
    return load_context(packages=[CORE_REF])


def _by_id(sd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in sd["snapshot"]["element"]}


def test_slices_and_data_type_children_are_merged_into_a_copy_of_the_base(core: Any) -> None:
    sd = generate_snapshot(PROFILE, core.snapshot)
    elements = _by_id(sd)
    assert elements["Patient.identifier"]["min"] == 1 and "slicing" in elements["Patient.identifier"]
    ins = elements["Patient.identifier:ins"]
    assert (ins["sliceName"], ins["min"], ins["max"]) == ("ins", 1, "1") and "slicing" not in ins
    assert elements["Patient.identifier:ins.system"]["fixedUri"] == "urn:oid:1.2.250.1.213.1.4.8"
    assert elements["Patient.identifier:ins.value"]["maxLength"] == 15
    assert "Patient.identifier.system" not in elements  # only the slice was unfolded
    assert elements["Patient.birthDate"]["min"] == 1
    deceased = elements["Patient.deceased[x]"]
    assert [t["code"] for t in deceased["type"]] == ["boolean"] and deceased["fixedBoolean"] is False
    # inherited from the base: constraints and bindings
    assert {c["key"] for c in elements["Patient"]["constraint"]} >= {"dom-2", "dom-6"}
    assert elements["Patient.gender"]["binding"]["strength"] == "required"
    ids = [e["id"] for e in sd["snapshot"]["element"]]
    assert ids.index("Patient.identifier") < ids.index("Patient.identifier:ins") < ids.index("Patient.active")


def test_a_differential_designating_nothing_is_refused(core: Any) -> None:
    broken = {**PROFILE, "differential": {"element": [{"path": "Patient.nosuchthing", "min": 1}]}}
    with pytest.raises(SnapshotError, match=r"Patient\.nosuchthing"):
        generate_snapshot(broken, core.snapshot)
    with pytest.raises(SnapshotError, match="base"):
        generate_snapshot({**PROFILE, "baseDefinition": "http://example.org/missing"}, core.snapshot)


def test_a_differential_only_profile_given_as_a_file_judges_instances(tmp_path: Path) -> None:
    from conformance.validation.fhir.inputs import validate_input
    from conformance.validation.options import ValidateOptions

    profile = tmp_path / "ins-patient.json"
    profile.write_text(json.dumps(PROFILE))
    options = ValidateOptions(lang="en", profiles=[PROFILE_URL], igs=[str(profile)])
    patient = {"resourceType": "Patient", "id": "p", "identifier": [{"system": "urn:oid:1.2.3", "value": "x"}]}
    [outcome] = validate_input(json.dumps(patient).encode(), name="p.json", options=options)
    errors = {(f.rule, f.location) for f in outcome.errors}
    assert ("Validation_VAL_Profile_Minimum", "Patient") in errors  # the ins slice and birthDate
    assert not any(f.rule == "Validation_VAL_Unknown_Profile" for f in outcome.findings)
    patient["identifier"].append({"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "180027511212360"})
    patient["birthDate"] = "1980-02-29"
    [outcome] = validate_input(json.dumps(patient).encode(), name="p.json", options=options)
    assert not outcome.errors, [f.message_en for f in outcome.errors]


def test_packages_show_snapshot_prints_the_generated_snapshot(tmp_path: Path) -> None:
    profile = tmp_path / "obs-kg.json"
    profile.write_text(json.dumps(OBSERVATION_MAX))
    result = CliRunner().invoke(
        cli,
        ["packages", "show", "-p", CORE_REF, "--ig", str(profile), "--snapshot", OBSERVATION_MAX["url"]],
        env={"HOPEN_LANG": "en"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    value = _by_id(json.loads(result.output))["Observation.value[x]"]
    assert value["min"] == 1 and [t["code"] for t in value["type"]] == ["Quantity"]


def test_snapshots_of_package_definitions_are_kept_beside_the_canonical_index(real_base: dict[str, Path]) -> None:
    make_package(
        real_base["search"], "demo.diff", "1.0.0", resources=[PROFILE], dependencies={"hl7.fhir.r4.core": "4.0.1"}
    )
    ctx = load_context(packages=["demo.diff#1.0.0"])
    sd = ctx.snapshot(PROFILE_URL)
    assert "Patient.identifier:ins" in _by_id(sd)
    cached = list((real_base["tool"] / "fhir-index").glob("snapshots-*/*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["url"] == PROFILE_URL
    again = load_context(packages=["demo.diff#1.0.0"], fresh=True)
    assert _by_id(again.snapshot(PROFILE_URL)).keys() == _by_id(sd).keys()
