"""The campaign in-process against the embedded reference endpoints (FHIR, MLLP peers, produced documents,
MSSanté and the DMP parts), as `conformance run --reference` starts them, with some seeded faults on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.campaign import run_campaign
from conformance.campaign.reference import reference_config, sender_callback
from conformance.reference import ReferenceEndpoints
from conformance.reference.dmp.endpoints import ReferenceDmp

# the suites that talk to each endpoint a fault can act on (a fault acting on several lists them with "+")
ENDPOINT_SUITES: dict[str, tuple[str, ...]] = {
    "fhir": ("fhir-basics", "identity", "documents", "directory"),
    "mllp-sender": ("pam", "documents-hl7v2"),
    "mllp-receiver": ("pam", "documents-hl7v2"),
    "documents": ("produced-documents",),
    "dmp-source": ("dmp-feeding",),
    "dmp-repository": ("dmp-repository",),
    "mssante-client": ("mssante-client",),
    "mssante-receiver": ("mssante-receiver",),
}
# a test that did not pass and was not skipped detects the fault ("warning": a SHOULD not met)
NOT_DETECTED = frozenset({"passed", "skipped"})


def suites_of(endpoint: str) -> tuple[str, ...]:
    suites: list[str] = []
    for part in endpoint.split("+"):
        suites.extend(s for s in ENDPOINT_SUITES[part] if s not in suites)
    return tuple(suites)


@dataclass(frozen=True)
class Verdict:
    outcome: str
    requirement: str
    suite: str
    messages: tuple[str, ...]

    @property
    def detects(self) -> bool:
        return self.outcome not in NOT_DETECTED


def run_reference_campaign(
    output: Path, faults: Iterable[str] = (), suites: Iterable[str] | None = None
) -> dict[str, Verdict]:
    """test id -> verdict of one campaign against fresh reference endpoints with `faults` on."""
    wanted = frozenset(faults)
    with contextlib.ExitStack() as stack:
        ref = stack.enter_context(ReferenceEndpoints(faults=wanted))
        dmp = stack.enter_context(ReferenceDmp(wanted))
        config = dmp.configure(reference_config(ref))
        result = run_campaign(
            config,
            suites=list(suites) if suites is not None else None,
            output=output,
            lang="en",
            listener_callbacks=[sender_callback(ref)],
            mss_peer=ref.mss,
            dmp_callbacks=[dmp.feed_callback()],
        )
    return {
        t.id: Verdict(t.outcome.value, t.requirement_id, t.suite, tuple(m[:300] for m in t.messages[:3]))
        for t in result.run.tests
    }
