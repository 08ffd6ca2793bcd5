"""In-memory, versioned FHIR resource store with the search parameters the French guides use.

Thread-safe (one lock): the reference server is a ThreadingHTTPServer. Search semantics follow the FHIR R4
search page for the parameter types used here: token (`system|code`, `|code`, `code`, `system|`), string
(case- and accent-insensitive prefix, `:exact`, `:contains`), date (prefixes eq ne gt lt ge le sa eb ap, at the
precision given), reference (`Type/id`, `id`, absolute URL) and the chain `patient.identifier`.
"""

from __future__ import annotations

import copy
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Resource = dict[str, Any]


class StoreError(Exception):
    """A request the store refuses; `status` is the HTTP status, `code` the OperationOutcome issue type."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SearchParam:
    kind: str  # token, string, date, reference, uri
    paths: tuple[str, ...]  # dotted paths into the resource; lists are flattened
    target: str = ""  # for references: the resource type a bare id means
    definition: str = ""  # canonical of a guide's SearchParameter (default: the R4 one)


def _p(kind: str, *paths: str, target: str = "", definition: str = "") -> SearchParam:
    return SearchParam(kind, paths, target, definition)


PDSM_SP = "https://interop.esante.gouv.fr/ig/fhir/pdsm/SearchParameter/"
IS_ARCHIVED = (
    "extension{https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived}.valueBoolean"
)
MHD_EXT = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"


COMMON_PARAMS = {
    "_id": _p("token", "id"),
    "_lastUpdated": _p("date", "meta.lastUpdated"),
    "_profile": _p("uri", "meta.profile"),
}

SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = {
    "Patient": {
        "identifier": _p("token", "identifier"),
        "family": _p("string", "name.family"),
        "given": _p("string", "name.given"),
        "name": _p("string", "name.family", "name.given", "name.text"),
        "birthdate": _p("date", "birthDate"),
        "gender": _p("token", "gender"),
        "active": _p("token", "active"),
    },
    "Practitioner": {
        "identifier": _p("token", "identifier"),
        "family": _p("string", "name.family"),
        "given": _p("string", "name.given"),
        "name": _p("string", "name.family", "name.given", "name.text"),
        "active": _p("token", "active"),
        "identifier-type": _p("token", "identifier.type"),
        "qualification-code": _p("token", "qualification.code"),
    },
    "PractitionerRole": {
        "identifier": _p("token", "identifier"),
        "practitioner": _p("reference", "practitioner", target="Practitioner"),
        "organization": _p("reference", "organization", target="Organization"),
        "role": _p("token", "code"),
        "active": _p("token", "active"),
    },
    "Organization": {
        "identifier": _p("token", "identifier"),
        "identifier-type": _p("token", "identifier.type"),
        "name": _p("string", "name", "alias"),
        "type": _p("token", "type"),
        "active": _p("token", "active"),
        "partof": _p("reference", "partOf", target="Organization"),
        "address-city": _p("string", "address.city"),
        "address-postalcode": _p("string", "address.postalCode"),
    },
    "DocumentReference": {
        "patient": _p("reference", "subject", target="Patient"),
        "subject": _p("reference", "subject", target="Patient"),
        "status": _p("token", "status"),
        "type": _p("token", "type"),
        "category": _p("token", "category"),
        "date": _p("date", "date"),
        "creation": _p("date", "content.attachment.creation"),
        "identifier": _p("token", "masterIdentifier", "identifier"),
        "format": _p("token", "content.format"),
        "setting": _p("token", "context.practiceSetting"),
        "facility": _p("token", "context.facilityType"),
        "event": _p("token", "context.event"),
        "period": _p("date", "context.period"),
        "security-label": _p("token", "securityLabel"),
        "author": _p("reference", "author"),
        "relatesto": _p("reference", "relatesTo.target", target="DocumentReference"),
        "contenttype": _p("token", "content.attachment.contentType"),
        # PDSm SearchParameters
        "period-start": _p("date", "context.period.start", definition=PDSM_SP + "PDSm-DocumentReference-period-start"),
        "period-end": _p("date", "context.period.end", definition=PDSM_SP + "PDSm-DocumentReference-period-end"),
        "isArchived": _p("token", IS_ARCHIVED, definition=PDSM_SP + "PDSm-isArchived"),
    },
    "List": {
        "patient": _p("reference", "subject", target="Patient"),
        "subject": _p("reference", "subject", target="Patient"),
        "code": _p("token", "code"),
        "status": _p("token", "status"),
        "identifier": _p("token", "identifier"),
        "date": _p("date", "date"),
        "source": _p("reference", "source"),
        "title": _p("string", "title"),
        "item": _p("reference", "entry.item"),
        # PDSm SearchParameters (authorOrg: on List, per its expression, and on List.source as in the examples)
        "isArchived": _p("token", IS_ARCHIVED, definition=PDSM_SP + "PDSm-isArchived"),
        "authorOrg": _p(
            "reference",
            f"extension{{{MHD_EXT}ihe-authorOrg}}.valueReference",
            f"source.extension{{{MHD_EXT}ihe-authorOrg}}.valueReference",
            definition=PDSM_SP + "PDSm-List-authorOrg",
        ),
        # IHE MHD ITI-66 parameters
        "designationType": _p("token", f"extension{{{MHD_EXT}ihe-designationType}}.valueCodeableConcept"),
        "sourceId": _p("token", f"extension{{{MHD_EXT}ihe-sourceId}}.valueIdentifier"),
    },
    "Binary": {},
}

SUPPORTED_TYPES = tuple(SEARCH_PARAMS)


def now_instant() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------------------------- values


_PATH_STEP = re.compile(r"\.(?![^{]*\})")


def values_at(resource: Any, path: str) -> list[Any]:
    """Every value at a dotted path, lists flattened (a tiny FHIRPath subset).

    `extension{URL}` keeps the extensions whose url is URL (FHIRPath `extension.where(url = 'URL')`)."""
    current = [resource]
    for part in _PATH_STEP.split(path):
        name, _, wanted_url = part.partition("{")
        wanted_url = wanted_url.rstrip("}")
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict) and name in item:
                value = item[name]
                nxt.extend(value if isinstance(value, list) else [value])
        if wanted_url:
            nxt = [v for v in nxt if isinstance(v, dict) and v.get("url") == wanted_url]
        current = nxt
    return current


def fold(text: str) -> str:
    """Case- and accent-insensitive form for string search."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _codings(value: Any) -> Iterable[tuple[str | None, str]]:
    """(system, code) pairs a token parameter can match in an element."""
    if isinstance(value, bool):
        yield None, "true" if value else "false"
    elif isinstance(value, str):
        yield None, value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or []:
                if isinstance(coding, dict) and "code" in coding:
                    yield coding.get("system"), str(coding["code"])
        elif "value" in value:  # Identifier
            yield value.get("system"), str(value.get("value", ""))
        elif "code" in value:
            yield value.get("system"), str(value["code"])


