"""Messagerie de Mon espace santé : adresse patient, X-MSS-MES. One test per requirement; ids ECO.x.y.z come from secondary sources (shown "à confirmer")."""

from __future__ import annotations

from conformance.campaign.mssante_checks import judge_rule
from conformance.sdk import verifies


@verifies(
    "mssante.client.patient-address", "mssante.client.patient", title_en="Patient address built from the qualified INS"
)
def test_patient_address(mss_channel, mss_documents, evidence):
    """Adresse patient construite sur l'INS qualifié"""
    judge_rule("mss-patient-address", mss_channel, mss_documents, evidence)


@verifies("mssante.client.mes", "mssante.client.patient", title_en="X-MSS-MES header (FIN) to a patient")
def test_mes(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-MES (FIN) vers un patient"""
    judge_rule("mss-mes", mss_channel, mss_documents, evidence)
