"""The requirements catalogue: what the suites verify, where the specification says it, and how strongly.

Read from `conformance/profiles/requirements/*.yaml` (one file per specification family, each versioned):

    catalogue: fhir-r4
    version: 1.0.0
    requirements:
      - id: fhir-r4.read.id
        specification: FHIR R4
        version: 4.0.1
        section: "http.html §3.1.0.2 read"
        strength: SHALL          # the specification's own word
        statement:
          fr: "La ressource lue porte l'id demandé."
          en: "The resource read carries the id asked for."

Every suite test names exactly one requirement (`@pytest.mark.requirement("fhir-r4.read.id")`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from conformance.sdk.rules import Strength
from conformance.yamldoc import load_yaml

CATALOGUE_PACKAGE = "conformance"
CATALOGUE_FOLDER = ("profiles", "requirements")


class CatalogueError(ValueError):
    """The requirements catalogue is malformed (a harness defect)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    specification: str
    version: str
    section: str
    strength: Strength
    statement_fr: str
    statement_en: str
    catalogue: str  # the file's catalogue id
    catalogue_version: str

    def statement(self, lang: str = "fr") -> str:
        return self.statement_en if lang == "en" else self.statement_fr

    @property
    def source(self) -> str:
        """ "FHIR R4 4.0.1, http.html §3.1.0.2 read"."""
        spec = f"{self.specification} {self.version}".strip()
        return f"{spec}, {self.section}" if self.section else spec


@dataclass(frozen=True, slots=True)
class Catalogue:
    requirements: Mapping[str, Requirement]
    versions: Mapping[str, str]  # catalogue id -> version

    def __getitem__(self, requirement_id: str) -> Requirement:
        try:
            return self.requirements[requirement_id]
        except KeyError:
            raise CatalogueError(f"unknown requirement {requirement_id!r}") from None

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self.requirements

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements.values())

    def __len__(self) -> int:
        return len(self.requirements)


def catalogue_folder() -> Traversable:
    folder = resources.files(CATALOGUE_PACKAGE)
    for part in CATALOGUE_FOLDER:
        folder = folder / part
    return folder


def _text(data: Mapping[str, object], key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # a version written 1 or 1.0 in YAML
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key} missing or empty")
    return value.strip()


def _requirement(item: object, catalogue: str, version: str, where: str) -> Requirement:
    if not isinstance(item, dict):
        raise CatalogueError(f"{where}: a requirement is a mapping")
    rid = _text(item, "id", where)
    where = f"{where} {rid}"
    statement = item.get("statement")
    if not isinstance(statement, dict):
        raise CatalogueError(f"{where}: statement (fr, en) missing")
    try:
        strength = Strength(str(item.get("strength")))
    except ValueError:
        raise CatalogueError(f"{where}: strength must be SHALL, SHOULD or MAY") from None
    return Requirement(
        id=rid,
        specification=_text(item, "specification", where),
        version=str(item.get("version") or "").strip(),
        section=_text(item, "section", where),
        strength=strength,
        statement_fr=_text(statement, "fr", where),
        statement_en=_text(statement, "en", where),
        catalogue=catalogue,
        catalogue_version=version,
    )


def parse_catalogue_file(text: str, name: str) -> tuple[str, str, list[Requirement]]:
    """(catalogue id, version, requirements) of one YAML file; CatalogueError names what is wrong."""
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise CatalogueError(f"{name}: not a mapping")
    catalogue = _text(data, "catalogue", name)
    version = _text(data, "version", name)
    items = data.get("requirements")
    if not isinstance(items, list) or not items:
        raise CatalogueError(f"{name}: requirements missing")
    return catalogue, version, [_requirement(item, catalogue, version, name) for item in items]


@cache
def load_catalogue() -> Catalogue:
    """Every requirement of every catalogue file; an id declared twice is an error."""
    requirements: dict[str, Requirement] = {}
    versions: dict[str, str] = {}
    files = sorted((f for f in catalogue_folder().iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    for file in files:
        catalogue, version, items = parse_catalogue_file(file.read_text(encoding="utf-8"), file.name)
        if catalogue in versions:
            raise CatalogueError(f"{file.name}: catalogue {catalogue} declared twice")
        versions[catalogue] = version
        for item in items:
            if item.id in requirements:
                raise CatalogueError(f"{file.name}: requirement {item.id} declared twice")
            requirements[item.id] = item
    return Catalogue(requirements, versions)


def requirement(requirement_id: str) -> Requirement:
    return load_catalogue()[requirement_id]
