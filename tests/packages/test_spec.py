from __future__ import annotations

import pytest

from conformance.packages import PackageError, parse_ref
from conformance.packages.spec import PackageRef, nearest_version, parse_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hl7.fhir.fr.core#2.2.0", PackageRef("hl7.fhir.fr.core", "2.2.0")),
        ("hl7.fhir.fr.core@2.2.0", PackageRef("hl7.fhir.fr.core", "2.2.0")),
        ("hl7.fhir.fr.core", PackageRef("hl7.fhir.fr.core", "")),
        ("ans.fhir.fr.annuaire#1.2.0-snapshot-2", PackageRef("ans.fhir.fr.annuaire", "1.2.0-snapshot-2")),
    ],
)
def test_parse_ref(text: str, expected: PackageRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["", "#1.0.0", "bad name#1.0", "x#1.0 0"])
def test_parse_ref_rejects_garbage(text: str) -> None:
    with pytest.raises(PackageError):
        parse_ref(text)


def test_release_sorts_after_its_prereleases() -> None:
    assert parse_version("5.3.0") > parse_version("5.3.0-ballot-tc1")
    assert parse_version("5.3.0-ballot-tc1") > parse_version("5.2.9")


def test_nearest_patch_prefers_same_minor_then_release_then_higher() -> None:
    assert nearest_version("1.0.4", ["1.0.3", "1.0.5", "1.1.4"]) == "1.0.5"
    assert nearest_version("1.0.4", ["1.0.1", "1.0.9"]) == "1.0.1"
    assert nearest_version("5.3.0", ["5.3.0-ballot-tc1", "5.3.1"]) == "5.3.1"
    assert nearest_version("5.3.0", ["5.3.0-ballot-tc1"]) == "5.3.0-ballot-tc1"


def test_nearest_patch_never_crosses_minor_or_major_unless_asked() -> None:
    assert nearest_version("7.1.0", ["7.0.1", "8.1.0"]) is None
    assert nearest_version("7.1.0", ["7.0.1", "8.1.0"], same_minor_only=False) == "7.0.1"
    assert nearest_version("7.1.0", ["6.1.0"], same_minor_only=False) is None
