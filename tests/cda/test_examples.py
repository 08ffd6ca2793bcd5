"""ANS example documents through the whole validator (XSD, header rules, detected volet + profiles).

Normal runs cover several volets; the slow test runs all 88 examples. Examples the pack itself does not
judge valid with its current schematrons are listed in KNOWN with the reason (checked, not skipped).
"""

from __future__ import annotations

import re

import pytest

from conformance.validation.cda import validate_document
from conformance.validation.cda.pack import load_pack

from .conftest import example_bytes, examples_dir, validated

SEVERAL_VOLETS = [
    "CANCER-CR-GM_2022.01_AnalyseNonRealisee.xml",
    "BIO-CR-BIO_2024.01_Microbiologie_V2.xml",
    "eP-MED-DM_2024.01_PosoStruct.xml",
    "LDL-EES_2022.01.xml",
    "VAC-NOTE_2023.01.xml",
]

_BIO_2024_PDF = {("CI-SIS_BIO-CR-BIO_2024.01.sch", "variables-2")}
_AUTHOR_CODE = {("CI-SIS_ModelesDeContenusCDA.sch", "JDV_assignedAuthorCode-3")}
# example -> the (schematron, rule) errors we report, and why the pack's example does not pass today
KNOWN: dict[str, tuple[set[tuple[str, str]], str]] = {
    "01_Modèles_contenus_CDA.xml": (
        {("CI-SIS_VSM_2023.01.sch", r) for r in ("variables-1", "variables-2", "variables-3", "Entete_VSM_2023-2")},
        "template example: its VSM templateId selects the VSM volet, which ANS did not run on it",
    ),
    **{
        name: (_BIO_2024_PDF, "2021.01 example without version extension: judged by the latest BIO volet")
        for name in (
            "BIO-CR-BIO_2021.01_Auto-Presentable.xml",
            "BIO-CR-BIO_2021.01_Auto-Presentable_avec-image.xml",
            "BIO-CR-BIO_2021.01_CR-2nde-intention.xml",
            "BIO-CR-BIO_2021.01_Electrophorese.xml",
            "BIO-CR-BIO_2021.01_Microbiologie_V1.xml",
            "BIO-CR-BIO_2021.01_Microbiologie_V2.xml",
        )
    },
    **{
        name: (_AUTHOR_CODE, "author specialty code no longer in the pack's JDV_AssignedAuthorCode value set")
        for name in (
            "CANCER-FRCP_2022.01_Appareil.xml",
            "CANCER-FRCP_2022.01_Transversale.xml",
            "TLM-DA_2022.01_TCG.xml",
            "TLM-DA_2022.01_TCG_anamnèse-non-structurée.xml",
            "TLM-DA_2022.01_TE1_anamnèse-non-structurée.xml",
        )
    },
    **{
        name: (
            {("cda-header", "cda-ins-format")},
            "production INS OID 1.2.250.1.213.1.4.8 carrying a fictitious NIR whose key does not check out",
        )
        for name in (
            "CSE-CS24_2024.01.xml",
            "CSE-CS8_2024.01.xml",
            "CSE-CS9_2024.01.xml",
            "CSE-MDE_2023.01.xml",
            "OBP-SEM_2024.01.xml",
            "OBP-SNE_2024.01.xml",
        )
    },
    "eDISP-MED_2024.01.xml": (
        {("ASIP-STRUCT-MIN-StrucMin.sch", "CI-SISRecordTarget-746")},
        "patient name qualifier other than BR/CL, refused by the structuration minimale",
    ),
}


def _errors(outcome) -> set[tuple[str, str]]:
    return {(f.profile or "", f.rule) for f in outcome.errors}


@pytest.mark.parametrize("name", SEVERAL_VOLETS)
def test_examples_of_several_volets_are_valid(name: str) -> None:
    outcome = validated(name)
    assert outcome.is_valid, outcome.render("en")
    schematrons = outcome.details["schematrons"]
    assert schematrons[0].startswith("CI-SIS_") and len(schematrons) == 6
    assert all(run["fired_rules"] >= 0 for run in outcome.details["schematron_runs"].values())


def test_detection_agrees_with_the_examples_own_schematron_hints() -> None:
    """Most examples name their volet schematron in an oxygen PI; detection must agree (or be explained)."""
    pack = load_pack()
    explained = {
        "BIO-CR-BIO_2021.01": "no version extension: latest BIO volet",
        "VSM_1.4_2022.01.xml": "extension 201310 matches no volet version: latest VSM",
    }
    agree = 0
    for path in sorted(examples_dir().glob("*.xml")):
        data = path.read_bytes()
        hint = re.search(rb'SCHSchema="\.\./schematrons/(CI-SIS_[^"/]+\.sch)"', data)
        if not hint:
            continue
        from lxml import etree

        from conformance.validation.cda.document import find_clinical_document

        document = find_clinical_document(etree.fromstring(data))
        template_ids = [(t.get("root"), t.get("extension")) for t in document.findall("{urn:hl7-org:v3}templateId")]
        code = document.find("{urn:hl7-org:v3}code").get("code")
        detected = pack.detect(template_ids, code)
        if detected is not None and detected.name == hint.group(1).decode():
            agree += 1
        else:
            assert any(key in path.name for key in explained), path.name
    assert agree >= 75


def test_named_schematron_replaces_detection() -> None:
    from conformance.validation.options import ValidateOptions

    outcome = validate_document(
        example_bytes("BIO-CR-BIO_2021.01_Microbiologie_V2.xml"),
        ValidateOptions(schematron="BIO-CR-BIO_2021.01"),
        name="bio",
    )
    assert outcome.details["schematrons"][0] == "CI-SIS_BIO-CR-BIO_2021.01.sch"
    assert outcome.is_valid, outcome.render("en")
    missing = validate_document(example_bytes("LDL-EES_2022.01.xml"), ValidateOptions(schematron="nope"), name="x")
    assert "cda-schematron-not-found" in {f.rule for f in missing.errors}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name for p in examples_dir().glob("*.xml")))
def test_every_example(name: str) -> None:
    outcome = validated(name)
    expected, _why = KNOWN.get(name, (set(), ""))
    assert _errors(outcome) == expected, outcome.render("en")
    assert not [f for f in outcome.findings if f.source == "tool" and f.severity.is_failure]


def test_warm_up_compiles_profiles_and_named_volets() -> None:
    from conformance.validation.cda import schematron as sch
    from conformance.validation.cda import warm_up

    assert warm_up(volets=("LDL-EES_2022.01",)) >= 0
    compiled = {key[0] for key in sch._compiled}
    pack = load_pack()
    wanted = [*pack.profile_schematrons().values(), pack.find_schematron("LDL-EES_2022.01")]
    assert all(str(path.resolve()) in compiled for path in wanted)
