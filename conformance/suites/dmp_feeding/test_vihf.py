"""The VIHF (SAML 2.0 assertion in wsse:Security) on every DMP request."""

from __future__ import annotations

from conformance.sdk import verifies

from .conftest import expect_category, skip_without


def _requests(judgements, lang, *, with_vihf: bool = False):
    items = [j for j in judgements if j.transaction and (j.vihf_present or not with_vihf)]
    fr, en = (
        ("aucune requête portant un VIHF", "no request carrying a VIHF")
        if with_vihf
        else ("aucune requête lisible reçue", "no readable request received")
    )
    return skip_without(lang, items, fr, en)


@verifies("dmp.feed.vihf-signed", "dmp.feed.vihf", title_en="Every request carries a validly signed VIHF")
def test_vihf_signed(judgements, evidence, lang):
    """Chaque requête porte un VIHF à la signature valide"""
    expect_category(_requests(judgements, lang), "vihf-signed", evidence)


@verifies("dmp.feed.vihf-attributes", "dmp.feed.vihf", title_en="The VIHF attributes are present and valid")
def test_vihf_attributes(judgements, evidence, lang):
    """Les attributs du VIHF sont présents et valides"""
    expect_category(_requests(judgements, lang, with_vihf=True), "vihf-attributes", evidence)


@verifies(
    "dmp.feed.vihf-consistent",
    "dmp.feed.vihf",
    title_en="The VIHF is consistent with the TLS certificate and the metadata",
)
def test_vihf_consistent(judgements, evidence, lang):
    """Le VIHF est cohérent avec le certificat TLS et les métadonnées"""
    expect_category(_requests(judgements, lang, with_vihf=True), "vihf-consistent", evidence)
