"""Seals someone who did not run the tool can trust: organisation keys, trusted fingerprints, and a verify
that states nothing about the key beyond what the signature and the trust list prove (real CLI)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from support.sample import fabricate_run

from conformance.evidence.sealing import MANIFEST, SIGNATURE, key_fingerprint
from conformance.reports import finalize_run

CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    return subprocess.run([CONFORMANCE, *args], capture_output=True, text=True, timeout=timeout, env=environment)


@pytest.fixture
def trust_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "trusted-keys"
    monkeypatch.setenv("HOPEN_TRUSTED_KEYS", str(path))
    return path


@pytest.fixture
def org_key(tmp_path: Path, trust_file: Path) -> tuple[Path, str]:
    key = tmp_path / "org" / "cle-sceau.pem"
    done = _cli("keys", "create", str(key), "--organisation", "CH Exemple")
    assert done.returncode == 0, done.stderr
    fingerprint = next(w for w in done.stdout.split() if w.startswith("SHA256:"))
    return key, fingerprint.rstrip(".")


@pytest.fixture
def org_run(tmp_path: Path, org_key: tuple[Path, str]) -> Path:
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir)
    finalize_run(run_dir, run, signing_key=org_key[0])
    return run_dir


def _reseal_with_fresh_key(run_dir: Path) -> str:
    """What a forger does: edit results.json, rehash, sign with a new key, claim "configured"."""
    results = json.loads((run_dir / "results.json").read_text())
    results["summary"]["failed"] = 0
    (run_dir / "results.json").write_text(json.dumps(results))
    manifest = json.loads((run_dir / MANIFEST).read_text())
    data = (run_dir / "results.json").read_bytes()
    manifest["files"]["results.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    forger = Ed25519PrivateKey.generate()
    raw = forger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    manifest["key"] = {"source": "configured", "public_key": base64.b64encode(raw).decode(), "fingerprint": "x"}
    body = json.dumps(manifest).encode()
    (run_dir / MANIFEST).write_bytes(body)
    (run_dir / SIGNATURE).write_bytes(base64.b64encode(forger.sign(body)) + b"\n")
    return key_fingerprint(raw)


def test_keys_create_writes_a_private_key_only_its_owner_reads_and_never_overwrites(org_key) -> None:
    key, fingerprint = org_key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert Path(f"{key}.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == 7 + 32
    again = _cli("keys", "create", str(key), "--organisation", "Autre")
    assert again.returncode == 2 and "existe déjà" in again.stderr


def test_report_and_results_show_the_signing_key_fingerprint(org_run: Path, org_key) -> None:
    _, fingerprint = org_key
    assert json.loads((org_run / "results.json").read_text())["seal"] == {
        "fingerprint": fingerprint,
        "generated": False,
    }
    assert fingerprint in (org_run / "report.html").read_text()
    assert _cli("verify", str(org_run)).returncode == 0


def test_resealed_run_is_rejected_by_the_trusted_fingerprint(org_run: Path, org_key) -> None:
    _, fingerprint = org_key
    forged = _reseal_with_fresh_key(org_run)
    done = _cli("verify", str(org_run), "--trust", fingerprint)
    assert done.returncode == 1
    assert forged in done.stderr and "clé de confiance" in done.stderr
    done = _cli("verify", str(org_run), "--trust", f"{org_key[0]}.pub", "--lang", "en")
    assert done.returncode == 1 and "another key" in done.stderr


def test_without_trust_verify_says_integrity_only_and_never_repeats_the_signers_claim(org_run: Path) -> None:
    forged = _reseal_with_fresh_key(org_run)
    for lang, marker in (("fr", "contenue dans le dossier"), ("en", "inside the folder")):
        done = _cli("verify", str(org_run), "--lang", lang)
        assert done.returncode == 0, done.stderr
        assert marker in done.stdout and forged in done.stdout
        assert "configur" not in done.stdout.lower()  # the forger's "source": "configured" is not repeated
        assert "n'importe qui" in done.stdout or "anyone" in done.stdout


def test_trusted_keys_file_rejects_any_other_signer_and_names_the_organisation(org_run: Path, org_key) -> None:
    key, fingerprint = org_key
    added = _cli("keys", "trust", f"{key}.pub", "--organisation", "CH Exemple")
    assert added.returncode == 0 and fingerprint in added.stdout
    done = _cli("verify", str(org_run))
    assert done.returncode == 0 and "clé de confiance" in done.stdout and "CH Exemple" in done.stdout
    listed = _cli("keys", "list")
    assert fingerprint in listed.stdout
    _reseal_with_fresh_key(org_run)
    done = _cli("verify", str(org_run))
    assert done.returncode == 1 and "clé de confiance" in done.stderr


def test_bad_trust_value_is_a_usage_error(org_run: Path) -> None:
    done = _cli("verify", str(org_run), "--trust", "not-a-key")
    assert done.returncode == 2 and "ni un fichier de clé Ed25519 (PEM) lisible ni une empreinte" in done.stderr


def test_report_refuses_a_broken_seal_unless_forced_and_then_says_so(org_run: Path) -> None:
    results = org_run / "results.json"
    results.write_text(results.read_text().replace('"complete": true', '"complete": true '))
    done = _cli("report", str(org_run), "--lang", "en")
    assert done.returncode == 2 and "results.json" in done.stderr and "--force" in done.stderr
    assert not (org_run / "renderings").exists()
    done = _cli("report", str(org_run), "--lang", "fr", "--force")
    assert done.returncode == 0, done.stderr
    rendering = (org_run / "renderings" / "report.fr.html").read_text()
    assert "SCEAU ROMPU" in rendering and "results.json" in rendering


def test_report_of_an_intact_run_renders_without_a_seal_warning(org_run: Path) -> None:
    done = _cli("report", str(org_run), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "SEAL BROKEN" not in (org_run / "renderings" / "report.en.html").read_text()


def test_run_output_inside_an_existing_run_is_refused(org_run: Path, tmp_path: Path) -> None:
    config = tmp_path / "campaign.toml"
    config.write_text(
        f'[run]\noutput = "{org_run}"\nsuites = ["fhir-basics"]\n[fhir]\nbase_url = "http://127.0.0.1:9"\n'
    )
    before = sorted(p.relative_to(org_run) for p in org_run.rglob("*"))
    done = _cli("run", "--config", str(config))
    assert done.returncode == 2 and "exécution existante" in done.stderr
    assert sorted(p.relative_to(org_run) for p in org_run.rglob("*")) == before
    assert _cli("verify", str(org_run)).returncode == 0


def test_fifo_socket_and_escape_file_names_in_a_run_folder(org_run: Path) -> None:
    os.mkfifo(org_run / "evidence" / "pipe")
    (org_run / "evidence" / "\x1b[2K\x1b[1A\x1b[32mINTACT").write_text("x")
    done = _cli("verify", str(org_run), timeout=60)  # a FIFO must not block verify
    assert done.returncode == 1
    assert "evidence/pipe" in done.stderr and "pas un fichier ordinaire" in done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "\\x1b[2K" in done.stderr


def _problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("target", ["manifest.json", "results.json"])
def test_json_nested_200000_deep_in_a_run_folder_is_a_broken_seal_not_a_crash(org_run: Path, target: str) -> None:
    (org_run / target).write_bytes(b"[" * 200_000 + b"]" * 200_000)
    for lang, marker in (("en", f"{target}: "), ("fr", f"{target}\u202f: ")):
        done = _cli("verify", str(org_run), "--lang", lang, timeout=60)
        assert done.returncode == 1, done.stderr[-1000:]
        assert "Traceback" not in done.stderr and marker in done.stderr


def test_folder_nested_1100_deep_is_reported_not_a_crash(org_run: Path) -> None:
    """os.walk recursed once per level: a 1,100-deep folder crashed verify with a RecursionError."""
    folder = os.open(org_run / "evidence", os.O_RDONLY)
    try:
        for _ in range(1100):
            os.mkdir("d", dir_fd=folder)
            inner = os.open("d", os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
        os.close(os.open("x.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder))
    finally:
        os.close(folder)
    try:
        done = _cli("verify", str(org_run), "--lang", "en", timeout=120)
    finally:
        _remove_nested(org_run / "evidence")  # shutil.rmtree (pytest's cleanup) recurses as os.walk did
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "evidence/d/d/d" in done.stderr


def _remove_nested(parent: Path) -> None:
    descriptors = [os.open(parent, os.O_RDONLY)]
    try:
        with contextlib.suppress(FileNotFoundError):
            while True:
                descriptors.append(os.open("d", os.O_RDONLY, dir_fd=descriptors[-1]))
        for name in os.listdir(descriptors[-1]):
            os.unlink(name, dir_fd=descriptors[-1])
        while len(descriptors) > 1:
            os.close(descriptors.pop())
            os.rmdir("d", dir_fd=descriptors[-1])
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


def test_a_newline_in_a_file_name_cannot_print_a_line_of_its_own(org_run: Path) -> None:
    (org_run / "evidence" / "x\nINTACT : 26 fichiers conformes").write_text("{}")
    (org_run / "evidence" / "y\u2028INTACT").write_text("{}")
    done = _cli("verify", str(org_run), timeout=60)
    assert done.returncode == 1
    lines = _problem_lines(done.stderr)
    assert lines[0].startswith("ALTÉRÉ") and all(line.startswith("  ") for line in lines[1:]), lines
    assert "x\\x0aINTACT" in done.stderr and "\\u2028" in done.stderr and "INTACT" not in done.stdout


def test_stripped_seal_or_signature_fails_even_with_a_trusted_key(org_run: Path, org_key) -> None:
    _, fingerprint = org_key
    (org_run / SIGNATURE).unlink()
    done = _cli("verify", str(org_run), "--trust", fingerprint, "--lang", "en")
    assert done.returncode == 1 and "manifest.sig: missing" in done.stderr
    (org_run / MANIFEST).unlink()
    done = _cli("verify", str(org_run), "--trust", fingerprint, "--lang", "en")
    assert done.returncode == 1 and "not sealed" in done.stderr


@pytest.mark.parametrize("option", ["--trust", "--public-key", "keys-trust", "trusted-keys-file"])
def test_a_fifo_or_a_device_given_as_a_key_is_refused_without_blocking(org_run: Path, tmp_path: Path, option: str):
    """SHALL: key files are files: a FIFO blocked verify and keys trust; /dev/zero read until memory ran out."""
    fifo = tmp_path / "key.pub"
    os.mkfifo(fifo)
    for key in (str(fifo), "/dev/zero"):
        if option == "keys-trust":
            done = _cli("keys", "trust", key, timeout=30)
        elif option == "trusted-keys-file":
            done = _cli("verify", str(org_run), "--lang", "en", env={"HOPEN_TRUSTED_KEYS": key}, timeout=30)
            assert done.returncode == 0 and "INTACT" in done.stdout  # no trusted key could be read
            continue
        else:
            done = _cli("verify", str(org_run), option, key, timeout=30)
        assert done.returncode == 2 and key in done.stderr, done.stderr


def test_a_key_file_reached_through_a_symbolic_link_is_trusted(org_run: Path, org_key, tmp_path: Path) -> None:
    key, fingerprint = org_key
    link = tmp_path / "published.pub"
    link.symlink_to(f"{key}.pub")
    done = _cli("verify", str(org_run), "--trust", str(link))
    assert done.returncode == 0 and fingerprint in done.stdout
