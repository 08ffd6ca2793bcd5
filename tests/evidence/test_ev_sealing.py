"""Sealing and `conformance verify`: any single-byte change, added, removed, renamed file or manifest edit."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.sample import fabricate_run

from conformance.cli import cli
from conformance.evidence.sealing import (
    INCOMPLETE,
    MANIFEST,
    SIGNATURE,
    SealError,
    generate_key_file,
    seal_run,
    verify_details,
    verify_run,
)
from conformance.reports import finalize_run, write_partial, write_run_outputs


def _sealed_files(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name not in (MANIFEST, SIGNATURE))


def _verify_cli(run_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["verify", str(run_dir), "--lang", "en"])
    return result.exit_code, result.output


def test_intact_run_verifies(sealed_run: Path) -> None:
    assert verify_run(sealed_run) == []
    code, output = _verify_cli(sealed_run)
    assert code == 0 and "INTACT" in output


def test_every_single_byte_change_is_detected_and_named(sealed_run: Path) -> None:
    files = _sealed_files(sealed_run)
    assert len(files) > 10
    for path in files:
        original = path.read_bytes()
        position = len(original) // 2
        path.write_bytes(original[:position] + bytes([original[position] ^ 0x01]) + original[position + 1 :])
        relative = path.relative_to(sealed_run).as_posix()
        problems = verify_run(sealed_run)
        assert problems == [f"{relative}: modified (SHA-256 differs from the manifest)"], relative
        path.write_bytes(original)
    assert verify_run(sealed_run) == []


def test_added_removed_and_renamed_files_are_named(sealed_run: Path) -> None:
    evidence = next((sealed_run / "evidence").rglob("*.json"))
    relative = evidence.relative_to(sealed_run).as_posix()
    (sealed_run / "evidence" / "extra.json").write_text("{}")
    assert verify_run(sealed_run) == ["evidence/extra.json: added after sealing (not in the manifest)"]
    (sealed_run / "evidence" / "extra.json").unlink()

    backup = evidence.read_bytes()
    evidence.unlink()
    assert verify_run(sealed_run) == [f"{relative}: missing (removed or renamed)"]

    evidence.with_name("renamed.json").write_bytes(backup)
    problems = verify_run(sealed_run)
    renamed = evidence.with_name("renamed.json").relative_to(sealed_run).as_posix()
    assert f"{relative}: missing (removed or renamed)" in problems
    assert f"{renamed}: added after sealing (not in the manifest)" in problems
    code, output = _verify_cli(sealed_run)
    assert code != 0 and relative in output and renamed in output


def test_manifest_and_signature_edits_are_detected(sealed_run: Path) -> None:
    manifest = sealed_run / MANIFEST
    original = manifest.read_bytes()
    # An attacker changes a file and updates its hash in the manifest: the signature no longer matches.
    target = sealed_run / "report.html"
    target.write_bytes(target.read_bytes() + b"<!-- edited -->")
    data = json.loads(original)

    data["files"]["report.html"] = {
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "size": target.stat().st_size,
    }
    manifest.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    problems = verify_run(sealed_run)
    assert any("signature does not match" in p for p in problems)

    manifest.write_bytes(original.replace(b'"version": 1', b'"version":  1'))  # whitespace-only edit
    assert any("signature does not match" in p for p in verify_run(sealed_run))
    manifest.write_bytes(b"{ not json")
    assert verify_run(sealed_run) == [f"{MANIFEST}: not valid JSON (edited or damaged)"]
    manifest.write_bytes(original)
    (sealed_run / SIGNATURE).unlink()
    assert f"{SIGNATURE}: missing (removed)" in verify_run(sealed_run)


def test_configured_key_is_used_and_can_be_required(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "seal.pem"
    fingerprint = generate_key_file(key, password=b"key-pass-123")
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir)
    finalize_run(run_dir, run, signing_key=key, key_password=b"key-pass-123")
    details = verify_details(run_dir, public_key=Path(f"{key}.pub"))
    assert details.intact and details.key_source == "trusted" and details.key_fingerprint == fingerprint
    results = json.loads((run_dir / "results.json").read_text())
    assert not any(w["code"] == "generated-signing-key" for w in results["warnings"])
    other = tmp_path / "other.pem"
    generate_key_file(other)
    assert any("another key" in p for p in verify_run(run_dir, public_key=Path(f"{other}.pub")))
    result = CliRunner().invoke(cli, ["verify", str(run_dir), "--public-key", f"{key}.pub"])
    assert result.exit_code == 0, result.output
    with pytest.raises(SealError):
        seal_run(tmp_path / "run", key, key_password=b"wrong")


def test_generated_key_is_recorded_as_a_warning(sealed_run: Path) -> None:
    results = json.loads((sealed_run / "results.json").read_text())
    assert [w["code"] for w in results["warnings"]].count("generated-signing-key") == 1
    assert "Clé de signature générée" in (sealed_run / "report.html").read_text()
    assert json.loads((sealed_run / MANIFEST).read_text())["key"]["source"] == "generated"


def test_incomplete_run_is_never_sealed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir, complete=False)
    write_partial(run_dir, run)
    with pytest.raises(SealError):
        seal_run(run_dir)
    assert finalize_run(run_dir, run) is None
    assert not (run_dir / MANIFEST).exists()
    assert verify_run(run_dir) == [INCOMPLETE]
    code, output = _verify_cli(run_dir)
    assert code != 0 and INCOMPLETE in output


def test_sealing_twice_and_unsealed_complete_runs(tmp_path: Path, sealed_run: Path) -> None:
    with pytest.raises(SealError):
        seal_run(sealed_run)
    copy = tmp_path / "copy"
    shutil.copytree(sealed_run, copy)
    (copy / MANIFEST).unlink()
    (copy / SIGNATURE).unlink()
    assert verify_run(copy) == [f"not sealed: {MANIFEST} missing"]
    run_dir = tmp_path / "unsealed"
    run, _ = fabricate_run(run_dir)
    write_run_outputs(run_dir, run)
    assert verify_run(run_dir) == [f"not sealed: {MANIFEST} missing"]


def test_campaign_order_outputs_then_seal_records_the_generated_key_in_results_and_report(tmp_path: Path) -> None:
    """The campaign calls write_run_outputs then seal_run(run_dir, signing_key=None): the warning still shows."""
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir)
    write_run_outputs(run_dir, run, lang="en")
    assert "Signing key generated" not in (run_dir / "report.html").read_text()
    seal_run(run_dir, signing_key=None)
    results = json.loads((run_dir / "results.json").read_text())
    assert [w["code"] for w in results["warnings"]] == ["generated-signing-key"]
    report = (run_dir / "report.html").read_text()
    assert "Signing key generated" in report and 'lang="en"' in report
    assert verify_run(run_dir) == []


def test_encrypted_key_passphrase_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "seal.pem"
    generate_key_file(key, password=b"env-pass-77")
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir)
    write_run_outputs(run_dir, run)
    monkeypatch.setenv("HOPEN_SIGNING_KEY_PASSWORD", "env-pass-77")
    seal_run(run_dir, signing_key=key)
    assert verify_details(run_dir, public_key=Path(f"{key}.pub")).intact


def test_verify_speaks_french_by_default_and_names_the_file(sealed_run: Path) -> None:
    target = sealed_run / "junit.xml"
    target.write_bytes(target.read_bytes().replace(b"testsuites", b"testsuiteZ", 1))
    result = CliRunner().invoke(cli, ["verify", str(sealed_run)])
    assert result.exit_code == 1
    assert "junit.xml\u202f: modifié (SHA-256 différent du manifeste)" in result.output


def test_symlinked_folder_is_reported(sealed_run: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.json").write_text("{}")
    (sealed_run / "evidence" / "linked").symlink_to(outside, target_is_directory=True)
    assert "evidence/linked: symbolic link (not allowed in a sealed run)" in verify_run(sealed_run)
