"""Inputs the fuzz targets found, kept as regression tests (see /work/notes/bugs.md and hardening.md)."""

from __future__ import annotations

import pytest
from fuzz_support import check_outcomes, check_rejected

from conformance.validation.options import ValidateOptions

OPTIONS = ValidateOptions(lang="en")


@pytest.mark.parametrize("body", [b'{"resourceType": []}', b'{"resourceType": {}}', b'{"resourceType": [1]}'])
def test_fhir_non_string_resource_type(body: bytes) -> None:
    """bugs.md #1 (fixed in the fhir area): TypeError escaped."""
    from conformance.validation.fhir import validate_input

    outcomes = check_outcomes(validate_input(body, name="regression", options=OPTIONS))
    check_rejected(outcomes)


def test_fhir_bundle_entry_not_an_array() -> None:
    """bugs.md #2 (fixed in the fhir area): TypeError escaped."""
    from conformance.validation.fhir import validate_input

    outcomes = check_outcomes(validate_input(b'{"resourceType":"Bundle","entry":1}', name="r", options=OPTIONS))
    check_rejected(outcomes)


@pytest.mark.parametrize("contained", ["1", '"x"', "true", '{"resourceType":"Patient","contained":[{}]}'])
def test_fhir_contained_not_an_array(contained: str) -> None:
    """bugs.md #3 (fixed): dom-2..5 and ref-1 iterated `contained` whatever its type."""
    from conformance.validation.fhir import validate_input

    body = f'{{"resourceType":"Patient","contained":{contained}}}'.encode()
    outcomes = check_outcomes(validate_input(body, name="regression", options=OPTIONS))
    assert any("contained must be a JSON Array" in f.message_en for o in outcomes for f in o.errors)


@pytest.mark.parametrize(
    "data",
    [
        {"fhir": {"base_url": "http://[::1"}},
        {"fhir": {"base_url": "http://host:99999/fhir"}},
        {"fhir": {"base_url": "http://host:abc/fhir"}},
        {
            "fhir": {
                "auth": {"type": "oauth2-client-credentials", "token_url": "http://[x", "client_id": "a"}
                | {"client_secret": "s"}
            }
        },
        {"timeouts": {"connect": float("nan")}},
        {"timeouts": {"total": float("inf")}},
        {"mllp": {"listener": {"wait_seconds": float("nan")}}},
        {"run": {"output": "~no-such-user-hardening/runs"}},
        {"tls": {"ca_bundle": "~no-such-user-hardening/ca.pem"}},
    ],
)
def test_config_unusable_values_are_config_errors(data: dict) -> None:
    """Fixed in conformance/config.py: these raised ValueError (URLs) or were accepted and broke the transport."""
    from conformance.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="regression.toml")
    assert caught.value.file == "regression.toml" and caught.value.key


@pytest.mark.parametrize("name", ["\x00", "\x00evil.xml", ""])
def test_xdm_entry_with_empty_name(name: str) -> None:
    """Fixed in conformance/validation/cda/xdm.py: an entry name cut at NUL made ZipInfo.is_dir() raise."""
    import io
    import zipfile

    from conformance.validation.cda import validate_input

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"<x/>")
    outcomes = check_outcomes(validate_input(buffer.getvalue(), name="regression.zip", options=OPTIONS))
    assert outcomes[0].kind == "xdm"
    assert any(f.rule == "xdm-zip-path-traversal" for f in outcomes[0].findings)
