"""CDA validation throughput: XSD + schematrons on the ANS examples, cold and warm, and the compile cache.

Figures (no assertions; the issue's targets are printed beside them):
* compile of every schematron a run needs: without any cache (generate XSLT + Saxon compile), and with the
  on-disk XSLT cache (Saxon compile only), in a fresh process each so the in-memory cache cannot help;
* documents/second for XSD alone (the floor), and for the whole validation (XSD + header + volet + 5 profile
  schematrons) once everything is compiled (warm), as a ratio to that floor; the first document of a run (cold);
* a plain `conformance validate` of one document (a new process, XSLT cache on disk), wall time and peak memory;
* peak memory of one process with every schematron of the pack compiled whole;
* the validation service's first result: sent right at start and 4 s later (both during the engine process's
  warm-up, answered by the cold path), once the engine process takes CDA documents (its profiles compiled,
  the rest of its warm-up going on) and once it is ready.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _timed(spent: dict[str, float], stage: str, work: Callable[[], Any]) -> Any:
    started = time.process_time()
    result = work()
    spent[stage] = spent.get(stage, 0.0) + time.process_time() - started
    return result


def _stage_cpu(documents: list[tuple[str, bytes]], rounds: int = 3) -> dict[str, float]:
    """CPU milliseconds per document of each stage of a warm validation, each the best of `rounds` passes
    over the documents: lxml parse, XSD, header rules, Saxon's parse, each schematron's run (SVRL read
    included; the volets summed as "volet"), the whole validate_document, and what it spends beside those
    stages (grouping, lines, Python; each figure being its own best pass, this one can be slightly
    negative). Every schematron must be compiled whole already."""
    from conformance.validation.cda import schematron as sch
    from conformance.validation.cda import validate_document
    from conformance.validation.cda.document import (
        check_header,
        check_xsd,
        choose_schematrons,
        find_clinical_document,
        parse_document,
    )
    from conformance.validation.cda.pack import load_pack
    from conformance.validation.options import ValidateOptions

    pack = load_pack()
    best: dict[str, float] = {}
    for _ in range(rounds):
        spent: dict[str, float] = {}
        timed = functools.partial(_timed, spent)
        for name, data in documents:
            timed("whole", functools.partial(validate_document, data, name=name))
            root, _problems = timed("lxml parse", functools.partial(parse_document, data))
            document = find_clinical_document(root)
            assert document is not None  # the pack's examples are CDA documents
            timed("XSD", functools.partial(check_xsd, document, pack))
            timed("header rules", functools.partial(check_header, document, pack))
            choices, _notes = choose_schematrons(document, pack, ValidateOptions())
            parsed = timed("Saxon parse", functools.partial(sch.parse_for_saxon, data))
            for choice in choices:
                compiled = sch.compiled_whole(choice.path)
                if compiled is not None:
                    stage = "volet" if choice.label == "volet" else choice.path.name
                    timed(stage, functools.partial(compiled.run, parsed))
        for stage, seconds in spent.items():
            best[stage] = min(best.get(stage, seconds), seconds)
    whole = best.pop("whole")
    best["rest (grouping, lines, Python)"] = whole - sum(best.values())  # each figure is its own best pass
    best["whole validate_document"] = whole
    return {stage: 1000 * seconds / len(documents) for stage, seconds in best.items()}


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
    for name, data in documents:  # untimed: the value sets the cold pass read are pooled on a second run
        validate_document(data, name=name)
    rounds = 3
    per_schematron: dict[str, float] = {}
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(rounds):
        for name, data in documents:
            outcome = validate_document(data, name=name)
            for schematron, run in outcome.details.get("schematron_runs", {}).items():
                key = "volet" if run["role"] == "volet" else schematron
                per_schematron[key] = per_schematron.get(key, 0.0) + run["seconds"]
    warm = time.perf_counter() - started
    warm_cpu = time.process_time() - cpu
    stages = _stage_cpu(documents)
    stage_figures = {f"warm_cpu_ms_per_document stage {name}": round(ms, 1) for name, ms in stages.items()}
    stage_figures["warm_docs_per_cpu_second (best of 3 passes; per core)"] = round(
        1000 / stages["whole validate_document"], 2
    )
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
        **stage_figures,
        "cold_first_pass_seconds (6 volets, in-process)": round(cold, 2),
        "warm_docs_per_second (XSD+header+6 schematrons)": round(rounds * len(documents) / warm, 2),
        "warm_ms_per_document": round(1000 * warm / (rounds * len(documents)), 1),
        "warm_cpu_ms_per_document (this process, Saxon's threads included)": round(
            1000 * warm_cpu / (rounds * len(documents)), 1
        ),
        "xsd_only_docs_per_second (88 examples)": round(len(all_docs) / xsd, 1),
    }


_ALL_WHOLE = r"""
import json, resource, time
from conformance.validation.cda import schematron as sch
from conformance.validation.cda.pack import load_pack
pack = load_pack()
paths = list(pack.profile_schematrons().values()) + [v.path for v in pack.volets]
started = time.perf_counter()
for path in paths:
    try:
        sch.compile_schematron(path)
    except sch.SchematronError:
        pass
