"""CDA validation throughput: XSD + schematrons on the ANS examples, cold and warm, and the compile cache.

Figures (no assertions):
* compile of every schematron a run needs: without any cache (generate XSLT + Saxon compile), and with the
  on-disk XSLT cache (Saxon compile only), in a fresh process each so the in-memory cache cannot help;
* documents/second for XSD alone, and for the whole validation (XSD + header + volet + 5 profile
  schematrons) once everything is compiled (warm), and the first document of a run (cold).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = [
    "CANCER-CR-GM_2022.01_AnalyseRealisee.xml",
    "BIO-CR-BIO_2024.01_Microbiologie_V2.xml",
    "eP-MED-DM_2024.01_PosoStruct.xml",
    "LDL-EES_2022.01.xml",
    "VAC-NOTE_2023.01.xml",
    "IMG-DA-IMG_2024.01_TEP_Thorax.xml",
]

_CHILD = r"""
import json, sys, time
from pathlib import Path
from conformance import settings
from conformance.validation.cda import validate_document
from conformance.validation.cda import schematron as sch
from conformance.validation.cda.pack import load_pack
pack = load_pack()
names = json.loads(sys.argv[1])
paths = [pack.profile_schematrons()[k] for k in pack.profile_schematrons()]
paths.append(pack.find_schematron("CANCER-CR-GM_2022.01"))
started = time.perf_counter()
hits = 0
for path in paths:
    hits += sch.compile_schematron(path).cache_hit
compile_seconds = time.perf_counter() - started
examples = settings.cda_pack_dir() / "ExemplesCDA"
started = time.perf_counter()
validate_document((examples / names[0]).read_bytes(), name=names[0])
first = time.perf_counter() - started
print(json.dumps({"compile": compile_seconds, "hits": hits, "count": len(paths), "first_document": first}))
"""


def _fresh_process(cache_dir: str) -> dict:
    env = {**os.environ, "HOPEN_CACHE_DIR": cache_dir}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(SAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _warm_throughput() -> dict[str, float]:
    from lxml import etree

    from conformance import settings
    from conformance.validation.cda import validate_document
    from conformance.validation.cda.document import check_xsd, find_clinical_document
    from conformance.validation.cda.pack import load_pack

    examples = settings.cda_pack_dir() / "ExemplesCDA"
    documents = [(name, (examples / name).read_bytes()) for name in SAMPLE]
    started = time.perf_counter()
    for name, data in documents:  # cold: first use of each volet schematron in this process
        validate_document(data, name=name)
    cold = time.perf_counter() - started
    rounds = 3
    per_schematron: dict[str, float] = {}
    started = time.perf_counter()
    for _ in range(rounds):
        for name, data in documents:
            outcome = validate_document(data, name=name)
            for schematron, run in outcome.details.get("schematron_runs", {}).items():
                key = "volet" if run["role"] == "volet" else schematron
                per_schematron[key] = per_schematron.get(key, 0.0) + run["seconds"]
    warm = time.perf_counter() - started
    pack = load_pack()
    all_docs = [p.read_bytes() for p in sorted(examples.glob("*.xml"))]
    started = time.perf_counter()
    for data in all_docs:
        check_xsd(find_clinical_document(etree.fromstring(data)), pack)
    xsd = time.perf_counter() - started
    breakdown = {
        f"warm_ms_per_document {name}": round(1000 * seconds / (rounds * len(documents)), 1)
        for name, seconds in sorted(per_schematron.items())
    }
    return {
        **breakdown,
        "cold_first_pass_seconds (6 volets, in-process)": round(cold, 2),
        "warm_docs_per_second (XSD+header+6 schematrons)": round(rounds * len(documents) / warm, 2),
        "warm_ms_per_document": round(1000 * warm / (rounds * len(documents)), 1),
        "xsd_only_docs_per_second (88 examples)": round(len(all_docs) / xsd, 1),
    }


def run() -> dict[str, object]:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cda-") as cache:
        empty = _fresh_process(cache)  # nothing cached: generates and stores the XSLT
        cached = _fresh_process(cache)  # fresh process, XSLT read from the disk cache
    figures["compile_seconds_no_cache (6 schematrons)"] = round(empty["compile"], 2)
    figures["compile_seconds_disk_cache (6 schematrons)"] = round(cached["compile"], 2)
    figures["disk_cache_hits"] = f"{cached['hits']}/{cached['count']}"
    figures["cold_first_document_seconds (after compile)"] = round(cached["first_document"], 2)
    figures.update(_warm_throughput())
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<55} {value}")
