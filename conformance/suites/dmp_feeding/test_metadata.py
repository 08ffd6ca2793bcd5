"""The ITI-41 metadata (ebRIM) and the document it carries, as the DMP judges them."""

from __future__ import annotations

from conformance.sdk import expect_valid, verifies

from .conftest import expect_category, submissions


@verifies("dmp.feed.metadata-required", "dmp.feed.metadata", title_en="The required XDS metadata are present")
def test_required(judgements, evidence, lang):
    """Les métadonnées XDS obligatoires sont présentes"""
    expect_category(submissions(judgements, lang), "required", evidence)


@verifies(
    "dmp.feed.author-formats", "dmp.feed.metadata", title_en="authorPerson and authorInstitution have the DMP formats"
)
def test_author_formats(judgements, evidence, lang):
    """authorPerson et authorInstitution ont les formats du DMP"""
    expect_category(submissions(judgements, lang), "author-formats", evidence)


@verifies(
    "dmp.feed.patient-ins",
    "dmp.feed.metadata",
    "identity.ins.qualified",
    title_en="patientId is the patient's INS everywhere",
)
def test_patient_ins(judgements, evidence, lang):
    """Le patientId est l'INS du patient partout"""
    expect_category(submissions(judgements, lang), "patient-ins", evidence)


@verifies("dmp.feed.value-sets", "dmp.feed.metadata", title_en="Coded metadata belong to the DMP value sets")
def test_value_sets(judgements, evidence, lang):
    """Les métadonnées codées appartiennent aux jeux de valeurs du DMP"""
    expect_category(submissions(judgements, lang), "value-sets", evidence)


@verifies("dmp.feed.hash-size", "dmp.feed.metadata", title_en="hash and size describe the document sent")
def test_hash_and_size(judgements, evidence, lang):
    """hash et size décrivent le document envoyé"""
    expect_category(submissions(judgements, lang), "hash-size", evidence)


@verifies("dmp.feed.xades", "dmp.feed.metadata", title_en="The submission set is signed (XAdES) over its documents")
def test_submission_signed(judgements, evidence, lang):
    """Le lot de soumission est signé (XAdES) sur ses documents"""
    expect_category(submissions(judgements, lang), "xades", evidence)


@verifies("dmp.feed.matches-cda", "dmp.feed.metadata", title_en="The metadata match the CDA header")
def test_matches_cda(judgements, evidence, lang):
    """Les métadonnées correspondent à l'en-tête CDA"""
    expect_category(submissions(judgements, lang), "matches-cda", evidence)


@verifies(
    "dmp.feed.cda",
    "documents.cda.content",
    "dmp.feed.metadata",
    title_en="The CDA documents sent to the DMP conform to the CI-SIS",
)
def test_cda_conforms(judgements, evidence, lang):
    """Les documents CDA envoyés au DMP sont conformes au CI-SIS"""
    from conformance.campaign.validators import validate_cda

    for number, judgement in enumerate(submissions(judgements, lang), start=1):
        for entry_id, content in judgement.documents.items():
            if content.lstrip().startswith(b"<") and entry_id not in judgement.signatures:
                name = f"iti41-{number}-{entry_id}.xml"
                evidence.attach(name, content, "text/xml")
                outcome = validate_cda(content, lang, name=name)
                evidence.outcome(f"validation-{name}.json", outcome)
                expect_valid(outcome)
