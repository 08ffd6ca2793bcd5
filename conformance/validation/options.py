"""Options shared by every validator, as the `validate` command and the suites pass them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class ValidateOptions:
    lang: str = "fr"
    # FHIR
    profiles: list[str] = field(default_factory=list)  # canonical URLs, in addition to meta.profile
    igs: list[str] = field(default_factory=list)  # NAME#VER, .tgz, folder, or single conformance file
    terminology_server: str | None = None  # off by default
    # a JSON Bundle file larger than this (bytes) is validated entry by entry (validation.fhir.stream)
    stream_above: int = 16 * 1024 * 1024
    # HL7 v2
    hl7v2_profile: str | None = None  # "pam-fr-2.11" or a path to an XML conformance profile
    # CDA
    cda_pack: Path | None = None  # the ANS TestContenuCDA pack; default from settings
    schematron: str | None = None  # a schematron file name or path, instead of detection
