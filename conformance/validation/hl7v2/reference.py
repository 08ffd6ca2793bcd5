"""HL7 v2 base definitions (segments, fields, data types, HL7 tables) taken from hl7apy's reference data.

Profiles only describe what they constrain; every other field inherits its data type, cardinality and table
from the base standard of the message's version (2.5 for PAM FR and ORU, 2.6 for MDM), read here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

_SUPPORTED = ("2.5", "2.5.1", "2.6", "2.7", "2.8")


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


def _module(version: str, name: str):
    version = version if version in _SUPPORTED else "2.5"
    return importlib.import_module(f"hl7apy.v{version.replace('.', '_')}.{name}")


def _table_id(value: str | None) -> str | None:
    if not value:
        return None
    return value[2:] if value.startswith("HL") else value


@lru_cache(maxsize=512)
def base_fields(version: str, segment: str) -> dict[int, BaseField] | None:
    """The base fields of a segment, or None when the standard does not define it (Z segments)."""
    definition = _module(version, "segments").SEGMENTS.get(segment)
    if definition is None:
        return None
    fields: dict[int, BaseField] = {}
    for key, spec, cardinality, _kind in definition[1]:
        position = int(key.rsplit("_", 1)[1])
        fields[position] = BaseField(
            position, spec[3], spec[2], _table_id(spec[4]), int(cardinality[0]), int(cardinality[1])
        )
    return fields


@lru_cache(maxsize=512)
def base_components(version: str, datatype: str) -> tuple[BaseComponent, ...]:
    """The components of a composite data type (empty for primitives and unknown types)."""
    datatypes = _module(version, "datatypes").DATATYPES
    result: list[BaseComponent] = []
    position = 1
    while (spec := datatypes.get(f"{datatype}_{position}")) is not None:
        result.append(BaseComponent(position, spec[3], spec[2], _table_id(spec[4])))
        position += 1
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
