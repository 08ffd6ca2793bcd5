"""Each seeded fault of the reference DMP-feeding client makes exactly its check fail, and the clean client none."""

from __future__ import annotations

import pytest
from i18n.english import english_fragments

from conformance.reference.dmp.feed import SOURCE_FAULTS
from conformance.reference.faults import FAULTS

from .faults import FRENCH, SOURCE_CATEGORY, cda_documents, failing_checks, repository_shows


def test_every_source_fault_is_registered_and_mapped():
    assert set(SOURCE_CATEGORY) == set(SOURCE_FAULTS)
    assert set(FAULTS) >= SOURCE_FAULTS
    assert all(FAULTS[name].endpoint == "dmp-source" for name in SOURCE_FAULTS)


def test_clean_client_fails_no_check():
    assert failing_checks(frozenset()) == set()


@pytest.mark.parametrize("fault", sorted(n for n, c in SOURCE_CATEGORY.items() if c != "cda"))
def test_source_fault_fails_exactly_its_check(fault):
    assert failing_checks(frozenset({fault})) == {SOURCE_CATEGORY[fault]}
    said = FRENCH[frozenset({fault})]
    assert said  # the fault is named
    assert not [(m, english_fragments(m)) for m in said if english_fragments(m)]  # in French


def test_cda_fault_changes_only_the_document():
    from lxml import etree

    from conformance.validation.cda.header import V3

    assert failing_checks(frozenset({"dmp-cda-invalid"})) == set()
    documents = cda_documents(frozenset({"dmp-cda-invalid"}))
    assert documents
    for document in documents:  # the header lost its title; the CDA validator judges that (campaign test)
        assert etree.fromstring(document).find(f"{{{V3}}}title") is None


REPOSITORY_FAULTS = sorted(n for n, f in FAULTS.items() if f.endpoint == "dmp-repository")


def test_clean_repository_shows_no_fault():
    assert not any(repository_shows(frozenset(), name) for name in REPOSITORY_FAULTS)


@pytest.mark.parametrize("fault", REPOSITORY_FAULTS)
def test_repository_fault_shows_to_its_probe(fault):
    assert repository_shows(frozenset({fault}), fault)
