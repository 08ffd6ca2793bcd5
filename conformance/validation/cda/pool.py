"""The documents that schematrons read with doc() (value sets, terminologies), parsed once per process and
shared by every compiled stylesheet (see `schematron._document_pool_functions`).

A stylesheet announces each document it had to load itself; the runner pools those before that
stylesheet's next run (a one-document process never pays for the pool). Which documents were pooled is
remembered on disk beside the generated XSLT, per schematron: a process that is about to validate many
documents (the validation service) parses the ones its profile schematrons read before the first
document comes, instead of during it (the terminologies are megabytes of RDF: half a second).

The same files give the same verdicts whether pooled or loaded by doc(); a file edited after it was
pooled keeps its pooled content for the life of the process.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

POOL_MAX_DOCUMENTS = 256
POOL_MAX_FILE_BYTES = 32 * 1024 * 1024
ABSENT_MAX = 4096
RECORD_NAME = "pooled-documents.json"
RECORD_MAX_BYTES = 1024 * 1024

_LOCK = threading.Lock()
_documents: dict[str, Any] = {}  # absolute URI -> parsed document
_absent: set[str] = set()  # absolute URIs doc-available() found no document at
_generation = 0  # bumped whenever a document or an absent URI is added
_maps: tuple[int, Any] = (-1, None)  # (pool, absent URIs) as XDM maps, for the generation they were built for
_remembered: set[tuple[str, str, str]] = set()  # (record folder, schematron, URI) already in the record


def _path_of(uri: str) -> Path:
    return Path(uri.removeprefix("file://") if uri.startswith("file://") else uri.removeprefix("file:"))


def pooled(uri: str) -> bool:
    return uri in _documents


def add(processor: Any, uris: Iterable[str]) -> None:
    """Parse and pool each URI not pooled yet (bounded in count and file size; a file that does not parse
    stays out of the pool and doc() keeps loading it)."""
    global _generation
    for uri in sorted(set(uris)):
        if uri in _documents:
            continue
        if len(_documents) >= POOL_MAX_DOCUMENTS:
            return
        try:
            if _path_of(uri).stat().st_size > POOL_MAX_FILE_BYTES:
                continue
            document = processor.parse_xml(xml_uri=uri)
        except Exception:  # not poolable
            continue
        with _LOCK:
            if uri not in _documents:
                _documents[uri] = document
                _generation += 1


def add_absent(uris: Iterable[str]) -> None:
    """URIs at which doc-available() found no document: answered false from now on without asking the file
    system (a file created there later is not seen by this process, as a pooled file edited later)."""
    global _generation
    with _LOCK:
        for uri in uris:
            if uri not in _absent and uri not in _documents and len(_absent) < ABSENT_MAX:
                _absent.add(uri)
                _generation += 1


def as_maps(processor: Any, since: int) -> tuple[int, tuple[Any, Any] | None]:
    """(generation, (the pool, the absent URIs) as XDM maps) when either changed after generation `since`,
    else (since, None)."""
    global _maps
    with _LOCK:
        generation = _generation
        if generation == since:
            return since, None
        if _maps[0] != generation:
            from saxonche import create_xdm_dict

            absent = {uri: processor.make_boolean_value(True) for uri in _absent}
            _maps = (
                generation,
                (
                    processor.make_map(create_xdm_dict(processor, dict(_documents))),
                    processor.make_map(create_xdm_dict(processor, absent)),
                ),
            )
        return _maps


def clear() -> None:
    global _generation, _maps
    with _LOCK:
        _documents.clear()
        _absent.clear()
        _generation += 1
        _maps = (-1, None)


def snapshot() -> dict[str, Any]:
    with _LOCK:
        return dict(_documents)


# ---------------------------------------------------------------- what each schematron read, on disk


def _read_record(directory: Path) -> dict[str, list[str]]:
    path = directory / RECORD_NAME
    try:
        if path.stat().st_size > RECORD_MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(u) for u in v if isinstance(u, str)] for k, v in data.items() if isinstance(v, list)}


def remember(directory: Path, source: Path, uris: Iterable[str]) -> None:
    """Note on disk that `source`'s stylesheet read these documents (only when some are new to the record)."""
    new = {uri for uri in uris if (str(directory), str(source), uri) not in _remembered}
    if not new:
        return
    record = _read_record(directory)
    known = set(record.get(str(source), []))
    _remembered.update((str(directory), str(source), uri) for uri in new)
    if new <= known:
        return
    record[str(source)] = sorted(known | new)[:POOL_MAX_DOCUMENTS]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f"{RECORD_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(directory / RECORD_NAME)
    except OSError:
        pass  # an unwritable cache only costs time


def preload(processor: Any, directory: Path, sources: Iterable[Path]) -> int:
    """Pool now the documents these schematrons read in earlier runs (that still exist); returns how many
    documents the pool holds."""
    record = _read_record(directory)
    wanted = [uri for source in sources for uri in record.get(str(source), [])]
    add(processor, (uri for uri in wanted if _path_of(uri).is_file()))
    return len(_documents)
