"""Campaign verdicts against the embedded reference endpoints, clean and with each seeded fault.

`capture()` runs the campaign in-process (one ReferenceEndpoints per fault, only the suites that cover the
fault) and returns, per scenario, the outcome of every test. `golden_verdicts.json` beside this file holds
what main produced before the structural redesign; `test_golden_verdicts.py` compares a fresh capture with it.

When tests are split or renamed on purpose (one requirement per test), the golden file changes with them,
never by hand-editing outcomes:

1. write the mapping old test id -> new test ids in RENAMED below (a test split in two maps to both; each new
   test inherits the old verdict unless it appears in EXPECTED_CHANGES);
2. when an outcome changes on purpose (a SHOULD not met becomes `warning`), list it in EXPECTED_CHANGES as
   (scenario, test id) -> new outcome, with the reason in a comment;
3. regenerate: `HOPEN_UPDATE_GOLDEN=1 python -m pytest tests/campaign/test_golden_verdicts.py -n 0`; the
   update refuses to write unless the fresh capture equals the old file translated through RENAMED and
   EXPECTED_CHANGES, so only the declared differences can land. Then empty both tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from conformance.campaign import run_campaign
from conformance.campaign.reference import reference_config, sender_callback
from conformance.reference import ReferenceEndpoints

GOLDEN = Path(__file__).with_name("golden_verdicts.json")
CLEAN = "clean"

# the suites that cover each seeded fault (the campaign runs only those)
FAULT_SUITES: dict[str, tuple[str, ...]] = {
    "ins-wrong-oid": ("identity",),
    "ins-unqualified": ("identity",),
    "patient-profile-invalid": ("identity",),
    "capability-missing-interaction": ("fhir-basics", "documents"),
    "docref-invalid": ("documents",),
    "binary-mismatch": ("documents",),
    "paging-broken": ("fhir-basics",),
    "count-ignored": ("fhir-basics",),
    "errors-html": ("fhir-basics",),
    "xml-unsupported": ("fhir-basics",),
    "etag-missing": ("fhir-basics",),
    "transaction-response-invalid": ("documents",),
    "rpps-missing": ("directory",),
    "finess-missing": ("directory",),
    "zbe-missing": ("pam",),
    "msh12-wrong": ("pam",),
    "ack-wrong-msa2": ("pam",),
    "ack-aa-for-defective": ("pam",),
    "ack-no-err": ("pam",),
    "oru-obx-not-base64": ("documents-hl7v2",),
    "hl7v2-cda-invalid": ("documents-hl7v2",),
    "xdm-hash-tampered": ("produced-documents",),
    "produced-cda-invalid": ("produced-documents",),
}

# the suites the golden file was captured with: suites added since (MSSanté) are judged by their own tests
GOLDEN_SUITES = ("directory", "documents", "documents-hl7v2", "fhir-basics", "identity", "pam", "produced-documents")

# old test id -> new test ids (see the module docstring); empty when the golden file is current
RENAMED: dict[str, tuple[str, ...]] = {}
# (scenario, test id) -> outcome, for outcomes that change on purpose; empty when the golden file is current
EXPECTED_CHANGES: dict[tuple[str, str], str] = {}

Verdicts = dict[str, dict[str, str]]


def campaign_verdicts(output: Path, faults: Iterable[str] = (), suites: Iterable[str] | None = None) -> dict[str, str]:
    """test id -> outcome of one in-process campaign against fresh reference endpoints."""
    with ReferenceEndpoints(faults=frozenset(faults)) as ref:
        result = run_campaign(
            reference_config(ref),
            suites=list(suites) if suites else None,
            output=output,
            lang="en",
            listener_callbacks=[sender_callback(ref)],
            mss_peer=ref.mss,
        )
    return {test.id: test.outcome.value for test in result.run.tests}


def capture(workdir: Path) -> Verdicts:
    verdicts = {CLEAN: campaign_verdicts(workdir / CLEAN, suites=GOLDEN_SUITES)}
    for fault, suites in FAULT_SUITES.items():
        verdicts[fault] = campaign_verdicts(workdir / fault, faults=[fault], suites=suites)
    return verdicts


def load_golden() -> Verdicts:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def translate(golden: Verdicts) -> Verdicts:
    """The golden verdicts as they must read after the declared renames and outcome changes."""
    translated: Verdicts = {}
    for scenario, tests in golden.items():
        out: dict[str, str] = {}
        for test_id, outcome in tests.items():
            for new_id in RENAMED.get(test_id, (test_id,)):
                out[new_id] = EXPECTED_CHANGES.get((scenario, new_id), outcome)
        translated[scenario] = out
    return translated


def write_golden(verdicts: Verdicts) -> None:
    GOLDEN.write_text(json.dumps(verdicts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
