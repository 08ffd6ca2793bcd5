"""Coverage-guided fuzzing with atheris (libFuzzer) of the parsers that read outside input.

    python tests/fuzz/atheris_targets.py TARGET CORPUS_DIR -runs=20000 -max_total_time=60

TARGET: fhir, hl7v2, mllp, cda, config. An uncaught exception is a crash (exit code non-zero, the input is
written as crash-<sha1> in the working directory). Run by tests/fuzz/test_fuzz_atheris.py (slow, `make fuzz`).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["conformance"]):
    from conformance.config import ConfigError, load_config
    from conformance.transport.mllp import FrameDecoder, MllpCharsetError, decode_message
    from conformance.validation import cda, fhir, hl7v2
    from conformance.validation.options import ValidateOptions

OPTIONS = ValidateOptions(lang="en")
CONFIG_FILE = Path(tempfile.mkdtemp(prefix="hopen-atheris-")) / "campaign.toml"


def _validate(module):
    def target(data: bytes) -> None:
        outcomes = module.validate_input(data, name="atheris", options=OPTIONS)
        if not outcomes:
            raise AssertionError("no outcome")
        for outcome in outcomes:
            outcome.to_dict()

    return target


def _mllp(data: bytes) -> None:
    decoder = FrameDecoder(4096)
    cut = data[0] if data else 0
    items = decoder.feed(data[1 : 1 + cut]) + decoder.feed(data[1 + cut :]) + decoder.eof()
    for item in items:
        if item.error is None:
            with contextlib.suppress(MllpCharsetError):
                decode_message(item.payload)


def _config(data: bytes) -> None:
    CONFIG_FILE.write_bytes(data)
    with contextlib.suppress(ConfigError):
        load_config(CONFIG_FILE)


TARGETS = {"fhir": _validate(fhir), "hl7v2": _validate(hl7v2), "cda": _validate(cda), "mllp": _mllp, "config": _config}


def main() -> None:
    name = sys.argv.pop(1)
    sys.path.insert(0, str(Path(__file__).parent))
    atheris.Setup(sys.argv, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
