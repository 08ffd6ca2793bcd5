"""The ANS TestContenuCDA pack: where its XSD, schematrons and value sets are, and which schematrons apply.

The pack is updated separately from this tool, so nothing here is hard-coded per volet: the volet schematrons
are the top-level `CI-SIS_<VOLET>_<VERSION>.sch` files, and each one is indexed by the CI-SIS document
templateIds (1.2.250.1.213.1.1.1.N...) its own file and its header (`Entete`) includes test for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from conformance import settings

CISIS_HEADER_TEMPLATE = "1.2.250.1.213.1.1.1.1"
_VOLET_FILE = re.compile(r"^CI-SIS_(?P<volet>.+)_(?P<version>\d{4}\.\d{2})\.sch$")
_CISIS_OID = re.compile(r"1\.2\.250\.1\.213\.1\.1\.1(?:\.\d+)+")
_DOC_CODE = re.compile(r"""@code\s*=\s*["']([^"'\s]+)["']""")
_HREF = re.compile(r"""<include\s+href=["']([^"']+)["']""")

# The transversal profiles ANS runs on every document besides the volet schematron (see schematrons/rapports).
PROFILE_SCHEMATRONS: dict[str, str] = {
    "IHE": "schematrons/profils/IHE.sch",
    "ModelesDeContenusCDA": "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch",
    "Modeles_ANS": "schematrons/profils/CI-SIS_Modeles_ANS.sch",
    "StructurationMinimale": "schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch",
    "terminologies": "schematrons/profils/terminologies/schematron/terminologie.sch",
}


@dataclass(frozen=True, slots=True)
class VoletSchematron:
    path: Path
    volet: str
    version: str
    template_ids: frozenset[str]
    codes: frozenset[str] = frozenset()  # document type codes its header rules name

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(slots=True)
class CdaPack:
    root: Path
    volets: list[VoletSchematron] = field(default_factory=list)

    @property
    def xsd(self) -> Path:
        return self.root / "infrastructure" / "cda" / "CDA_extended.xsd"

    @property
    def value_sets_dir(self) -> Path:
        return self.root / "jeuxDeValeurs"

    @property
    def examples_dir(self) -> Path:
        return self.root / "ExemplesCDA"

    def profile_schematrons(self) -> dict[str, Path]:
        return {name: self.root / rel for name, rel in PROFILE_SCHEMATRONS.items() if (self.root / rel).is_file()}

    def find_schematron(self, name: str) -> Path | None:
        """A user-named schematron: a path, a file name in the pack, or a volet name (`CANCER-CR-GM_2022.01`)."""
        direct = Path(name).expanduser()
        if direct.is_file():
            return direct.resolve()
        stem = name.removesuffix(".sch")
        candidates = [stem, f"CI-SIS_{stem}"]
        for volet in self.volets:
            if volet.path.stem in candidates or f"{volet.volet}_{volet.version}" == stem:
                return volet.path
        for profile_name, path in self.profile_schematrons().items():
            if stem in (profile_name, path.stem):
                return path
        return None

    def detect(self, template_ids: list[tuple[str, str | None]], code: str | None = None) -> VoletSchematron | None:
        """The volet schematron whose CI-SIS templateIds (else document code) best match the document's.

        Most matching templateIds wins, then fewest templateIds of the volet left unmatched, then the version
        equal to the templateId's @extension, then the most recent version. A document without any CI-SIS
        volet templateId is matched on its type code.
        """
        roots = {root for root, _ in template_ids if root and root != CISIS_HEADER_TEMPLATE}
        extensions = {ext for root, ext in template_ids if ext}
        known = self._all_template_ids()
        cisis_roots = {root for root in roots if root.startswith("1.2.250.1.213.1.1.1.")}
        if code and (not cisis_roots or cisis_roots - known):  # a volet no templateId names: try the code
            by_code = [v for v in self.volets if not v.template_ids and code in v.codes]
            if by_code:
                return max(by_code, key=lambda v: (int(v.version in extensions), v.version))
        best: tuple[tuple[int, int, int, str], VoletSchematron] | None = None
        for volet in self.volets:
            matched = len(roots & volet.template_ids)
            if not matched:
                continue
            score = (matched, -len(volet.template_ids - roots), int(volet.version in extensions), volet.version)
            if best is None or score > best[0]:
                best = (score, volet)
        if best is None:
            return None
        if cisis_roots - known:  # a volet of the same family that the index cannot name (e.g. CSE-MDE)
            family = best[1].volet.split("-")[0]
            unnamed = [
                v
                for v in self.volets
                if not v.template_ids and v.volet.split("-")[0] == family and v.version in extensions
            ]
            if len(unnamed) == 1:
                return unnamed[0]
        same_volet = [v for v in self.volets if v.volet == best[1].volet and v.version in extensions]
        return same_volet[0] if same_volet else best[1]

    def _all_template_ids(self) -> set[str]:
        return {oid for volet in self.volets for oid in volet.template_ids}

    def value_set_codes(self, file_stem: str) -> set[tuple[str, str]] | None:
        """(code, codeSystem) pairs of a JDV_*.xml value set of the pack, or None when the pack lacks it."""
        return _value_set_codes(str(self.value_sets_dir), file_stem)

    def version_label(self) -> str:
        return f"{self.root.name} ({len(self.volets)} volet schematrons)"


@functools.lru_cache(maxsize=64)
def _value_set_codes(directory: str, file_stem: str) -> set[tuple[str, str]] | None:
    path = Path(directory) / f"{file_stem}.xml"
    if not path.is_file():
        return None
    try:
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except (OSError, etree.XMLSyntaxError):
        return None
    return {
        (c.get("code", ""), c.get("codeSystem", ""))
        for c in tree.iter("{urn:ihe:iti:svs:2008}Concept", "Concept")
        if c.get("code")
    }


def _template_ids_and_codes_of(schematron: Path) -> tuple[frozenset[str], frozenset[str]]:
    text = schematron.read_text(encoding="utf-8", errors="replace")
    sources = [text]
    headers = [href for href in _HREF.findall(text) if "entete" in href.lower()]
    for href in headers:
        path = schematron.parent / href
        if path.is_file():
            sources.append(path.read_text(encoding="utf-8", errors="replace"))
    codes = frozenset(code for source in sources[1:] for code in _DOC_CODE.findall(source))
    oids = {oid for source in sources for oid in _CISIS_OID.findall(source)} - {CISIS_HEADER_TEMPLATE}
    if not oids:  # no header include names the volet: look through every include
        for href in _HREF.findall(text):
            path = schematron.parent / href
            if path.is_file():
                oids |= set(_CISIS_OID.findall(path.read_text(encoding="utf-8", errors="replace")))
        oids -= {CISIS_HEADER_TEMPLATE}
    return frozenset(oids), codes


@functools.lru_cache(maxsize=8)
def _load_pack(root: str) -> CdaPack:
    pack = CdaPack(Path(root))
    directory = pack.root / "schematrons"
    if directory.is_dir():
        for path in sorted(directory.glob("CI-SIS_*.sch")):
            match = _VOLET_FILE.match(path.name)
            if not match:
                continue
            oids, codes = _template_ids_and_codes_of(path)
            pack.volets.append(VoletSchematron(path.resolve(), match["volet"], match["version"], oids, codes))
    return pack


def load_pack(root: Path | None = None) -> CdaPack:
    """The pack at `root`, or at `settings.cda_pack_dir()`; indexed once per process."""
    root = (root or settings.cda_pack_dir()).expanduser()
    return _load_pack(_resolved_root(root) if root.is_absolute() else str(root.resolve()))


@functools.lru_cache(maxsize=64)
def _resolved_root(root: Path) -> str:
    """An absolute pack folder resolved once per process (every document asks)."""
    return str(root.resolve())
