"""Running the campaign against the embedded reference endpoints (`conformance run --reference`, `make demo`).

`reference_config(ref, base)` points a configuration at a running ReferenceEndpoints and fills the test data
from what it seeded; `sender_callback(ref)` makes the reference MLLP sender emit its scripted sequence to the
harness's listener as soon as the listener is up.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from conformance.config import ListenerConfig, RunConfig, TestData
from conformance.i18n import text


def reference_test_data(ref: Any) -> TestData:
    """What the campaign knows of the reference's seeded data: its patients (the INS of a qualified identity
    only), practitioner and organization, and the patient that has documents, by logical id: a defect in how
    the INS is carried then fails the INS tests only, not every document test through their patient."""
    data = ref.test_data
    patients = [p if p.qualified else replace(p, ins="") for p in data.patients]
    document_patient = f"Patient/{data.documents[0].patient_id}" if data.documents else None
    return TestData(
        patients=patients,
        practitioners=[data.practitioner_rpps],
        organizations=[data.organization_finess],
        document_patient=document_patient,
    )


def reference_config(ref: Any, base: RunConfig | None = None) -> RunConfig:
    """A copy of `base` (or the defaults) pointed at the reference endpoints, with their test data."""
    config = copy.deepcopy(base) if base is not None else RunConfig(source="<reference endpoints>")
    config.fhir.base_url = ref.fhir_base_url
    config.mllp.host, config.mllp.port = ref.mllp_receiver
    if config.mllp.listener is None:
        config.mllp.listener = ListenerConfig(host="127.0.0.1", port=0, wait_seconds=20.0, expect_messages=8)
    config.hl7v2.documents = True
    if not config.documents.files:
        config.documents.files = ref.produced_documents()
    config.test_data = reference_test_data(ref)
    if ref.mss is not None:
        _point_mssante(config, ref.mss)
    if not config.run.name:  # the reader's language: the name is shown in the report's "Système testé"
        config.run.name = text("serve.template_name", config.run.language)
    return config


def _point_mssante(config: RunConfig, mss: Any) -> None:
    from conformance.config import Secret
    from conformance.reference.mssante import system

    cfg = config.mssante
    cfg.nil = cfg.nil or system.NIL
    cfg.operator.passwords.setdefault(system.USER, Secret(system.PASSWORD))
    correspondent = cfg.correspondent
    if correspondent.host is None:
        correspondent.host, correspondent.port = mss.inbound_address
        correspondent.address = system.INBOUND
        correspondent.ca_bundle = mss.inbound_ca


def sender_callback(ref: Any):
    runs: list[Any] = []

    def start(host: str, port: int) -> None:
        runs.append(ref.start_mllp_sender(host, port))

    start.runs = runs  # type: ignore[attr-defined]
    return start
