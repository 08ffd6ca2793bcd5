"""load_context and the canonical index, on the real R4 core + FR Core and on tiny packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pkg_helpers import make_package

from conformance.packages import load_context

FR_PATIENT = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"


@pytest.fixture
def fr_ctx(real_base: dict[str, Path], fhir_packages_dir: Path):
    return load_context(search_path=[fhir_packages_dir])


def test_fr_core_and_r4_core_load_with_missing_dependency_named(fr_ctx) -> None:
    refs = [p.ref for p in fr_ctx.packages]
    assert refs[:2] == ["hl7.fhir.fr.core#2.2.0", "hl7.fhir.r4.core#4.0.1"]
    assert "ans.fr.terminologies#1.7.0" in fr_ctx.missing
    assert any("ans.fr.terminologies" in w for w in fr_ctx.warnings)
    assert fr_ctx.missing_details[0].required_by == "hl7.fhir.fr.core#2.2.0"


def test_resolve_by_canonical_and_version(fr_ctx) -> None:
    assert fr_ctx.resolve(FR_PATIENT)["id"] == "fr-core-patient"
    assert fr_ctx.resolve(FR_PATIENT + "|2.2.0")["version"] == "2.2.0"
    assert fr_ctx.resolve(FR_PATIENT + "|2.2")["version"] == "2.2.0"
    assert fr_ctx.resolve(FR_PATIENT + "|9.9.9") is None
    assert fr_ctx.resolve("http://example.org/nothing") is None
    assert fr_ctx.package_of(FR_PATIENT).ref == "hl7.fhir.fr.core#2.2.0"


def test_typed_lookups(fr_ctx) -> None:
    patient = fr_ctx.structure_definition("Patient")
    assert patient["url"] == "http://hl7.org/fhir/StructureDefinition/Patient"
    assert patient["snapshot"]["element"][0]["path"] == "Patient"
    gender = "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert fr_ctx.value_set(gender)["resourceType"] == "ValueSet"
    assert fr_ctx.structure_definition(gender) is None
    assert fr_ctx.code_system("http://hl7.org/fhir/administrative-gender")["resourceType"] == "CodeSystem"


def test_resources_of_type_and_profiles_by_type(fr_ctx) -> None:
    sds = list(fr_ctx.resources_of_type("StructureDefinition"))
    assert len(sds) > 655
    assert {sd["resourceType"] for sd in sds} == {"StructureDefinition"}
    profiles = {sd["url"] for sd in fr_ctx.structure_definitions_for_type("Patient", derivation="constraint")}
    assert FR_PATIENT in profiles
    assert "http://hl7.org/fhir/StructureDefinition/Patient" not in profiles
    entries = fr_ctx.structure_definition_entries_for_type("Patient")
    assert any(e.url == FR_PATIENT and e.derivation == "constraint" for e in entries)


def test_resources_are_memoised(fr_ctx) -> None:
    assert fr_ctx.resolve(FR_PATIENT) is fr_ctx.resolve(FR_PATIENT)


def test_index_is_cached_on_disk_and_invalidated_by_a_package_change(env: dict[str, Path]) -> None:
    make_package(env["search"], "a.pkg", "1.0.0", dependencies={"hl7.fhir.r4.core": "4.0.1"})
    first = load_context(["a.pkg#1.0.0"], fresh=True)
    assert not first.index_cache_hit
    assert list((env["tool"] / "fhir-index").glob("context-*.json"))
    second = load_context(["a.pkg#1.0.0"], fresh=True)
    assert second.index_cache_hit
    assert load_context(["a.pkg#1.0.0"]) is second  # memoised in the process
    # A new archive for the same version is reinstalled and the index rebuilt.
    make_package(
        env["work"], "a.pkg", "1.0.0", resources=[{"resourceType": "Basic", "id": "changed", "url": "http://x/changed"}]
    )
    os.replace(env["work"] / "a.pkg-1.0.0.tgz", env["search"] / "a.pkg-1.0.0.tgz")
    third = load_context(["a.pkg#1.0.0"], fresh=True)
    assert not third.index_cache_hit
    assert third.resolve("http://x/changed")["id"] == "changed"


def test_highest_version_wins_unless_a_version_is_asked(env: dict[str, Path]) -> None:
    def sd(version: str) -> dict:
        return {
            "resourceType": "StructureDefinition",
            "id": f"s{version[0]}",
            "url": "http://x/sd",
            "version": version,
            "type": "Patient",
        }

    make_package(env["search"], "old.pkg", "1.0.0", resources=[sd("1.0.0")])
    make_package(env["search"], "new.pkg", "1.0.0", resources=[sd("2.0.0")])
    ctx = load_context(["old.pkg#1.0.0", "new.pkg#1.0.0"])
    assert ctx.resolve("http://x/sd")["version"] == "2.0.0"
    assert ctx.resolve("http://x/sd|1.0.0")["version"] == "1.0.0"


def test_index_json_is_used_when_present_and_built_when_absent(env: dict[str, Path]) -> None:
    resource = {"resourceType": "ValueSet", "id": "vs", "url": "http://x/in-file", "version": "1"}
    # An index that disagrees with the file proves the index is what is read (no scan of files).
    index = [{"filename": "ValueSet-vs.json", "resourceType": "ValueSet", "id": "vs", "url": "http://x/in-index"}]
    make_package(env["search"], "indexed.pkg", "1.0.0", resources=[resource], index=index, folder=True)
    make_package(env["search"], "plain.pkg", "1.0.0", resources=[{**resource, "url": "http://x/plain"}], folder=True)
    ctx = load_context(["indexed.pkg#1.0.0", "plain.pkg#1.0.0"])
    assert ctx.entry("http://x/in-index") is not None
    assert ctx.entry("http://x/in-file") is None
    assert ctx.value_set("http://x/plain")["id"] == "vs"


def test_missing_core_is_reported_not_fatal(env: dict[str, Path]) -> None:
    make_package(env["search"], "a.pkg", "1.0.0")
    ctx = load_context(["a.pkg#1.0.0"])
    assert [p.ref for p in ctx.packages] == ["a.pkg#1.0.0"]
    assert ctx.missing == ["hl7.fhir.r4.core#4.0.1"]
    assert ctx.structure_definition("Patient") is None


def test_explicit_ig_archive(env: dict[str, Path]) -> None:
    tgz = make_package(env["work"], "ig.pkg", "0.1.0")
    ctx = load_context([], igs=[tgz])
    assert ctx.packages[0].ref == "ig.pkg#0.1.0"
    assert ctx.resolve("http://example.org/ig.pkg/StructureDefinition/sd")["id"] == "ig.pkg-sd"


def test_unresolved_reference_is_attributed_to_the_missing_package(fr_ctx) -> None:
    civilite = "https://mos.esante.gouv.fr/NOS/JDV_J245-Civilite-CISIS/FHIR/JDV-J245-Civilite-CISIS"
    assert fr_ctx.resolve(civilite) is None
    assert fr_ctx.missing_package_for(civilite) == "ans.fr.terminologies#1.7.0"
    assert fr_ctx.missing_package_for(FR_PATIENT) is None
    assert fr_ctx.missing_package_for("http://example.org/unknown") is None


def test_old_index_files_are_pruned(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.packages import context as context_module

    monkeypatch.setattr(context_module, "MAX_INDEX_FILES", 2)
    for name in ("p1.pkg", "p2.pkg", "p3.pkg"):
        make_package(env["search"], name, "1.0.0")
        load_context([f"{name}#1.0.0"])
    assert len(list((env["tool"] / "fhir-index").glob("context-*.json"))) == 2
