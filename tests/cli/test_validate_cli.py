"""`conformance validate`: routing by detected kind, output formats, summary, exit codes (0 valid, 1 invalid, 2 usage)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import cli
from conformance.settings import shared_dir

DIV = '<div xmlns=\\"http://www.w3.org/1999/xhtml\\">x</div>'
VALID = (
    f'{{"resourceType": "Patient", "id": "a", "text": {{"status": "generated", "div": "{DIV}"}}, "gender": "female"}}'
)
INVALID = (
    f'{{"resourceType": "Patient", "id": "b", "text": {{"status": "generated", "div": "{DIV}"}}, "gender": "robot"}}'
)
XML = '<Patient xmlns="http://hl7.org/fhir"><id value="c"/><gender value="male"/></Patient>'


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "valid": tmp_path / "valid.json",
        "invalid": tmp_path / "invalid.json",
        "xml": tmp_path / "patient.xml",
        "ndjson": tmp_path / "bulk.ndjson",
        "hl7": tmp_path / "message.hl7",
        "junk": tmp_path / "junk.bin",
    }
    paths["valid"].write_text(VALID, encoding="utf-8")
    paths["invalid"].write_text(INVALID, encoding="utf-8")
    paths["xml"].write_text(XML, encoding="utf-8")
    paths["ndjson"].write_text(VALID + "\n" + INVALID + "\n", encoding="utf-8")
    paths["hl7"].write_bytes(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|1|P|2.5\rPID|||123||DOE^JOHN\r")
    paths["junk"].write_bytes(b"\x00\x01 not a known format")
    return paths


def test_valid_file_exits_0(files: dict[str, Path]) -> None:
    code, output = run("--lang", "en", str(files["valid"]))
    assert code == 0, output
    assert "VALID" in output


def test_invalid_file_exits_1_and_names_the_rule(files: dict[str, Path]) -> None:
    code, output = run(str(files["invalid"]))
    assert code == 1
    assert "Terminology_TX_NoValid_16" in output and "Patient.gender" in output
    assert "INVALIDE" in output  # French by default


def test_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    assert run(str(tmp_path / "missing.json"))[0] == 2
    assert run("--format", "yaml", str(files["valid"]))[0] == 2
    assert run()[0] == 2


def test_json_output_one_operation_outcome_or_a_bundle(files: dict[str, Path]) -> None:
    code, output = run("--format", "json", str(files["invalid"]))
    assert code == 1
    document = json.loads(output)
    assert document["resourceType"] == "OperationOutcome"
    issue = next(i for i in document["issue"] if i["severity"] == "error")
    assert issue["expression"] == ["Patient.gender"] and issue["code"] == "code-invalid"
    code, output = run("--format", "json", "--lang", "en", str(files["valid"]), str(files["invalid"]))
    bundle = json.loads(output)
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 2
    assert all(e["resource"]["resourceType"] == "OperationOutcome" for e in bundle["entry"])


def test_directory_xml_and_ndjson(files: dict[str, Path], tmp_path: Path) -> None:
    code, output = run("--summary", "--lang", "en", str(files["xml"]), str(files["ndjson"]))
    assert code == 1  # the second ndjson line is invalid
    assert "bulk.ndjson:1" in output and "bulk.ndjson:2" in output and "patient.xml" in output
    assert "Total: 3 items, 2 valid, 1 invalid" in output
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.json").write_text(VALID, encoding="utf-8")
    assert run(str(folder))[0] == 0


def test_an_unknown_profile_is_a_usage_error_with_the_closest_name(files: dict[str, Path]) -> None:
    """SHALL: a typo in --profile exits 2 (usage), not 1 (a finding), and names the profile meant."""
    code, output = run("--lang", "en", "--profile", "https://example.org/StructureDefinition/none", str(files["valid"]))
    assert code == 2 and "unknown profile 'https://example.org/StructureDefinition/none'" in output
    assert "Did you mean" not in output  # nothing close: no guess
    typo = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patiant"
    code, output = run("--profile", typo, str(files["valid"]))
    assert code == 2, output
    assert "Vouliez-vous dire «\u202fhttps://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient\u202f»" in output
    code, output = run("--lang", "en", "--profile", typo.replace("patiant", "patient"), str(files["valid"]))
    assert code in (0, 1)
    profile = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"
    assert f"Applied: profiles {profile} (hl7.fhir.fr.core#2." in output
    _, output = run("--lang", "en", str(files["valid"]))
    assert "Applied: base definition Patient (hl7.fhir.r4.core#4.0.1; no profile declared or asked for)" in output


def test_an_unknown_hl7v2_profile_is_a_usage_error_with_the_closest_name(files: dict[str, Path]) -> None:
    code, output = run("--lang", "en", "--hl7v2-profile", "pam-fr-2.1", str(files["hl7"]))
    assert code == 2 and "unknown HL7 v2 profile 'pam-fr-2.1'" in output and "Did you mean 'pam-fr-2.11'?" in output


def test_a_requested_hl7v2_profile_that_does_not_define_the_message_says_so(tmp_path: Path) -> None:
    """SHALL: --hl7v2-profile pam-fr-2.11 on an MDM message says it does not apply and names the set used."""
    mdm = tmp_path / "mdm.hl7"
    mdm.write_bytes(b"MSH|^~\\&|A|B|C|D|20240101||MDM^T02^MDM_T02|1|P|2.5\rEVN|T02|20240101\r")
    code, output = run("--lang", "en", "--hl7v2-profile", "pam-fr-2.11", str(mdm))
    assert code in (0, 1) and "[hl7v2-profile-not-applicable]" in output
    assert (
        "The requested profile pam-fr-2.11 does not define the message MDM^T02: judged by cisis-cda-hl7v2-2.1" in output
    )
    assert "Applied: profile cisis-cda-hl7v2-2.1" in output and "message MDM^T02, structure MDM_T02" in output
    _, output = run("--lang", "en", str(mdm))  # no profile asked for: the hand-over is silent
    assert "hl7v2-profile-not-applicable" not in output


def test_a_truncated_ndjson_line_rejects_only_that_line(tmp_path: Path) -> None:
    """SHALL: the valid lines of an ndjson file are validated; the broken line is the one finding."""
    bulk = tmp_path / "bulk.ndjson"
    bulk.write_text(VALID + "\n" + VALID.replace('"a"', '"a2"') + "\n" + VALID[:40] + "\n", encoding="utf-8")
    code, output = run("--lang", "en", "--summary", str(bulk))
    assert code == 1
    # the summary may shorten a long item name from the left: the line number ends it
    verdicts = {
        match.group(1): line.split()[-4]
        for line in output.splitlines()
        if (match := re.search(r"bulk\.ndjson:(\d+)", line))
    }
    assert verdicts == {"1": "VALID", "2": "VALID", "3": "INVALID"}, output


def test_other_kinds_are_routed_never_a_traceback(files: dict[str, Path]) -> None:
    code, output = run("--lang", "en", str(files["hl7"]), str(files["junk"]))
    assert "Traceback" not in output
    assert "input-unknown-kind" in output
    assert "message.hl7" in output
    assert code == 1


def test_fr_core_package_summary() -> None:
    package = shared_dir() / "fhir-packages" / "hl7.fhir.fr.core-2.2.0.tgz"
    code, output = run("--summary", "--lang", "en", str(package))
    lines = [line for line in output.splitlines() if "!" in line]
    assert len(lines) >= 30 and all(".json" in line for line in lines)
    assert not any("StructureDefinition-" in line for line in lines)  # examples only
    assert output.strip().splitlines()[-1].startswith("Total:")
    # FR Core's own Patient example carries an INS-NIR under the production OID whose key is wrong
    # (123456789012244: the key of 1234567890122 is 12): the one invalid example, and exit 1.
    invalid = [line.split()[0] for line in lines if " INVALID " in line]
    assert invalid == ["hl7.fhir.fr.core-2.2.0.tgz!Patient-FRCorePatientExample.json"], output
    assert code == 1, output


def test_an_archive_that_is_not_a_package_has_its_resources_validated(tmp_path: Path) -> None:
    """A .tgz of resources (no package/package.json): each resource is judged, the archive gets a warning,
    never a validator failure (SHALL: bad input is reported as such)."""
    import io
    import tarfile

    archive = tmp_path / "resources.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for member, text in (("export/valid.json", VALID), ("export/invalid.json", INVALID)):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    code, output = run("--lang", "en", "--summary", str(archive))
    assert "validator-failure" not in output and "Validator failure" not in output, output
    verdicts = {line.split()[0]: line.split()[1] for line in output.splitlines() if "!" in line}
    assert verdicts == {"resources.tgz!valid.json": "VALID", "resources.tgz!invalid.json": "INVALID"}, output
    assert code == 1
    code, output = run("--lang", "en", str(archive))
    assert "archive-not-a-package" in output and "not an NPM-format FHIR package" in output, output


def test_an_archive_that_cannot_be_read_is_a_fatal_finding_of_the_input(tmp_path: Path) -> None:
    """Truncated, or not a tar at all: the input is INVALID with the reason, not a validator failure."""
    import gzip

    for archive, data in (("truncated.tgz", gzip.compress(b"x" * 4096)[:40]), ("plain.gz", gzip.compress(b"hi"))):
        (tmp_path / archive).write_bytes(data)
        code, output = run("--lang", "en", str(tmp_path / archive))
        assert code == 1, output
        assert "package-unreadable" in output and "validator-failure" not in output, output
        assert "archive-not-a-package" not in output, output  # not read as resources either


def _needs_birthdate_profile(folder: Path) -> str:
    import copy

    from conformance.packages import load_context

    sd = copy.deepcopy(load_context().structure_definition("Patient"))
    url = "http://example.org/fhir/StructureDefinition/needs-birthdate"
    sd.update(url=url, id="needs-birthdate", name="NeedsBirthDate", derivation="constraint")
    sd["baseDefinition"] = "http://hl7.org/fhir/StructureDefinition/Patient"
    sd.pop("differential", None)
    for element in sd["snapshot"]["element"]:
        if element["id"] == "Patient.birthDate":
            element["min"] = 1
    folder.mkdir(exist_ok=True)
    (folder / "StructureDefinition-needs-birthdate.json").write_text(json.dumps(sd), encoding="utf-8")
    return url


def test_ig_folder_and_single_file(files: dict[str, Path], tmp_path: Path) -> None:
    url = _needs_birthdate_profile(tmp_path / "ig")
    for source in (tmp_path / "ig", tmp_path / "ig" / "StructureDefinition-needs-birthdate.json"):
        code, output = run("--lang", "en", "--ig", str(source), "--profile", url, str(files["valid"]))
        assert code == 1, output
        assert "Validation_VAL_Profile_Minimum" in output and "Patient.birthDate" in output
    code, output = run("--ig", str(tmp_path / "missing.tgz"), str(files["valid"]))
    assert code == 2 and "--ig" in output


def test_package_examples_use_the_package_and_missing_dependencies_are_not_errors() -> None:
    package = shared_dir() / "fhir-packages" / "ans.fhir.fr.pdsm-3.1.1.tgz"
    _code, output = run("--format", "json", "--lang", "en", str(package))
    issues = [i for e in json.loads(output)["entry"] for i in e["resource"]["issue"]]
    texts = [(i["severity"], i["details"]["text"]) for i in issues]
    # PDSm's own extensions resolve (the package is in the context) ...
    assert not any("pdsm/StructureDefinition/pdsm-ext" in t and "unknown" in t for _, t in texts)
    # ... and IHE MHD's, whose package is declared but not available, are never errors; extensions are warnings
    mhd = [(s, t) for s, t in texts if "profiles.ihe.net/ITI/MHD" in t]
    assert mhd and all(s in ("warning", "information") for s, t in mhd)
    extensions = [(s, t) for s, t in mhd if "The extension" in t]
    assert extensions and all(s == "warning" and "ihe.iti.mhd" in t for s, t in extensions)


def test_an_ig_package_that_is_not_installed_is_a_usage_error(files: dict[str, Path]) -> None:
    """SHALL: --ig NAME#VERSION not in the cache is refused (exit 2), not silently ignored."""
    code, output = run("--ig", "example.not.installed#1.0.0", str(files["valid"]))
    assert code == 2 and "le package example.not.installed#1.0.0 n'est pas installé" in output