print(json.dumps({"count": len(paths), "seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_SERVICE = r"""
import http.client, json, sys, time
from pathlib import Path
from conformance.service.server import ValidationService
from conformance import settings
examples = settings.cda_pack_dir() / "ExemplesCDA"
names = json.loads(sys.argv[1])
def post(port, name):
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", "/validate?format=outcomes", body=(examples / name).read_bytes())
    response = connection.getresponse()
    response.read()
    connection.close()
    return time.perf_counter() - started
def cpu_of_engines():  # the engine processes' CPU so far (children of this process), from /proc
    import os
    total = 0.0
    for pid in os.listdir("/proc"):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return total
figures = {}
started = time.perf_counter()
service = ValidationService(warm=True)
service.start()
figures["start"] = time.perf_counter() - started
port = service.httpd.server_address[1]
cpu = time.process_time()
figures["during_warm_up"] = post(port, names[0])
figures["during_warm_up_cpu"] = time.process_time() - cpu
time.sleep(max(0.0, 4.0 - (time.perf_counter() - started)))  # the engine process is compiling by now
figures["mid_warm_up_still_warming"] = not service.state.ready.is_set()
figures["mid_warm_up_engine_cpu"] = cpu_of_engines()
cpu = time.process_time()
figures["mid_warm_up"] = post(port, names[2])
figures["mid_warm_up_cpu"] = time.process_time() - cpu
service.state.cda_ready.wait(900)
figures["cda_ready"] = time.perf_counter() - started
figures["after_cda_ready_still_warming"] = not service.state.ready.is_set()
figures["after_cda_ready"] = post(port, names[3])
service.state.ready.wait(900)
figures["warm_up"] = time.perf_counter() - started
figures["after_ready"] = post(port, names[1])
figures["after_ready_again"] = post(port, names[1])
service.stop()
print(json.dumps(figures))
"""


def _child(code: str, *args: str, cache_dir: str | None = None) -> dict:
    env = {**os.environ, **({"HOPEN_CACHE_DIR": cache_dir} if cache_dir else {})}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _plain_validate(name: str) -> tuple[float, float]:
    """Wall seconds and peak MiB of `conformance validate` on one example in a new process."""
    from conformance import settings

    path = settings.cda_pack_dir() / "ExemplesCDA" / name
    command = [str(Path(sys.executable).with_name("conformance")), "validate", str(path)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _pid, _status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the other benches'
    child.returncode = 0
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def run() -> dict[str, object]:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cda-") as cache:
        empty = _fresh_process(cache)  # nothing cached: generates and stores the XSLT
        cached = _fresh_process(cache)  # fresh process, XSLT read from the disk cache
    figures["compile_seconds_no_cache (6 schematrons)"] = round(empty["compile"], 2)
    figures["compile_seconds_disk_cache (6 schematrons)"] = round(cached["compile"], 2)
    figures["disk_cache_hits"] = f"{cached['hits']}/{cached['count']}"
    figures["cold_first_document_seconds (after compile)"] = round(cached["first_document"], 2)
    # Children first: a child's peak memory (ru_maxrss) starts from this process's size when it is forked.
    _plain_validate(SAMPLE[1])  # the XSLT of this volet and of the profiles on disk
    wall, peak = _plain_validate(SAMPLE[0])
    figures["plain `conformance validate` one document, cold process (s, target < 5)"] = round(wall, 2)
    figures["plain `conformance validate` peak memory (MiB)"] = round(peak, 1)
    whole = _child(_ALL_WHOLE)
    figures[f"every schematron compiled whole ({whole['count']}): seconds"] = round(whole["seconds"], 1)
    figures["every schematron compiled whole: peak memory (MiB, target < 1024)"] = round(whole["peak_mib"], 1)
    service = _child(_SERVICE, json.dumps([SAMPLE[3], SAMPLE[4], SAMPLE[5], SAMPLE[2]]))
    figures["service start (modules, pack index, XSD, profiles' value sets loaded; s)"] = round(service["start"], 2)
    figures["service first result, sent at start during the warm-up (s, target < 1)"] = round(
        service["during_warm_up"], 2
    )
    figures["service first result during the warm-up: CPU of the serving process (s)"] = round(
        service["during_warm_up_cpu"], 2
    )
    figures["service result sent 4 s into the warm-up, another volet (s, target < 1)"] = round(
        service["mid_warm_up"], 2
    )
    figures["service result 4 s into the warm-up: CPU of the serving process (s)"] = round(
        service["mid_warm_up_cpu"], 2
    )
    figures["service still warming when it was sent / engine process CPU by then (s)"] = (
        f"{service['mid_warm_up_still_warming']} / {service['mid_warm_up_engine_cpu']:.1f}"
    )
    figures["service engine takes CDA documents (profiles compiled and run once; s)"] = round(service["cda_ready"], 1)
    figures["service result once the engine takes CDA, another volet (s, target < 1)"] = round(
        service["after_cda_ready"], 2
    )
    figures["service still warming (volets, FHIR, HL7 v2) when that one was sent"] = service[
        "after_cda_ready_still_warming"
    ]
    figures["service warm-up, every schematron (s)"] = round(service["warm_up"], 1)
    figures["service first result once ready, first document of its volet (s, target < 1)"] = round(
        service["after_ready"], 2
    )
    figures["service second result, same document (s)"] = round(service["after_ready_again"], 2)
    warm = _warm_throughput()
    figures.update(warm)
    floor = warm["xsd_only_docs_per_second (88 examples)"]
    figures["ratio warm full validation / XSD-only floor"] = round(
        warm["warm_docs_per_second (XSD+header+6 schematrons)"] / floor, 4
    )
    figures["warm full validation docs/s per core (target >= 20, goal 100)"] = warm[
        "warm_docs_per_second (XSD+header+6 schematrons)"
    ]
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<55} {value}")