def token_matches(element: Any, query: str, modifier: str = "") -> bool:
    if modifier == "text":
        text = element.get("text", "") if isinstance(element, dict) else ""
        return fold(text).startswith(fold(query))
    system: str | None
    if "|" in query:
        system, code = query.split("|", 1)
    else:
        system, code = None, query
    for s, c in _codings(element):
        if system is None:
            if c == code:
                return True
        elif system == "":
            if s in (None, "") and c == code:
                return True
        elif s == system and (code == "" or c == code):
            return True
    return False


def string_matches(element: Any, query: str, modifier: str = "") -> bool:
    if not isinstance(element, str):
        return False
    if modifier == "exact":
        return element == query
    if modifier == "contains":
        return fold(query) in fold(element)
    return fold(element).startswith(fold(query))


DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def date_range(text: str) -> tuple[datetime, datetime]:
    """[start, end) of a FHIR date/dateTime/instant at its precision; ValueError when malformed."""
    text = text.strip()
    if len(text) == 4:
        start = datetime(int(text), 1, 1, tzinfo=UTC)
        return start, start.replace(year=start.year + 1)
    if len(text) == 7:
        start = datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    if len(text) == 10:
        start = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return start, start + timedelta(days=1)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    precision = timedelta(seconds=1) if parsed.microsecond == 0 else timedelta(milliseconds=1)
    return parsed, parsed + precision


def _element_date_range(element: Any) -> tuple[datetime, datetime] | None:
    try:
        if isinstance(element, str):
            return date_range(element)
        if isinstance(element, dict) and ("start" in element or "end" in element):  # Period
            low = date_range(element["start"])[0] if "start" in element else datetime.min.replace(tzinfo=UTC)
            high = date_range(element["end"])[1] if "end" in element else datetime.max.replace(tzinfo=UTC)
            return low, high
    except (ValueError, TypeError):
        return None
    return None


