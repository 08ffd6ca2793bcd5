"""A mail client nobody here wrote, as the system under test: msmtp (Debian) submits an MSSanté message to the
harness's operator through `[mssante] trigger_command`. Its clean configuration passes; each defect of its own
configuration (no STARTTLS, PLAIN, no certificate check, default GnuTLS priorities, legacy TLS allowed) is
detected by the test of its requirement."""

from __future__ import annotations

import io
import shutil
import textwrap
from pathlib import Path

import pytest

from conformance.campaign import run_campaign
from conformance.campaign.reference import reference_test_data
from conformance.config import RunConfig, Secret
from conformance.reference.mssante.system import NIL, SENDER, ReferenceMssSystem
from conformance.reference.test_data import build_test_data

TOKEN = "msmtp-psc-token"
PASSWORD = "msmtp-password"
MSSANTE_PRIORITIES = (
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+AES-256-CBC:+AES-128-CBC"
    ":-MAC-ALL:+AEAD:+SHA256:+SHA384:-KX-ALL:+ECDHE-RSA"
)
CLEAN = {
    "tls": "on",
    "tls_starttls": "on",
    "tls_certcheck": "on",
    "tls_priorities": MSSANTE_PRIORITIES,
    "auth": "xoauth2",
    "passwordeval": f"echo {TOKEN}",
}
# msmtp defect -> (settings changed, the tests that must fail)
DEFECTS = {
    "no-starttls": ({"tls": "off", "tls_starttls": "off"}, {"transport/starttls"}),
    "auth-plain": ({"auth": "plain", "passwordeval": f"echo {PASSWORD}"}, {"transport/authentication"}),
    "no-certificate-check": (
        {"tls_certcheck": "off"},
        {"tls/refuses-expired-certificate", "tls/refuses-untrusted-ca"},
    ),
    "default-priorities": ({"tls_priorities": "NORMAL"}, {"tls/refuses-other-cipher"}),
    "legacy-tls": (
        {
            "tls_priorities": "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+SHA1:+AES-256-CBC:+AES-128-CBC:%VERIFY_ALLOW_SIGN_WITH_SHA1"
        },
        {"tls/refuses-legacy-tls", "tls/refuses-other-cipher"},
    ),
}

pytestmark = pytest.mark.skipif(shutil.which("msmtp") is None, reason="msmtp not installed (make system-deps)")


def _wrapper(folder: Path, settings: dict[str, str], message: Path) -> Path:
    lines = "\n".join(f"{key} {value}" for key, value in settings.items())
    script = folder / "envoyer.sh"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            set -e
            rc="{folder}/msmtprc-$$"
            cat > "$rc" <<CONF
            account default
            host $HOPEN_MSS_HOST
            port $HOPEN_MSS_PORT
            from {SENDER}
            user {SENDER}
            tls_trust_file $HOPEN_MSS_CA
            timeout 10
            CONF
            cat >> "$rc" <<'CONF'
            """
        )
        + lines
        + f'\nCONF\nchmod 600 "$rc"\nmsmtp -C "$rc" -t < {message} || true\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _verdicts(tmp_path: Path, settings: dict[str, str]) -> dict[str, tuple[str, list[str]]]:
    data = build_test_data()
    message = tmp_path / "message.eml"
    message.write_bytes(ReferenceMssSystem(data).document_message()[0])
    config = RunConfig(source="<msmtp>")
    config.test_data = reference_test_data_like(data)
    cfg = config.mssante
    cfg.nil = NIL
    cfg.wait_seconds = 8.0
    cfg.imap.enabled = False  # msmtp only submits
    cfg.rules_disabled = ["mss-xdm"]  # the CDA pass is judged elsewhere; here the client's transport is
    cfg.trigger_command = [str(_wrapper(tmp_path, settings, message))]
    cfg.operator.tokens = [Secret(TOKEN)]
    cfg.operator.passwords = {SENDER: Secret(PASSWORD)}
    result = run_campaign(config, suites=["mssante-client"], output=tmp_path / "run", lang="en", progress=io.StringIO())
    assert result.run.complete
    return {t.id.split("/", 1)[1]: (t.outcome.value, t.messages) for t in result.run.tests}


def reference_test_data_like(data):
    class _Ref:
        test_data = data

    return reference_test_data(_Ref())


def test_clean_msmtp_configuration_passes(tmp_path):
    verdicts = _verdicts(tmp_path, CLEAN)
    not_passed = {k: v for k, v in verdicts.items() if v[0] not in ("passed", "skipped")}
    assert not not_passed


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_msmtp_defect_is_detected(tmp_path, defect):
    changes, expected = DEFECTS[defect]
    verdicts = _verdicts(tmp_path, {**CLEAN, **changes})
    failed = {k for k, (outcome, _) in verdicts.items() if outcome == "failed"}
    assert expected <= failed, {k: verdicts[k] for k in expected}
