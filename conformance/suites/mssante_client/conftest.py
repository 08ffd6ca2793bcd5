"""The MSSanté client suite: the harness is the system's operator; these fixtures give what the system sent."""

from __future__ import annotations

import pytest

from conformance.campaign.mssante_checks import submitted_documents


@pytest.fixture(scope="session")
def mss_documents(mss_channel, lang):
    """The document messages the system submitted to the harness's operator during the run."""
    return submitted_documents(mss_channel, lang)
