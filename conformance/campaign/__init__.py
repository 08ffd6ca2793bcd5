"""The campaign: runs the conformance suites (conformance/suites/) against the system under test.

Public API: run_campaign(config, suites=, output=, lang=, pdf=, listener_callbacks=, progress=) -> CampaignResult;
exit codes EXIT_OK / EXIT_FAILED / EXIT_HARNESS / EXIT_INTERRUPTED; suites are written
on the suite SDK (conformance.sdk: rules, expect/require, per-resource findings) and conformance.campaign.hl7v2.
"""

from __future__ import annotations

from conformance.campaign.runner import (
    EXIT_FAILED,
    EXIT_HARNESS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CampaignError,
    CampaignResult,
    run_campaign,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_HARNESS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "CampaignError",
    "CampaignResult",
    "run_campaign",
]
