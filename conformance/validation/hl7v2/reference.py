"""HL7 v2 base definitions (segments, fields, data types, HL7 tables) taken from hl7apy's reference data.

Profiles only describe what they constrain; every other field inherits its data type, cardinality and table
from the base standard of the message's version (2.5 for PAM FR and ORU, 2.6 for MDM), read here.

hl7apy's modules for a version build every message, group, field and table definition when imported (about
25 ms, most of it the fields): the segments and data types this module reads are kept, per version, in a small
marshal file of the tool cache (keyed by the hl7apy files it was read from), so that a new process reads that
file and imports no hl7apy module until it asks for a table.
"""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance import settings

_SUPPORTED = ("2.5", "2.5.1", "2.6", "2.7", "2.8")
_CACHE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class BaseComponent:
    position: int
    name: str
    datatype: str
    table: str | None


@dataclass(frozen=True, slots=True)
class BaseField:
    position: int
    name: str
    datatype: str
    table: str | None
    min: int
    max: int  # -1 = unbounded


def _version(version: str) -> str:
    return version if version in _SUPPORTED else "2.5"


def _module(version: str, name: str):
    return importlib.import_module(f"hl7apy.v{_version(version).replace('.', '_')}.{name}")


def _table_id(value: str | None) -> str | None:
    if not value:
        return None
    return value[2:] if value.startswith("HL") else value


# (segment -> ((position, name, datatype, table, min, max), ...), data type -> ((position, name, datatype, table)...))
_Definitions = tuple[dict[str, tuple[tuple[Any, ...], ...]], dict[str, tuple[tuple[Any, ...], ...]]]


def _read_hl7apy(version: str) -> _Definitions:
    """The segments and data types of hl7apy's modules for `version`; an entry hl7apy writes in another shape
    (its ANYHL7SEGMENT, QRD... of 2.7) is left out: such a segment is judged as one the standard does not
    define."""
    segments: dict[str, tuple[tuple[Any, ...], ...]] = {}
    for segment, definition in _module(version, "segments").SEGMENTS.items():
        try:
            segments[segment] = tuple(
                (int(key.rsplit("_", 1)[1]), spec[3], spec[2], _table_id(spec[4]), int(card[0]), int(card[1]))
                for key, spec, card, _kind in definition[1]
            )
        except (IndexError, ValueError, TypeError):
            continue
    datatypes: dict[str, list[tuple[Any, ...]]] = {}
    for key, spec in _module(version, "datatypes").DATATYPES.items():
        datatype, _, position = key.rpartition("_")
        try:
            component = (int(position), spec[3], spec[2], _table_id(spec[4]))
        except (IndexError, ValueError, TypeError):
            continue
        datatypes.setdefault(datatype, []).append(component)
    return segments, {name: tuple(sorted(parts)) for name, parts in datatypes.items()}


def _cache_file(version: str) -> Path | None:
    """The cache file for `version`, named after the hl7apy files it is read from (None: hl7apy not found)."""
    spec = importlib.util.find_spec("hl7apy")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / f"v{version.replace('.', '_')}"
    try:
        stamps = [f"{int(stat.st_mtime_ns)}-{stat.st_size}" for stat in (os.stat(folder / f) for f in _SOURCES)]
    except OSError:
        return None
    return settings.tool_cache_dir() / "hl7v2" / f"base-{version}-{_CACHE_FORMAT}-{'-'.join(stamps)}.marshal"


_SOURCES = ("segments.py", "fields.py", "datatypes.py")


def _well_formed(definitions: Any) -> bool:
    """What `_read_hl7apy` writes: a file of another shape (damaged, or written by other code) is read again."""
    if not (isinstance(definitions, tuple) and len(definitions) == 2):
        return False
    return all(
        isinstance(table, dict)
        and all(
            isinstance(name, str)
            and isinstance(specs, tuple)
            and all(isinstance(spec, tuple) and len(spec) == size and type(spec[0]) is int for spec in specs)
            for name, specs in table.items()
        )
        for table, size in zip(definitions, (6, 4), strict=True)
    )


@lru_cache(maxsize=8)
def _definitions(version: str) -> _Definitions:
    version = _version(version)
    path = _cache_file(version)
    if path is not None:
        try:
            definitions = marshal.loads(path.read_bytes())
            if _well_formed(definitions):
                return definitions
        except (OSError, EOFError, ValueError, TypeError):
            pass  # absent or unreadable: read hl7apy again
    definitions = _read_hl7apy(version)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            temporary.write_bytes(marshal.dumps(definitions))
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only cache: read hl7apy in each process
    return definitions


@lru_cache(maxsize=512)
def base_fields(version: str, segment: str) -> dict[int, BaseField] | None:
    """The base fields of a segment, or None when the standard does not define it (Z segments)."""
    definition = _definitions(version)[0].get(segment)
    if definition is None:
        return None
    return {spec[0]: BaseField(*spec) for spec in definition}


@lru_cache(maxsize=512)
def base_components(version: str, datatype: str) -> tuple[BaseComponent, ...]:
    """The components of a composite data type (empty for primitives and unknown types)."""
    parts = _definitions(version)[1].get(datatype, ())
    result: list[BaseComponent] = []
    for position, spec in enumerate(parts, start=1):  # numbered from 1 without gaps, as hl7apy's keys are read
        if spec[0] != position:
            break
        result.append(BaseComponent(*spec))
    return tuple(result)


@lru_cache(maxsize=256)
def base_table(version: str, table: str) -> frozenset[str] | None:
    """Codes of an HL7 table as hl7apy knows them (None when unknown)."""
    tables = _module(version, "tables").TABLES
    entry = tables.get(f"HL7{table.zfill(4)}")
    if entry is None:
        return None
    return frozenset(entry[1])


PRIMITIVES = frozenset(
    {"ST", "TX", "FT", "ID", "IS", "NM", "SI", "DT", "DTM", "TM", "TN", "GTS", "varies", "NUL", "-", ""}
)


def is_primitive(version: str, datatype: str) -> bool:
    return datatype in PRIMITIVES or not base_components(version, datatype)
