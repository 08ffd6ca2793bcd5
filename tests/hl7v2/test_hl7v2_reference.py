"""The base definitions (reference.py) read from their cache file are those hl7apy gives, a damaged cache file
is read again from hl7apy, and the segments hl7apy writes in another shape are judged as undefined ones (they
used to crash the validator)."""

from __future__ import annotations

import dataclasses
import marshal
from pathlib import Path

import pytest

from conformance.validation.hl7v2 import reference, validate_message


def _fresh(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    monkeypatch.setenv("HOPEN_CACHE_DIR", str(cache))
    for function in (reference._definitions, reference.base_fields, reference.base_components):
        function.cache_clear()


def _everything(version: str) -> tuple:
    segments, datatypes = reference._read_hl7apy(version)
    fields = {name: reference.base_fields(version, name) for name in segments}
    parts = {name: reference.base_components(version, name) for name in datatypes}
    return (
        {name: {k: dataclasses.astuple(v) for k, v in found.items()} for name, found in fields.items() if found},
        {name: tuple(dataclasses.astuple(v) for v in found) for name, found in parts.items()},
    )


@pytest.mark.parametrize("version", ["2.5", "2.6"])
def test_the_cache_file_gives_what_hl7apy_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    _fresh(monkeypatch, tmp_path)
    first = _everything(version)  # read from hl7apy, cache written
    (written,) = (tmp_path / "hl7v2").glob(f"base-{version}-*.marshal")
    _fresh(monkeypatch, tmp_path)
    assert _everything(version) == first  # read from the cache file
    written.write_bytes(b"\x00damaged")
    _fresh(monkeypatch, tmp_path)
    assert _everything(version) == first  # read from hl7apy again
    written.write_bytes(marshal.dumps(({"PID": ((3, "PATIENT_IDENTIFIER_LIST"),)}, {})))
    _fresh(monkeypatch, tmp_path)
    assert _everything(version) == first  # a loadable file of another shape: read from hl7apy again
    assert first[0]["PID"][3] == (3, "PATIENT_IDENTIFIER_LIST", "CX", None, 1, -1)
    assert [part[2] for part in first[1]["HD"]] == ["IS", "ST", "ID"]


def test_segments_hl7apy_writes_in_another_shape_are_undefined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh(monkeypatch, tmp_path)
    assert reference.base_fields("2.7", "QRD") is None
    message = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|1|P|2.7\rQRD|x\rANYHL7SEGMENT|y\r"
    outcome = validate_message(message, check_cda=False)  # raised IndexError before
    assert outcome.findings