def parse_date_query(query: str) -> tuple[str, tuple[datetime, datetime]]:
    prefix = query[:2] if query[:2] in DATE_PREFIXES else "eq"
    value = query[2:] if query[:2] in DATE_PREFIXES else query
    try:
        return prefix, date_range(value)
    except ValueError as exc:
        raise StoreError(400, "invalid", f"invalid date search value '{query}'") from exc


def date_matches(element: Any, prefix: str, q: tuple[datetime, datetime]) -> bool:
    target = _element_date_range(element)
    if target is None:
        return False
    (ts, te), (qs, qe) = target, q
    return {
        "eq": qs <= ts and te <= qe,
        "ne": not (qs <= ts and te <= qe),
        "gt": te > qe,
        "lt": ts < qs,
        "ge": te > qs,
        "le": ts < qe,
        "sa": ts >= qe,
        "eb": te <= qs,
        "ap": ts < qe + (qe - qs) and te > qs - (qe - qs),
    }[prefix]


def reference_matches(element: Any, query: str, target: str) -> bool:
    if not isinstance(element, dict):
        return False
    ref = str(element.get("reference", ""))
    if not ref:
        return False
    wanted = query.rstrip("/")
    if "/" not in wanted and target:
        wanted = f"{target}/{wanted}"
    if "/" not in wanted:
        return ref.split("/")[-1] == wanted
    tail = "/".join(wanted.split("/")[-2:])
    return ref in (wanted, tail) or ref.endswith("/" + tail)


# ----------------------------------------------------------------------------------------------- store


