"""`conformance validate` routes CDA documents and XDM packages to this area (in-process CliRunner)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from conformance.cli.validate import command
from conformance.validation.cda.xdm_build import build_xdm

from .conftest import example_bytes, examples_dir

CR_GM = "CANCER-CR-GM_2022.01_AnalyseRealisee.xml"


def test_cli_validates_a_cda_document() -> None:
    result = CliRunner().invoke(command, [str(examples_dir() / CR_GM), "--format", "json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    outcomes = json.loads(result.output)
    assert "cda-pack-include-case" in result.output  # the tool findings travel with the document's outcome
    assert outcomes


def test_cli_reports_a_tampered_xdm_package(tmp_path: Path) -> None:
    package = build_xdm([example_bytes(CR_GM)])
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    files["IHE_XDM/SUBSET01/DOC0001.XML"] = files["IHE_XDM/SUBSET01/DOC0001.XML"].replace(b"PAT-TROIS", b"PAT-QUATRE")
    path = tmp_path / "IHE_XDM.ZIP"
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    result = CliRunner().invoke(command, [str(path), "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert "xdm-hash-mismatch" in result.output and "Slot[hash]" in result.output
