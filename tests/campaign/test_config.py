"""The TOML run configuration: parsing, validation errors naming file and key, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.config import ConfigError, Secret, load_config, parse_config
from conformance.settings import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "campaign.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_configuration_loads():
    config = load_config(EXAMPLE)
    assert config.fhir.base_url == "https://sih.example.test/fhir"
    assert config.mllp.port == 6661 and config.mllp.listener.port == 2575
    assert config.test_data.patients[0].oid == "1.2.250.1.213.1.4.10"
    assert not config.test_data.patients[1].qualified
    assert config.tls.verify is True and config.warnings() == []


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[fhir]\nbase_ulr = 'http://x'\n", "fhir.base_ulr"),
        ("[fhir]\nbase_url = 'ftp://x'\n", "fhir.base_url"),
        ("[fhir.auth]\ntype = 'bearer'\n", "fhir.auth.token"),
        ("[fhir.auth]\ntype = 'kerberos'\n", "fhir.auth.type"),
        (
            "[fhir.auth]\ntype = 'oauth2-client-credentials'\ntoken_url='https://a/t'\nclient_id='c'\n",
            "fhir.auth.client_secret",
        ),
        ("[timeouts]\nread = 'slow'\n", "timeouts.read"),
        ("[timeouts]\nconnect = -1\n", "timeouts.connect"),
        ("[mllp]\nhost = 'h'\n", "mllp.port"),
        ("[mllp]\nhost = 'h'\nport = 70000\n", "mllp.port"),
        ("[run]\nsuites = ['nope']\n", "run.suites"),
        ("[run]\nlanguage = 'de'\n", "run.language"),
        ("[tls]\nca_bundle = 'missing.pem'\n", "tls.ca_bundle"),
        ("[[test_data.patients]]\nins = '123'\n", "test_data.patients[0].ins"),
        ("[[test_data.patients]]\nfamily = 'X'\n", "test_data.patients[0].ins"),
        ("[documents]\nfiles = ['absent.xml']\n", "documents.files"),
        ("[documents]\nfiles = 'one.xml'\n", "documents.files"),
    ],
)
def test_errors_name_file_and_key(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert str(path) in caught.value.render("fr") and key in caught.value.render("en")


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "[fhir\nbase_url="))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_secrets_never_shown_and_listed_for_redaction(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "[fhir.auth]\ntype = 'basic'\nusername = 'u'\npassword = 'pa55-w0rd-XYZ'\n"
            "[tls]\nverify = false\nclient_key_password = 'k3y-pass-QRS'\n",
        )
    )
    assert isinstance(config.fhir.auth.password, Secret)
    assert "pa55-w0rd-XYZ" not in repr(config) and "pa55-w0rd-XYZ" not in str(config.fhir.auth.password)
    assert set(config.secrets()) == {"pa55-w0rd-XYZ", "k3y-pass-QRS"}
    redacted = str(config.redacted())
    assert "pa55-w0rd-XYZ" not in redacted and "k3y-pass-QRS" not in redacted and "***" in redacted
    assert any("TLS" in w for w in config.warnings())


def test_relative_paths_resolve_against_the_file(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    config = load_config(write(tmp_path, "[tls]\nca_bundle = 'ca.pem'\n[run]\noutput = 'runs'\n"))
    assert config.tls.ca_bundle == tmp_path / "ca.pem"
    assert config.run.output == tmp_path / "runs"


def test_produced_documents_are_files_or_folders_relative_to_the_file(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "cr.xml").write_text("<x/>")
    config = load_config(write(tmp_path, "[documents]\nfiles = ['cr.xml', 'out']\n"))
    assert config.documents.files == [tmp_path / "cr.xml", tmp_path / "out"]


def test_defaults_from_empty_mapping():
    config = parse_config({})
    assert config.fhir.base_url is None and config.mllp.listener is None
    assert config.run.language == "fr" and config.tls.verify
