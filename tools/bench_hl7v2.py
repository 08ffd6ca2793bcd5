"""HL7 v2 figures for `make bench`: parse+validate throughput on the ANS PAM FR ADT samples, and MLLP round trips
(send ADT, receive ACK) per second on loopback, one connection reused and one connection per message."""

from __future__ import annotations

import time
from pathlib import Path

from conformance import settings
from conformance.transport.mllp import ThreadedMllpServer, send_messages
from conformance.validation.hl7v2 import make_ack, validate_message
from conformance.validation.hl7v2.er7 import parse

DURATION = 2.0  # seconds per figure


def _adt_samples() -> list[bytes]:
    folder = settings.hl7v2_samples_dir() / "Vague 2" / "Consentement_DMP_PAMFR"
    return [path.read_bytes() for path in sorted(Path(folder).glob("*.er7"))]


def _rate(action, duration: float = DURATION) -> tuple[float, int]:
    action()  # warm up (profile loading, caches)
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration:
        count += action()
    return count / elapsed, count


def run() -> dict[str, object]:
    samples = _adt_samples()
    if not samples:
        return {"error": f"no ADT samples under {settings.hl7v2_samples_dir()}"}
    texts = [sample.decode("utf-8") for sample in samples]

    def parse_all() -> int:
        for text in texts:
            parse(text)
        return len(texts)

    def validate_all() -> int:
        for sample in samples:
            validate_message(sample, check_cda=False)
        return len(samples)

    figures: dict[str, object] = {"adt_samples": len(samples)}
    rate, _ = _rate(parse_all)
    figures["er7_parse_messages_per_second"] = round(rate, 1)
    rate, _ = _rate(validate_all)
    figures["adt_parse_validate_messages_per_second"] = round(rate, 1)

    with ThreadedMllpServer(lambda message: make_ack(message)) as server:
        batch = texts * 20

        def one_connection() -> int:
            send_messages("127.0.0.1", server.port, batch, timeout=10)
            return len(batch)

        def new_connections() -> int:
            for text in texts:
                send_messages("127.0.0.1", server.port, [text], timeout=10)
            return len(texts)

        rate, _ = _rate(one_connection)
        figures["mllp_round_trips_per_second_one_connection"] = round(rate, 1)
        rate, _ = _rate(new_connections)
        figures["mllp_round_trips_per_second_new_connection_each"] = round(rate, 1)
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<55} {value}")