class FhirStore:
    """Resources by type and id, every version kept (vread, history, ETag)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._versions: dict[tuple[str, str], list[Resource | None]] = {}  # None marks a deletion

    # -- writes
    def seed(self, resources: Iterable[Resource]) -> None:
        for resource in resources:
            self.put(copy.deepcopy(resource))

    def _stamp(self, resource: Resource, version: int) -> Resource:
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = str(version)
        meta["lastUpdated"] = now_instant()
        # meta's keys in R4 order: versionId, lastUpdated, source, profile, security, tag
        ordered = {
            k: meta[k]
            for k in ("versionId", "lastUpdated", "source", "profile", "security", "tag", "extension")
            if k in meta
        }
        ordered.update({k: v for k, v in meta.items() if k not in ordered})
        out = {"resourceType": resource["resourceType"], "id": resource["id"], "meta": ordered}
        out.update({k: v for k, v in resource.items() if k not in out})
        return out

    def create(self, resource: Resource) -> Resource:
        with self._lock:
            resource = dict(resource)
            resource["id"] = str(uuid.uuid4())
            return self.put(resource)

    def put(self, resource: Resource, if_match: str | None = None) -> Resource:
        """Create or update at the resource's id; `if_match` is the expected current versionId."""
        rtype, rid = resource["resourceType"], resource["id"]
        with self._lock:
            history = self._versions.setdefault((rtype, rid), [])
            current = history[-1] if history else None
            if if_match is not None and (current is None or current["meta"]["versionId"] != if_match):
                raise StoreError(412, "conflict", f"{rtype}/{rid}: version {if_match} is not the current version")
            stamped = self._stamp(resource, len(history) + 1)
            history.append(stamped)
            return copy.deepcopy(stamped)

    def delete(self, rtype: str, rid: str) -> bool:
        with self._lock:
            history = self._versions.get((rtype, rid))
            if not history or history[-1] is None:
                return False
            history.append(None)
            return True

    # -- reads
    def exists(self, rtype: str, rid: str) -> bool:
        with self._lock:
            history = self._versions.get((rtype, rid))
            return bool(history) and history[-1] is not None

    def read(self, rtype: str, rid: str) -> Resource:
        with self._lock:
            history = self._versions.get((rtype, rid))
            if not history:
                raise StoreError(404, "not-found", f"{rtype}/{rid} is not known")
            if history[-1] is None:
                raise StoreError(410, "deleted", f"{rtype}/{rid} has been deleted")
            return copy.deepcopy(history[-1])

    def vread(self, rtype: str, rid: str, vid: str) -> Resource:
        with self._lock:
            history = self._versions.get((rtype, rid))
            if not history:
                raise StoreError(404, "not-found", f"{rtype}/{rid} is not known")
            if not vid.isdigit() or not 1 <= int(vid) <= len(history):
                raise StoreError(404, "not-found", f"{rtype}/{rid} has no version {vid}")
            found = history[int(vid) - 1]
            if found is None:
                raise StoreError(410, "deleted", f"{rtype}/{rid} version {vid} is a deletion")
            return copy.deepcopy(found)

    def history(self, rtype: str, rid: str) -> list[Resource | None]:
        with self._lock:
            history = self._versions.get((rtype, rid))
            if not history:
                raise StoreError(404, "not-found", f"{rtype}/{rid} is not known")
            return copy.deepcopy(list(reversed(history)))

    def all_of_type(self, rtype: str) -> list[Resource]:
        with self._lock:
            return [
                copy.deepcopy(h[-1]) for (t, _), h in self._versions.items() if t == rtype and h and h[-1] is not None
            ]

    # -- search
    def search(
        self, rtype: str, params: list[tuple[str, str]], strict: bool = False
    ) -> tuple[list[Resource], list[tuple[str, str]]]:
        """Matching resources and the (name, value) pairs actually applied (for the self link)."""
        known = SEARCH_PARAMS.get(rtype, {}) | COMMON_PARAMS
        filters: list[Callable[[Resource], bool]] = []
        used: list[tuple[str, str]] = []
        for name, value in params:
            base, _, modifier = name.partition(":")
            if base.startswith("_") and base not in COMMON_PARAMS:
                continue  # result parameters (_count, _format, _sort...) are handled by the caller
            if "." in base:
                chained = self._chain_filter(rtype, base, value)
                if chained is None:
                    if strict:
                        raise StoreError(
                            400, "not-supported", f"unsupported chained search parameter '{name}' on {rtype}"
                        )
                    continue
                filters.append(chained)
                used.append((name, value))
                continue
            param = known.get(base)
            if param is None:
                if strict:
                    raise StoreError(400, "not-supported", f"unknown search parameter '{name}' for {rtype}")
                continue
            filters.append(self._filter(param, value, modifier))
            used.append((name, value))
        results = [r for r in self.all_of_type(rtype) if all(f(r) for f in filters)]
        results.sort(key=lambda r: r["meta"]["lastUpdated"], reverse=True)
        return results, used

    def _filter(self, param: SearchParam, value: str, modifier: str) -> Callable[[Resource], bool]:
        alternatives = [v for v in value.split(",") if v != ""] or [""]
        if modifier == "missing":
            want_missing = value == "true"
            return lambda r: (not any(values_at(r, p) for p in param.paths)) == want_missing

        def matches(resource: Resource) -> bool:
            elements = [e for path in param.paths for e in values_at(resource, path)]
            for alt in alternatives:
                if param.kind == "token" and any(token_matches(e, alt, modifier) for e in elements):
                    return True
                if param.kind == "string" and any(string_matches(e, alt, modifier) for e in elements):
                    return True
                if param.kind == "uri" and any(e == alt for e in elements):
                    return True
                if param.kind == "reference" and any(reference_matches(e, alt, param.target) for e in elements):
                    return True
                if param.kind == "date":
                    prefix, rng = parse_date_query(alt)
                    if any(date_matches(e, prefix, rng) for e in elements):
                        return True
            return False

        if param.kind == "date":
            for alt in alternatives:
                parse_date_query(alt)  # reject malformed dates up front (400), not silently
        return matches

    def _chain_filter(self, rtype: str, name: str, value: str) -> Callable[[Resource], bool] | None:
        """`patient.identifier=system|value` (ITI-67 / ITI-66) and similar one-level chains."""
        head, _, tail = name.partition(".")
        param = SEARCH_PARAMS.get(rtype, {}).get(head)
        if param is None or param.kind != "reference" or not param.target:
            return None
        target_params = SEARCH_PARAMS.get(param.target, {}) | COMMON_PARAMS
        if tail not in target_params:
            return None
        targets, _ = self.search(param.target, [(tail, value)])
        wanted = {f"{param.target}/{t['id']}" for t in targets}

        def matches(resource: Resource) -> bool:
            refs = [e for path in param.paths for e in values_at(resource, path)]
            return any(any(reference_matches(e, w, param.target) for w in wanted) for e in refs)

        return matches
