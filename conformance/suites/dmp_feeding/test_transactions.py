"""The other DMP transactions the source sends: ITI-18 search, ITI-43 retrieve, ITI-57 update."""

from __future__ import annotations

from conformance.sdk import verifies

from .conftest import expect_category, skip_without


def _of(judgements, transaction: str, lang: str):
    return skip_without(
        lang,
        [j for j in judgements if j.transaction == transaction],
        f"aucune requête {transaction} reçue",
        f"no {transaction} request received",
    )


@verifies("dmp.feed.stored-queries", "dmp.feed.consult", title_en="ITI-18 stored queries are well formed")
def test_stored_queries(judgements, evidence, lang):
    """Les requêtes ITI-18 sont bien formées"""
    expect_category(_of(judgements, "ITI-18", lang), "query", evidence, sources=("soap",))


@verifies("dmp.feed.updates", "dmp.feed.update", title_en="ITI-57 updates are well formed")
def test_updates(judgements, evidence, lang):
    """Les mises à jour ITI-57 sont bien formées"""
    expect_category(_of(judgements, "ITI-57", lang), "update", evidence, sources=("soap",))
