"""Search: _count and paging."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect
from conformance.campaign.fhir import link, matches, search_bundle

SEARCH = ("FHIR R4", "§3.1.1.5.7 _count / §3.1.1.6 paging")


@pytest.mark.requirement(*SEARCH, text="_count limits the number of matches per page")
@pytest.mark.capability("fhir.rest.search")
@pytest.mark.title_en("_count limits the matches per page")
def test_count(fhir_client):
    """_count limite le nombre de résultats par page"""
    bundle = search_bundle(fhir_client.search("Patient", {"_count": "1"}))
    found = matches(bundle)
    expect(found, "search-no-match", "aucun Patient trouvé", "no Patient found")
    expect(
        len(found) <= 1,
        "search-count-ignored",
        f"_count=1 ignoré: {len(found)} résultats dans la page",
        f"_count=1 ignored: {len(found)} matches in the page",
        location="Bundle.entry",
    )


@pytest.mark.requirement(*SEARCH, text="Bundle.link next leads to the following page")
@pytest.mark.capability("fhir.rest.search")
@pytest.mark.title_en("Paging: the next link leads to the following page")
def test_paging(fhir_client, lang):
    """Pagination: le lien next mène à la page suivante"""
    bundle = search_bundle(fhir_client.search("Patient", {"_count": "1"}))
    first = matches(bundle)
    total = bundle.get("total")
    following = link(bundle, "next")
    if following is None:
        if isinstance(total, int) and total > len(first):
            expect(
                False,
                "search-paging-no-next",
                f"total = {total} mais pas de lien next",
                f"total = {total} but no next link",
            )
        pytest.skip(
            "une seule page de Patient: pagination non vérifiable"
            if lang == "fr"
            else "a single page of Patients: paging cannot be checked"
        )
    second = search_bundle(fhir_client.get(following))
    page = matches(second)
    expect(page, "search-paging-empty", "la page suivante est vide", "the next page is empty")
    expect(
        not first or not page or page[0].get("id") != first[0].get("id"),
        "search-paging-same-page",
        "la page suivante répète la première",
        "the next page repeats the first",
    )
