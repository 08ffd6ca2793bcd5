"""The campaign: runs the conformance suites (conformance/suites/) against the system under test.

Public API: run_campaign(config, suites=, output=, lang=, pdf=, listener_callbacks=, progress=) -> CampaignResult;
exit codes EXIT_OK / EXIT_FAILED / EXIT_HARNESS / EXIT_INTERRUPTED. The session (`session.py`) opens, records,
finishes and seals a run; suites are written on the suite SDK (conformance.sdk) and conformance.campaign.hl7v2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.campaign.session import (
    EXIT_FAILED,
    EXIT_HARNESS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CampaignError,
    CampaignResult,
    CampaignSession,
)

if TYPE_CHECKING:
    from conformance.campaign.runner import run_campaign


def __getattr__(name: str) -> Any:
    # The runner drives pytest with the plugin, and the plugin uses the session from this package: importing the
    # runner on first use keeps `import conformance.pytest_plugin` from importing the runner back.
    if name == "run_campaign":
        from conformance.campaign.runner import run_campaign

        return run_campaign
    raise AttributeError(name)


__all__ = [
    "EXIT_FAILED",
    "EXIT_HARNESS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "CampaignError",
    "CampaignResult",
    "CampaignSession",
    "run_campaign",
]
