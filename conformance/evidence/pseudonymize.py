"""Pseudonymisation of patient data in evidence: INS/NIR and other patient identifiers, names, birth dates.

Two steps, so that a value is replaced wherever it appears (URLs, narratives, messages, other bodies):
1. `learn(body)` / `learn_from_url(url)` / `learn_identity(...)` extract the patient values from
   FHIR JSON/XML (Patient, RelatedPerson, Person; any INS identifier), HL7 v2 PID/MRG segments and the
   CDA recordTarget, and give each a pseudonym;
2. `apply(text)` replaces every learned value (names case-insensitively, dates in their FHIR, HL7 and
   French forms) by its pseudonym.
Pseudonyms are keyed HMACs with a random per-run key: the same input gets the same pseudonym within a
run (so exchanges stay linkable), and nothing links them across runs. The mapping is never written.

Documents carried in base64 (a CDA in FHIR Binary.data / Attachment.data, or in an HL7 OBX-5 ED field) are
decoded, learned from and rewritten too, then re-encoded. Binary payloads that cannot be rewritten value
by value (an XDM zip, a PDF) are withheld by the recorder when pseudonymisation is on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import secrets as _secrets
import threading
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from lxml import etree

from conformance.identifiers import INS_ARC

PATIENT_RESOURCE_TYPES = frozenset({"Patient", "RelatedPerson", "Person"})
# INS: NIR (.8), NIA (.9), test and demonstration arcs (.10, .11, .12).
INS_OIDS = tuple(f"{INS_ARC}{n}" for n in (8, 9, 10, 11, 12))
_NIR_LIKE = re.compile(r"(?<!\d)[12]\d{12}(?:\d{2})?(?!\d)")
_URL_NAME_PARAMS = {"family", "given", "name", "phonetic", "family:exact", "given:exact", "name:exact"}
_URL_DATE_PARAMS = {"birthdate"}
_URL_ID_PARAMS = {"identifier", "patient.identifier", "subject.identifier", "subject:patient.identifier"}
_MIN_NAME_LENGTH = 2
_NAME_PARTICLES = frozenset(
    {"de", "du", "des", "la", "le", "les", "d'", "van", "von", "der", "den", "di", "da", "del", "dos", "ben", "el",
     "mme", "mlle", "mr", "m.", "dr", "pr", "monsieur", "madame", "épouse", "epouse", "née", "nee", "veuve"}
)  # fmt: skip
_EMBEDDED_BASE64 = re.compile(r"[A-Za-z0-9+/]{64,}={0,2}")
_MAX_LOOSE = 64 * 1024 * 1024
_JSON_STRING = r'"(?:[^"\\\n]|\\.){0,1000}"'
# "family": "X" and "given": ["A", "B"], in a document that does not parse
_LOOSE_JSON_NAME = re.compile(rf'"(?:family|given)"\s*:\s*(\[\s*(?:{_JSON_STRING}\s*,?\s*){{0,20}}\]|{_JSON_STRING})')
_LOOSE_XML_NAME = re.compile(
    r'<(?:[\w.-]+:)?(?:family|given)\b[^>]{0,200}?\bvalue="([^"]{0,500})"|<(?:[\w.-]+:)?(?:family|given)\b[^>]{0,200}>([^<]{1,500})<'
)
_LOOSE_BIRTH = re.compile(
    r'"birthDate"\s*:\s*"(\d{4}-\d{2}-\d{2})|<(?:[\w.-]+:)?birthDate\s+value="(\d{4}-\d{2}-\d{2})'
    r'|<(?:[\w.-]+:)?birthTime\s+value="(\d{8})'
)
_JSON_ESCAPED_WORD = re.compile(r"(?:[^\W_]|\\u[0-9a-fA-F]{4}){2,200}")
_XML_ESCAPED_WORD = re.compile(r"(?:[^\W_]|&#(?:[xX][0-9a-fA-F]{1,6}|[0-9]{1,7});){2,200}")
_MAX_EMBEDDED = 20_000_000


class Pseudonymizer:
    """Learns patient values and replaces them consistently within one run. Thread-safe."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or _secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}  # casefolded original -> pseudonym
        self._literals: dict[str, str] = {}  # exact original (identifiers, date forms) -> pseudonym
        self._pattern: re.Pattern[str] | None = None

    # -- learning -------------------------------------------------------------------------------
    def learn_identity(
        self,
        family: str | None = None,
        given: Iterable[str] = (),
        birth_date: str | None = None,
        identifiers: Iterable[str] = (),
    ) -> None:
        """Registers a known test patient (e.g. from the configuration's test data)."""
        self._add_names([family, *given])
        self._add_date(birth_date)
        self._add_identifiers(identifiers)

    def learn(self, body: bytes | str, _depth: int = 0) -> None:
        """Extracts patient values from a FHIR JSON/XML resource, an HL7 v2 message or a CDA document."""
        text = _text_of(body)[0] if isinstance(body, bytes) else body
        if _depth == 0:
            for decoded in _embedded_documents(text):
                self.learn(decoded, _depth=1)
        stripped = text.lstrip("\ufeff \t\r\n")
        if not stripped:
            return
        try:
            if stripped[0] in "{[":
                self._learn_json_text(stripped)
            elif stripped.startswith("MSH"):
                self._learn_hl7v2(stripped)
            elif stripped[0] == "<":
                self._learn_xml(stripped)
        except (ValueError, etree.Error, IndexError, TypeError, RecursionError):
            # Cut at the size limit, nested past the parser's depth, broken on purpose: the names it holds
            # must not reach the evidence in clear because the document does not parse.
            self._learn_loosely(stripped)
        self._add_identifiers(_NIR_LIKE.findall(text) if _mentions_ins(text) else [])

    def learn_from_url(self, url: str) -> None:
        query = urlsplit(url).query
        for name, value in parse_qsl(query, keep_blank_values=False):
            lowered = name.lower()
            if lowered in _URL_NAME_PARAMS:
                self._add_names(value.split(","))
            elif lowered in _URL_DATE_PARAMS:
                self._add_date(re.sub(r"^(eq|ne|lt|gt|le|ge|sa|eb|ap)", "", value))
            elif lowered in _URL_ID_PARAMS:
                for item in value.split(","):
                    self._add_identifiers([item.rpartition("|")[2]])

    # -- applying -------------------------------------------------------------------------------
    def apply(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        text = _EMBEDDED_BASE64.sub(self._rewrite_embedded, text)
        # A value written with JSON \u escapes or XML character references ("Dupon\u0074el", "Dupon&#116;el")
        # is read as the name by any parser: those words are decoded, and replaced when they hold a value.
        if "\\u" in text:
            text = _JSON_ESCAPED_WORD.sub(lambda m: self._escaped_word(m, _decode_json_escapes), text)
        if "&#" in text:
            text = _XML_ESCAPED_WORD.sub(lambda m: self._escaped_word(m, html.unescape), text)
        return pattern.sub(self._replacement, text)

    def _escaped_word(self, match: re.Match[str], decode: Any) -> str:
        word = match.group(0)
        decoded = decode(word)
        assert self._pattern is not None
        replaced = self._pattern.sub(self._replacement, decoded)
        return replaced if replaced != decoded else word

    def _rewrite_embedded(self, match: re.Match[str]) -> str:
        decoded = _decode_document(match.group(0))
        if decoded is None:
            return match.group(0)
        rewritten = self.apply(decoded)
        if rewritten == decoded:
            return match.group(0)
        return base64.b64encode(rewritten.encode("utf-8")).decode("ascii")

    def apply_bytes(self, data: bytes) -> bytes:
        if self._pattern is None or not data:
            return data
        text, encoding = _text_of(data)
        return self.apply(text).encode(encoding, "surrogateescape" if encoding == "utf-8" else "strict")

    @property
    def known_values(self) -> int:
        return len(self._names) + len(self._literals)

    def _replacement(self, match: re.Match[str]) -> str:
        value = match.group(0)
        return self._literals.get(value) or self._names.get(value.casefold()) or value

    # -- extraction -----------------------------------------------------------------------------
    def _learn_json_text(self, text: str) -> None:
        if text[0] == "{" and "\n{" in text:  # NDJSON
            for line in text.splitlines():
                if line.strip():
                    self._learn_json(json.loads(line))
            return
        self._learn_json(json.loads(text))

    def _learn_json(self, root: Any, in_patient: bool = False) -> None:
        pending: list[tuple[Any, bool]] = [(root, in_patient)]  # iterative: nesting depth is the sender's choice
        while pending:
            node, in_patient = pending.pop()
            if isinstance(node, list):
                pending.extend((item, in_patient) for item in reversed(node))
                continue
            if not isinstance(node, dict):
                continue
            if "resourceType" in node:
                in_patient = node.get("resourceType") in PATIENT_RESOURCE_TYPES
            if in_patient:
                for name in node.get("name", []) if isinstance(node.get("name"), list) else []:
                    if isinstance(name, dict):
                        self._add_names([name.get("family"), *_as_list(name.get("given")), name.get("text")])
                for identifier in _as_list(node.get("identifier")):
                    if isinstance(identifier, dict):
                        self._add_identifiers([identifier.get("value")])
            if isinstance(node.get("birthDate"), str):
                self._add_date(node["birthDate"])
            system = node.get("system")
            if isinstance(system, str) and system.endswith(INS_OIDS) and isinstance(node.get("value"), str):
                self._add_identifiers([node["value"]])
            for key, value in reversed(node.items()):
                if isinstance(value, dict | list) and key not in ("text",):
                    pending.append((value, in_patient and key not in ("contained",)))

    def _learn_loosely(self, text: str) -> None:
        """Names, birth dates and INS of a document that does not parse, found by their JSON or XML markup
        (of any resource: a broken body cannot say which one is the patient's)."""
        if len(text) > _MAX_LOOSE:
            text = text[:_MAX_LOOSE]
        names: list[str] = []
        for match in _LOOSE_JSON_NAME.finditer(text):
            names.extend(_json_strings(match.group(1)))
        for match in _LOOSE_XML_NAME.finditer(text):
            names.append(html.unescape(match.group(1) if match.group(1) is not None else match.group(2) or ""))
        self._add_names(names)
        for match in _LOOSE_BIRTH.finditer(text):
            value = next(group for group in match.groups() if group)
            self._add_date(value if "-" in value else f"{value[:4]}-{value[4:6]}-{value[6:8]}")

    def _learn_hl7v2(self, text: str) -> None:
        segments = [s for s in re.split(r"[\r\n]+", text) if s]
        if not segments or len(segments[0]) < 8:
            return
        field_sep = segments[0][3]
        component_sep, repetition_sep, subcomponent_sep = segments[0][4], segments[0][5], segments[0][7]
        for segment in segments:
            fields = segment.split(field_sep)
            if fields[0] == "PID":
                for index in (2, 3, 4):  # PID-2/3/4 identifiers (CX.1)
                    for rep in _field(fields, index).split(repetition_sep):
                        self._add_identifiers([rep.split(component_sep)[0]])
                for index in (5, 6, 9):  # patient name, mother's maiden name, alias
                    for rep in _field(fields, index).split(repetition_sep):
                        parts = rep.split(component_sep)
                        family = parts[0].split(subcomponent_sep)[0] if parts else ""
                        self._add_names([family, *parts[1:3]])
                birth = _field(fields, 7).split(component_sep)[0]
                if len(birth) >= 8:
                    self._add_date(f"{birth[:4]}-{birth[4:6]}-{birth[6:8]}")
            elif fields[0] == "MRG":
                for rep in _field(fields, 1).split(repetition_sep):
                    self._add_identifiers([rep.split(component_sep)[0]])

    def _learn_xml(self, text: str) -> None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
        root = etree.fromstring(text.encode("utf-8"), parser)
        local = etree.QName(root).localname
        if local == "ClinicalDocument":
            for role in root.iterfind(".//{*}recordTarget/{*}patientRole"):
                self._add_identifiers(i.get("extension") for i in role.iterfind("{*}id"))
                for name in role.iterfind("{*}patient/{*}name"):
                    self._add_names(part.text for part in name if isinstance(part.tag, str))
                for birth in role.iterfind("{*}patient/{*}birthTime"):
                    value = birth.get("value") or ""
                    if len(value) >= 8:
                        self._add_date(f"{value[:4]}-{value[4:6]}-{value[6:8]}")
            return
        for resource in root.iter():
            if not isinstance(resource.tag, str) or etree.QName(resource).localname not in PATIENT_RESOURCE_TYPES:
                continue
            for name in resource.iterfind("{*}name"):
                self._add_names(p.get("value") for p in name if isinstance(p.tag, str) and p.get("value"))
            for identifier in resource.iterfind("{*}identifier/{*}value"):
                self._add_identifiers([identifier.get("value")])
            for birth in resource.iterfind("{*}birthDate"):
                self._add_date(birth.get("value"))

    # -- registry -------------------------------------------------------------------------------
    def _pseudonym(self, category: str, value: str) -> str:
        return hmac.new(self._key, f"{category}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def _add_names(self, names: Iterable[str | None]) -> None:
        fresh: dict[str, str] = {}
        encoded: dict[str, str] = {}
        for name in names:
            if not isinstance(name, str):
                continue
            whole = name.strip(" ,.")
            # Words of a composed name count alone too ("DE LA TOUR" -> "TOUR"), except particles and
            # titles: replacing every "de" or "Mme" would garble the report's own French text.
            words = [w.strip(" ,.") for w in name.split()] if len(name.split()) > 1 else []
            candidates = {whole} | {w for w in words if len(w) >= 3 and w.casefold() not in _NAME_PARTICLES}
            for part in candidates:
                if len(part) >= _MIN_NAME_LENGTH and not part.isdigit() and part.casefold() not in self._names:
                    fresh[part.casefold()] = f"NOM-{self._pseudonym('name', part.casefold())[:6].upper()}"
                    if quote(part) != part:  # "Hélène" travels as "H%C3%A9l%C3%A8ne" in URLs
                        encoded[quote(part)] = fresh[part.casefold()]
        if fresh:
            self._update(names=fresh, literals=encoded)

    def _add_identifiers(self, identifiers: Iterable[str | None]) -> None:
        fresh = {}
        for identifier in identifiers:
            if not isinstance(identifier, str):
                continue
            identifier = unquote(identifier).strip()
            if len(identifier) < 4 or identifier in self._literals:
                continue
            digest = self._pseudonym("id", identifier)
            if identifier.isdigit():
                digits = "".join(str(int(c, 16) % 10) for c in digest)
                # Keep the length and a NIR-like first digit, but never a valid-looking real NIR prefix "1"/"2".
                fresh[identifier] = ("9" + digits)[: len(identifier)]
            else:
                fresh[identifier] = f"ID-{digest[:10].upper()}"
        if fresh:
            self._update(literals=fresh)

    def _add_date(self, value: str | None) -> None:
        if not isinstance(value, str):
            return
        match = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", value.strip())
        if not match:
            return
        year, month, day = match.groups()
        if f"{year}-{month}-{day}" in self._literals:
            return
        offset = int(self._pseudonym("date", f"{year}{month}{day}")[:8], 16) % 20000
        fake = date(1920, 1, 1) + timedelta(days=offset)
        if (fake.year, fake.month, fake.day) == (int(year), int(month), int(day)):
            fake += timedelta(days=1)
        forms = {
            f"{year}-{month}-{day}": fake.isoformat(),
            f"{year}{month}{day}": fake.strftime("%Y%m%d"),
            f"{day}/{month}/{year}": fake.strftime("%d/%m/%Y"),
        }
        self._update(literals=forms)

    def _update(self, names: dict[str, str] | None = None, literals: dict[str, str] | None = None) -> None:
        with self._lock:
            self._names.update(names or {})
            self._literals.update(literals or {})
            alternatives = sorted([*self._literals, *self._names], key=len, reverse=True)
            escaped = "|".join(re.escape(a) for a in alternatives)
            # Names and identifiers only as whole words; dates also when followed by a time ("19800101120000").
            # A value may follow a percent-escape in a URL ("identifier=urn%3Aoid%3A...%7C2870675...").
            self._pattern = re.compile(rf"(?:(?<![\w])|(?<=%[0-9A-Fa-f]{{2}}))(?:{escaped})(?![^\W\d])", re.IGNORECASE)


def _field(fields: list[str], index: int) -> str:
    return fields[index] if len(fields) > index else ""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text_of(data: bytes) -> tuple[str, str]:
    """A body's text and the encoding to write it back in: UTF-16/32 (by BOM, or ASCII interleaved with NULs)
    are read as such, so that a name sent in UTF-16 is found; anything else as UTF-8."""
    encoding = "utf-8"
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(data) >= 4 and data[1] == data[3] == 0 and data[0] and data[2]:
        encoding = "utf-16-le"
    elif len(data) >= 4 and data[0] == data[2] == 0 and data[1] and data[3]:
        encoding = "utf-16-be"
    if encoding != "utf-8":
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "surrogateescape"), "utf-8"


def _json_strings(fragment: str) -> list[str]:
    """The strings of a JSON string or array of strings cut from a broken document; [] if unreadable."""
    try:
        value = json.loads(fragment)
    except (ValueError, RecursionError):
        return []
    return [v for v in _as_list(value) if isinstance(v, str)]


def _decode_json_escapes(word: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), word)


def _mentions_ins(text: str) -> bool:
    return any(oid in text for oid in INS_OIDS) or "INS-NIR" in text or "INS-NIA" in text


def _decode_document(run: str) -> str | None:
    """The text of a base64 run when it decodes to a UTF-8 document (XML, JSON, HL7 v2), else None."""
    if len(run) > _MAX_EMBEDDED:
        return None
    try:
        data = base64.b64decode(run, validate=True)
        text = data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    return text if stripped[:1] in ("<", "{", "[") or stripped.startswith("MSH") else None


def _embedded_documents(text: str) -> list[str]:
    return [d for m in _EMBEDDED_BASE64.finditer(text) if (d := _decode_document(m.group(0))) is not None]
