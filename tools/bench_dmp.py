"""DMP-feeding bench: ITI-41 requests judged per second by the harness acting as the DMP, with a realistic CI-SIS
document (the pack's LDL-EES example), over mutual TLS on loopback, and the peak memory of the process.

Each request is built, its VIHF and its submission set signed (RSA-2048; XML-DSig and XAdES; the key loaded once),
sent as MTOM over a kept-alive
connection (one mutual-TLS handshake for the series) and judged by the simulator
(envelope, WS-Addressing, MTOM, VIHF signature and attributes, ebRIM metadata, hash and size, CDA header
against the metadata); the CDA schematrons are not in this figure (the suites run them once per document).
Runs in its own process so the peak memory (VmHWM) is this bench's. Nothing asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

REQUESTS = 200

_CHILD = textwrap.dedent(
    f"""
    import json, time
    from conformance import settings
    from conformance.config import Timeouts, TlsConfig
    from conformance.reference.dmp.pki import generate_dmp_pki
    from conformance.reference.dmp.simulator import DmpSimulator
    from conformance.reference.dmp.source import DocumentSource, SigningMaterial, registry_status, vihf_for
    from conformance.transport.soap import SoapClient, ThreadedSoapServer
    from conformance.validation.xds.build import provide_request
    from conformance.validation.xds.rules import XdsRules

    cda = (settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml").read_bytes()
    pki = generate_dmp_pki("1120456789", "Centre de soins du Belvédère")
    simulator = DmpSimulator(XdsRules(trusted_ca=pki.ca_cert.read_bytes()))
    server = ThreadedSoapServer(simulator.handle, ssl_context=pki.server_context()).start()
    tls = TlsConfig(ca_bundle=pki.ca_cert, client_cert=pki.client_cert, client_key=pki.client_key)
    client = SoapClient.create(server.base_url, tls=tls, timeouts=Timeouts(retries=0), sink=None, max_bytes=10**8)
    signing = SigningMaterial(pki.signing_cert.read_bytes(), pki.signing_key.read_bytes())
    source = DocumentSource(client, server.base_url + "/repository", signing=signing)
    vihf = vihf_for(cda)
    started = time.perf_counter()
    accepted = 0
    for _ in range({REQUESTS}):
        request = provide_request(cda)
        simulator.store.clear()  # the same document each time: not a duplicate for the registry
        accepted += registry_status(source.provide(request, vihf))[0] == "Success"
    elapsed = time.perf_counter() - started
    judged = len(simulator.judgements)
    connections = server.connections_accepted
    server.stop()
    pki.cleanup()
    print(json.dumps({{
        "ITI-41 requests judged": judged,
        "ITI-41 accepted": accepted,
        "ITI-41 judged per second (sign + send + judge, mTLS)": round(judged / elapsed, 1),
        "mutual-TLS handshakes (kept-alive connections)": connections,
        "CDA size bytes": len(cda),
        "peak rss MB": round(int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024, 1),
    }}))
    """
)


def run() -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:<60} {value}")
