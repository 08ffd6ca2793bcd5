"""The documents the system under test produced, as files: each CDA against the CI-SIS pack, each XDM package
(IHE ITI-32, the form of MSSanté attachments) for its layout, metadata, hash and size, then its documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.sdk import expect_valid, verifies
from conformance.validation.detect import Kind, detect_kind


def _produced(config, kind: Kind) -> list[tuple[Path, bytes]]:
    found = []
    for entry in config.documents.files:
        for path in sorted(entry.rglob("*")) if entry.is_dir() else [entry]:
            if path.is_file():
                data = path.read_bytes()
                if detect_kind(data) is kind:
                    found.append((path, data))
    return found


def _none_configured(lang: str, what_fr: str, what_en: str) -> None:
    pytest.skip(f"aucun {what_fr} dans [documents] files" if lang == "fr" else f"no {what_en} in [documents] files")


@verifies("cisis.cda.content", "documents.cda.content", title_en="The CDA documents produced conform to the CI-SIS")
def test_cda_documents_conform(config, evidence, lang):
    """Les documents CDA produits sont conformes au CI-SIS"""
    from conformance.campaign.validators import validate_cda

    documents = _produced(config, Kind.CDA)
    if not documents:
        _none_configured(lang, "document CDA", "CDA document")
    for path, data in documents:
        outcome = validate_cda(data, lang, name=path.name)
        evidence.attach(path.name, data, "text/xml")
        evidence.outcome(f"validation-{path.name}.json", outcome)
        expect_valid(outcome)


@verifies(
    "xdm.package",
    "documents.xdm.package",
    "documents.cda.content",
    title_en="The XDM packages produced (MSSanté attachments) conform",
)
def test_xdm_packages_conform(config, evidence, lang):
    """Les paquets XDM produits (pièces jointes MSSanté) sont conformes"""
    from conformance.validation.cda import validate_xdm
    from conformance.validation.options import ValidateOptions

    packages = _produced(config, Kind.XDM)
    if not packages:
        _none_configured(lang, "paquet XDM", "XDM package")
    for path, data in packages:
        package_outcomes = validate_xdm(data, ValidateOptions(lang=lang), name=path.name)
        evidence.attach(path.name, data, "application/zip")
        for number, outcome in enumerate(package_outcomes):
            evidence.outcome(f"validation-{path.name}-{number}.json", outcome)
        expect_valid(package_outcomes)
