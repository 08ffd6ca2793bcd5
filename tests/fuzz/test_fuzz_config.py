"""Fuzzing the TOML run configuration (conformance.config): any file or table gives a RunConfig or a
ConfigError naming the file (and the key), in French and English; never another exception."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fuzz_support import fuzz, mutated
from hypothesis import strategies as st

from conformance import settings as paths
from conformance.config import ConfigError, RunConfig, load_config, parse_config

pytestmark = pytest.mark.timeout(600)

EXAMPLE = (paths.REPO_ROOT / "examples" / "campaign.toml").read_bytes()
SECTIONS = {
    "run": ["name", "suites", "language", "output", "programme", "signing_key", "pseudonymize"],
    "fhir": ["base_url", "packages", "max_response_bytes", "allow_cross_host_redirects", "max_redirects", "auth"],
    "tls": ["verify", "ca_bundle", "client_cert", "client_key", "client_key_password"],
    "timeouts": ["connect", "read", "total", "retries", "retry_backoff"],
    "mllp": ["host", "port", "tls", "max_frame_bytes", "listener"],
    "hl7v2": ["sending_application", "sending_facility", "receiving_application", "receiving_facility", "documents"],
    "test_data": ["patients", "practitioners", "organizations", "document_patient", "cda_document"],
}
AUTH_KEYS = ["type", "username", "password", "token", "token_url", "client_id", "client_secret", "private_key"]
PATIENT_KEYS = ["ins", "oid", "family", "given", "birth_date", "gender", "id", "qualified", "ipp", "ipp_system"]
LISTENER_KEYS = ["host", "port", "wait_seconds", "expect_messages"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "https://x.test/fhir",
            "http://[::1",
            "http://h:99999/f",
            "http://h:x/f",
            "fhir-basics",
            "fr",
            "basic",
            "bearer",
            "279035121518989",
            "../x",
            "~no-such-user/x",
            "\x00",
        ]
    )
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def table(keys: list[str], nested: dict[str, st.SearchStrategy] | None = None) -> st.SearchStrategy:
    def value_for(key: str) -> st.SearchStrategy:
        return (nested or {}).get(key, values) | values

    return st.lists(st.sampled_from([*keys, "unknown_key"]), max_size=len(keys), unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({k: value_for(k) for k in chosen})
    )


nested = {
    "auth": table(AUTH_KEYS),
    "listener": table(LISTENER_KEYS),
    "patients": st.lists(table(PATIENT_KEYS), max_size=3),
}
configurations = st.fixed_dictionaries(
    {}, optional={section: table(keys, nested) | values for section, keys in SECTIONS.items()}
)


def check_config_error(exc: ConfigError, source: str) -> None:
    assert exc.file == source
    assert exc.render("fr") and exc.render("en") and exc.message_fr and exc.message_en


def assert_usable(config: RunConfig) -> None:
    """What the transports will do with an accepted configuration must not fail (bugs found by this target)."""
    t = config.timeouts
    assert all(math.isfinite(v) for v in (t.connect, t.read, t.total, t.retry_backoff))
    if config.mllp.listener:
        assert math.isfinite(config.mllp.listener.wait_seconds)
    for url in (config.fhir.base_url, config.fhir.auth.token_url):
        if url:
            urlsplit(url).port  # noqa: B018 - raises ValueError on a port the transport cannot use


def test_example_configuration_loads() -> None:
    assert isinstance(load_config(paths.REPO_ROOT / "examples" / "campaign.toml"), RunConfig)


def test_fuzz_config_tables(budget: str, tmp_path: Path) -> None:
    def check(data: dict) -> None:
        try:
            config = parse_config(data, source="fuzz.toml", base_dir=tmp_path)
        except ConfigError as exc:
            check_config_error(exc, "fuzz.toml")
            return
        assert isinstance(config, RunConfig)
        config.redacted(), config.secrets(), config.warnings(), config.target()
        assert_usable(config)

    fuzz(budget, configurations, check, scale=4)


def test_fuzz_config_files(budget: str, tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            config = load_config(path)
        except ConfigError as exc:
            check_config_error(exc, str(path))
            return
        assert isinstance(config, RunConfig)

    fuzz(budget, mutated([EXAMPLE], max_ops=4) | st.binary(max_size=200), check, scale=3)
