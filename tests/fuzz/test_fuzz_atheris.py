"""Coverage-guided fuzzing (atheris / libFuzzer) of the same parsers, seeded with real inputs; `make fuzz` only.

Each target runs in a subprocess (libFuzzer owns the process) for HOPEN_ATHERIS_SECONDS (default 60) from a
corpus of real examples; any uncaught exception is a crash file and a failure naming it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import settings as paths

atheris = pytest.importorskip("atheris", reason="atheris not installed (Linux x86_64 dev dependency)")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SCRIPT = Path(__file__).parent / "atheris_targets.py"
SECONDS = int(os.environ.get("HOPEN_ATHERIS_SECONDS", "60"))


def corpus_for(target: str) -> list[bytes]:
    if target == "fhir":
        from conformance.packages import load_context

        core = next(p for p in load_context().packages if p.name == "hl7.fhir.fr.core")
        return [f.read_bytes() for f in sorted((core.path / "example").glob("*.json"))[:40]]
    if target in ("hl7v2", "mllp"):
        files = [p for p in paths.hl7v2_samples_dir().rglob("*") if p.suffix.lower() in (".er7", ".hl7")]
        seeds = [f.read_bytes() for f in sorted(files)[:40]]
        return [b"\x05\x0b" + s + b"\x1c\r" for s in seeds] if target == "mllp" else seeds
    if target == "cda":
        from conformance.validation.cda.xdm_build import build_xdm

        examples = sorted((paths.cda_pack_dir() / "ExemplesCDA").glob("*.xml"), key=lambda p: p.stat().st_size)[:3]
        documents = [p.read_bytes() for p in examples]
        return [*documents, build_xdm(documents[:1])]
    return [(paths.REPO_ROOT / "examples" / "campaign.toml").read_bytes()]


@pytest.mark.parametrize("target", ["fhir", "hl7v2", "mllp", "cda", "config"])
def test_atheris_target_finds_no_crash(tmp_path: Path, target: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, seed in enumerate(corpus_for(target)):
        (corpus / f"seed-{number}").write_bytes(seed)
    command = [
        sys.executable,
        str(SCRIPT),
        target,
        str(corpus),
        f"-max_total_time={SECONDS}",
        "-rss_limit_mb=3072",
        "-timeout=30",
        "-max_len=65536",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS * 4 + 300)
    crashes = sorted(p.name for p in tmp_path.glob("crash-*")) + sorted(p.name for p in tmp_path.glob("timeout-*"))
    assert done.returncode == 0 and not crashes, (crashes, done.stderr[-4000:])
