"""Large FHIR JSON Bundles validated entry by entry within a memory budget (`conformance validate` on a file
larger than `ValidateOptions.stream_above`, 16 MiB by default).

Two passes over the file with an incremental JSON parser (ijson), never the whole document in memory:

1. **scan**: the Bundle's own properties (all but `entry`), duplicate property names anywhere, and per entry only
   compact keys: its fullUrl and `Type/id` mapped to its resource type (reference resolution), and
   `fullUrl|versionId` (bdl-7, fullUrl uniqueness, judged here over the whole Bundle).
2. **validate**: entries in batches of `BATCH` entries. Each batch goes through the FHIR validator's public entry
   point as a Bundle made of the Bundle's own properties, a stub of the first entry (bdl-11/bdl-12 look at it),
   the batch, and stubs (`resourceType` and id only) of the entries that the batch's references name, so
   references resolve and their target types are checked as in a whole-Bundle validation. Findings of the stubs
   are dropped; the batch's are relocated to `Bundle.entry[i]` and handed on as they come (`iter_findings`).

What a batch cannot judge alone: bdl-7 (replaced by the scan's check), and a Bundle profile's cardinality of
`Bundle.entry` slices (reported once as not evaluated). A reference's target is known by its type and id only,
so a slice discriminated by a resolved target's content sees the stub.

Budget, measured by `tools/bench_hardening.py bundle` (73 MB, 1,000,000 entries): peak memory under 1 GiB
(152 MB measured: the compact keys are about 100 bytes an entry, a batch a few megabytes); time is the
validator's per-entry cost (about 50 µs for a small resource) plus parsing (about 7 µs): about 1 minute of CPU. At most `MAX_LISTED` findings are kept; past that they are
counted per rule and severity and reported as one summary finding each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

from conformance.findings import Finding, Outcome, Severity, finding
from conformance.validation.options import ValidateOptions

BATCH = 500
MAX_LISTED = 10_000

# the validator's reading of an absolute or relative literal reference: [base/]Type/id[/_history/v]
_TYPE_ID = re.compile(r"^(https?://.+?/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]+)(/_history/[A-Za-z0-9\-\.]+)?$")
_ENTRY_LOCATION = re.compile(r"^Bundle\.entry\[(\d+)\]")
_CARDINALITY = frozenset({"Validation_VAL_Profile_Minimum", "Validation_VAL_Profile_Maximum"})


class NotABundle(Exception):
    """The file is not a JSON object whose resourceType is Bundle with an array of entries: validate it whole."""


@dataclass(slots=True)
class Scan:
    """What the first pass keeps: the Bundle without its entries, and compact per-entry keys."""

    shell: dict[str, Any] = field(default_factory=dict)
    entries: int = 0
    types: dict[str, str] = field(default_factory=dict)  # fullUrl or Type/id -> resourceType
    first: dict[str, Any] | None = None  # stub of the first entry
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (entry, fullUrl) repeating an earlier one
    fatal: Finding | None = None


def validate_file(
    path: Path, options: ValidateOptions, *, batch: int = BATCH, max_listed: int = MAX_LISTED
) -> list[Outcome]:
    """One Outcome for a Bundle file, validated entry by entry; NotABundle when it is not a Bundle of entries."""
    from conformance.validation.fhir.inputs import validator_for

    with path.open("rb") as handle:
        if handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
            raise NotABundle
        handle.seek(0)
        scan = scan_bundle(handle)
    validator = validator_for(options)
    outcome = Outcome(subject=f"{path} (Bundle)", kind="fhir", details={"file": str(path), "entries": scan.entries})
    listed = _Listing(outcome, max_listed, options.lang)
    with path.open("rb") as handle:
        for item in iter_findings(handle, scan, validator, options, batch=batch):
            listed.add(item)
    listed.close()
    outcome.details["streamed"] = True
    return [outcome]


def scan_bundle(handle: IO[bytes]) -> Scan:
    """First pass. Raises NotABundle; a syntax error or a duplicated property becomes `Scan.fatal`."""
    import ijson

    scan = Scan()
    try:
        _scan_events(ijson.parse(handle, use_float=True), scan)
    except ijson.JSONError as exc:
        if scan.shell.get("resourceType") != "Bundle":
            raise NotABundle from None  # not JSON, ndjson, or broken before saying it is a Bundle: validate whole
        scan.fatal = _fatal(f"Erreur d'analyse JSON : {exc}", f"Error parsing JSON: {exc}")
    if scan.fatal is None and scan.shell.get("resourceType") != "Bundle":
        raise NotABundle
    return scan


def _scan_events(events: Iterator[tuple[str, str, Any]], scan: Scan) -> None:
    import ijson

    keys: list[set[str]] = []  # property names of each open object, innermost last
    top: str | None = None
    builder: Any = None
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for prefix, event, value in events:
        if event == "map_key":
            if value in keys[-1]:
                scan.fatal = _fatal(
                    f"Erreur d'analyse JSON : propriété en double : {value}",
                    f"Error parsing JSON: Duplicated property name: {value}",
                )
                return
            keys[-1].add(value)
        elif event == "start_map":
            keys.append(set())
        elif event == "end_map":
            keys.pop()
        if prefix == "":
            if event == "start_map":
                continue
            if event != "map_key" and event != "end_map":
                raise NotABundle  # an array or a scalar at the top
            if builder is not None:
                scan.shell[top] = builder.value  # type: ignore[index]
                builder = None
            top = value if event == "map_key" else None
            if top is not None and top != "entry":
                builder = ijson.ObjectBuilder()
            continue
        if builder is not None:
            builder.event(event, value)
        elif top == "entry":
            if prefix == "entry":
                if event not in ("start_array", "end_array"):
                    raise NotABundle
            elif prefix == "entry.item":
                if event in ("start_map", "start_array", "string", "number", "boolean", "null"):
                    entry = {}
                    scan.entries += 1
                if event == "end_map":
                    _keep_keys(entry, scan, seen)
            elif prefix.startswith("entry.item.") and event == "string":
                name = prefix[11:]
                if name in ("fullUrl", "resource.resourceType", "resource.id", "resource.meta.versionId"):
                    entry[name] = value
            elif prefix == "entry.item.resource" and event == "start_map":
                entry["resource"] = True


def _keep_keys(entry: dict[str, Any], scan: Scan, seen: set[str]) -> None:
    """The compact keys of one entry, as the validator indexes a Bundle (only entries with a resource)."""
    index = scan.entries - 1
    full_url, kind, rid = entry.get("fullUrl"), entry.get("resource.resourceType"), entry.get("resource.id")
    if isinstance(full_url, str):
        version = entry.get("resource.meta.versionId")
        pair = full_url if version is None else f"{full_url}|{version}"
        if pair in seen:
            scan.duplicates.append((index, full_url))
        else:
            seen.add(pair)
    if not entry.get("resource") or not isinstance(kind, str):
        return
    kind = _intern(kind)
    if isinstance(full_url, str):
        scan.types.setdefault(full_url, kind)
        match = _TYPE_ID.match(full_url)
        if match:
            scan.types.setdefault(f"{match.group(2)}/{match.group(3)}", kind)
    elif isinstance(rid, str) and rid:
        scan.types.setdefault(f"{kind}/{rid}", kind)
    if index == 0:
        scan.first = {"resource": {"resourceType": kind, **({"id": rid} if isinstance(rid, str) else {})}}
        if isinstance(full_url, str):
            scan.first["fullUrl"] = full_url


_INTERNED: dict[str, str] = {}


def _intern(text: str) -> str:
    return _INTERNED.setdefault(text, text) if len(_INTERNED) < 1000 else text


def iter_findings(
    handle: IO[bytes], scan: Scan, validator: Any, options: ValidateOptions, *, batch: int = BATCH
) -> Iterator[Finding]:
    """Second pass: the findings of the whole Bundle, batch after batch, located at `Bundle.entry[i]`."""
    import ijson

    if scan.fatal is not None:
        yield scan.fatal
        return
    if scan.shell.get("type") != "history":
        yield from _bdl7(scan, options.lang)
    meta = scan.shell.get("meta")
    bundle_profiled = bool(options.profiles) or (isinstance(meta, dict) and bool(meta.get("profile")))
    if bundle_profiled:
        yield _cardinality_not_evaluated()
    root_seen: set[tuple[str, str, str, str]] = set()
    pending: list[Any] = []
    start = 0
    try:
        for entry in ijson.items(handle, "entry.item", use_float=True):
            pending.append(entry)
            if len(pending) >= batch:
                yield from _validate_batch(pending, start, scan, validator, options, root_seen, bundle_profiled)
                start += len(pending)
                pending = []
        if pending or start == 0:
            yield from _validate_batch(pending, start, scan, validator, options, root_seen, bundle_profiled)
    except ijson.JSONError as exc:  # the file changed since the scan
        yield _fatal(f"Erreur d'analyse JSON : {exc}", f"Error parsing JSON: {exc}")


def _validate_batch(
    entries: list[Any],
    start: int,
    scan: Scan,
    validator: Any,
    options: ValidateOptions,
    root_seen: set[tuple[str, str, str, str]],
    bundle_profiled: bool,
) -> Iterator[Finding]:
    """Validate entries [start, start + len) as one Bundle with stubs; yield their findings, relocated."""
    lead = [scan.first] if start > 0 and scan.first is not None else []
    stubs = _stubs(entries, scan)
    bundle = dict(scan.shell)
    bundle["entry"] = [*lead, *entries, *stubs]
    outcome = validator.validate(bundle, options.profiles, options.lang)
    offset = start - len(lead)
    for item in outcome.findings:
        match = _ENTRY_LOCATION.match(item.location)
        if match is None:
            if item.rule == "bdl-7" or (bundle_profiled and _entry_cardinality(item)):
                continue
            key = (item.rule, item.location, item.message_en, item.severity)
            if key not in root_seen:
                root_seen.add(key)
                yield item
            continue
        position = int(match.group(1))
        if position < len(lead) or position >= len(lead) + len(entries):
            continue  # a stub's own finding
        yield _moved(item, f"Bundle.entry[{offset + position}]{item.location[match.end() :]}")


_FINDING_FIELDS = [f.name for f in fields(Finding)]
_FINDING_VALUES = attrgetter(*_FINDING_FIELDS)
_LOCATION_FIELD = _FINDING_FIELDS.index("location")


def _moved(item: Finding, location: str) -> Finding:
    """`item` at `location`: copied by its fields' values (dataclasses.replace's own work cost more)."""
    values = list(_FINDING_VALUES(item))
    values[_LOCATION_FIELD] = location
    return Finding(*values)


def _stubs(entries: list[Any], scan: Scan) -> list[dict[str, Any]]:
    """Stand-ins for the entries outside the batch that its references name (type and id: enough to resolve)."""
    own: set[str] = set()
    for entry in entries:
        if isinstance(entry, dict):
            own.update(_entry_keys(entry))
    wanted: dict[str, str] = {}
    for reference in _references(entries):
        candidates = [reference]
        match = _TYPE_ID.match(reference.split("?", 1)[0])
        if match:
            candidates.append(f"{match.group(2)}/{match.group(3)}")
        for key in candidates:
            kind = scan.types.get(key)
            if kind is not None and key not in own and key not in wanted:
                wanted[key] = kind
    stubs: list[dict[str, Any]] = []
    for key, kind in wanted.items():
        match = _TYPE_ID.match(key)
        if match and match.group(1) is None:
            stubs.append({"resource": {"resourceType": kind, "id": match.group(3)}})
        else:
            stubs.append({"fullUrl": key, "resource": {"resourceType": kind}})
    return stubs


def _entry_keys(entry: dict[str, Any]) -> list[str]:
    full_url, resource = entry.get("fullUrl"), entry.get("resource")
    keys = []
    if isinstance(full_url, str):
        keys.append(full_url)
        match = _TYPE_ID.match(full_url)
        if match:
            keys.append(f"{match.group(2)}/{match.group(3)}")
    elif isinstance(resource, dict) and isinstance(resource.get("id"), str):
        keys.append(f"{resource.get('resourceType')}/{resource['id']}")
    return keys


def _references(entries: list[Any]) -> Iterator[str]:
    """Every `reference` string in the entries (any depth, without recursion), contained ones excepted."""
    stack: list[Any] = list(entries)
    pop, push = stack.pop, stack.extend
    while stack:
        value = pop()
        if isinstance(value, dict):
            reference = value.get("reference")
            if isinstance(reference, str) and reference and not reference.startswith("#"):
                yield reference
            push(value.values())  # scalars too: popped and passed over costs less than a filter per value
        elif isinstance(value, list):
            push(value)


def _entry_cardinality(item: Finding) -> bool:
    return item.rule in _CARDINALITY and item.message_en.startswith("Bundle.entry")


def _bdl7(scan: Scan, lang: str) -> Iterator[Finding]:
    for index, full_url in scan.duplicates:
        yield finding(
            "error",
            "invariant",
            "bdl-7",
            f"Bundle.entry[{index}]",
            f"Contrainte bdl-7 non respectée : le fullUrl '{full_url}' (même meta.versionId) est déjà celui d'une "
            "entrée précédente ; il doit être unique dans le Bundle",
            f"Constraint bdl-7 failed: fullUrl '{full_url}' (same meta.versionId) is already an earlier entry's; "
            "FullUrl must be unique in a bundle",
            source="fhir",
        )


def _cardinality_not_evaluated() -> Finding:
    return finding(
        "warning",
        "informational",
        "bundle-stream-cardinality-not-evaluated",
        "Bundle",
        "Cardinalité des tranches de Bundle.entry du profil non évaluée : Bundle validé entrée par entrée (taille)",
        "Cardinality of the profile's Bundle.entry slices not evaluated: Bundle validated entry by entry (size)",
        source="tool",
    )


def _fatal(fr: str, en: str) -> Finding:
    return finding("fatal", "structure", "Error_parsing_JSON_", "", fr, en, source="fhir")


class _Listing:
    """The findings kept in the Outcome: the first `limit`, then a count per rule and severity."""

    def __init__(self, outcome: Outcome, limit: int, lang: str) -> None:
        self.outcome, self.limit, self.lang = outcome, limit, lang
        self.unlisted: dict[tuple[Severity, str], int] = {}

    def add(self, item: Finding) -> None:
        if len(self.outcome.findings) < self.limit:
            self.outcome.findings.append(item)
        else:
            key = (item.severity, item.rule)
            self.unlisted[key] = self.unlisted.get(key, 0) + 1

    def close(self) -> None:
        for (severity, rule), count in sorted(self.unlisted.items(), key=lambda kv: (-kv[0][0].rank, kv[0][1])):
            self.outcome.findings.append(
                finding(
                    severity,
                    "informational",
                    "findings-not-listed",
                    "Bundle",
                    f"{count} autre(s) constat(s) « {rule} » non listé(s) (au-delà de {self.limit} constats)",
                    f"{count} more '{rule}' finding(s) not listed (past {self.limit} findings)",
                    source="tool",
                )
            )
        if self.unlisted:
            self.outcome.details["findings_not_listed"] = sum(self.unlisted.values())
