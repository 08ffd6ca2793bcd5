"""Sealing a finished run: manifest.json (SHA-256 of every file) signed with Ed25519; and verification.

Files of a sealed run folder:
    manifest.json   {"format", "version", "run_id", "sealed", "files": {path: {"sha256", "size"}}, "key": {...}}
    manifest.sig    base64 Ed25519 signature of the exact bytes of manifest.json
    renderings/     later re-renderings (`conformance report`): NOT sealed, listed separately by verify
Every other file, at any depth, must be listed in the manifest with its hash: anything changed, added,
removed or renamed is reported by `verify_run`, naming the file.

Keys: a PEM Ed25519 private key (PKCS#8, optionally encrypted) from the configuration. Without one, a
key is generated for this run only, its private half discarded after signing: the seal then proves that
the files were not changed since sealing, not who sealed them. This is recorded as a warning in
results.json and in the manifest. The public key is embedded in the manifest; `verify_run(...,
public_key=...)` additionally checks that the seal was made with an expected key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conformance.evidence.recorder import write_atomic

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
RENDERINGS_DIR = "renderings"
RESULTS = "results.json"
MANIFEST_FORMAT = "hopen-conformance-manifest"
MANIFEST_VERSION = 1
INCOMPLETE = "incomplete run, not sealed"
GENERATED_KEY_WARNING_FR = (
    "Clé de signature générée pour cette exécution (aucune clé configurée) : le sceau prouve que les fichiers "
    "n'ont pas été modifiés depuis la fin de l'exécution, pas qui les a produits."
)
GENERATED_KEY_WARNING_EN = (
    "Signing key generated for this run (no key configured): the seal proves the files were not changed "
    "since the run ended, not who produced them."
)
_CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_RESULTS_BYTES = 512 * 1024 * 1024
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_TRUSTED_KEYS_BYTES = 1024 * 1024
KEY_PASSWORD_ENV = "HOPEN_SIGNING_KEY_PASSWORD"  # passphrase of an encrypted configured key


class SealError(Exception):
    """The run cannot be sealed (incomplete, already sealed, unreadable key)."""


@dataclass(slots=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    source: str  # "configured" or "generated"
    path: str | None = None

    @property
    def generated(self) -> bool:
        return self.source == "generated"

    @property
    def public_key_b64(self) -> str:
        raw = self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(base64.b64decode(self.public_key_b64))


@dataclass(slots=True)
class Verification:
    problems: list[str] = field(default_factory=list)
    renderings: list[str] = field(default_factory=list)  # unsealed files under renderings/
    files: int = 0
    key_fingerprint: str | None = None  # computed from the key that verifies the signature
    key_source: str | None = None  # "trusted" (matches a trusted key) or "in-folder" (only the folder's own key)
    trusted_label: str | None = None  # the trust list's name for the key (the verifier's data, not the signer's)
    sealed: str | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


def key_fingerprint(public_raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(public_raw).hexdigest()[:32]


TRUSTED_KEYS_ENV = "HOPEN_TRUSTED_KEYS"
_FINGERPRINT = re.compile(r"(?i)^(?:SHA256:)?([0-9a-f]{32})$")


class TrustError(ValueError):
    """A --trust value or a trusted-keys line that is neither a key file nor a fingerprint."""


def trusted_keys_file() -> Path:
    """The user's trusted-keys file: $HOPEN_TRUSTED_KEYS, else <XDG config>/hopen-conformance/trusted-keys."""
    if os.environ.get(TRUSTED_KEYS_ENV):
        return Path(os.environ[TRUSTED_KEYS_ENV])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hopen-conformance" / "trusted-keys"


def normalize_fingerprint(value: str) -> str | None:
    match = _FINGERPRINT.match(value.strip())
    return f"SHA256:{match.group(1).lower()}" if match else None


def trust_entry(value: str | Path) -> str:
    """The fingerprint named by a --trust value: a fingerprint, or a PEM public/private key file."""
    text = str(value).strip()
    fingerprint = normalize_fingerprint(text)
    if fingerprint:
        return fingerprint
    path = Path(text).expanduser()
    try:
        raw = _load_public_key(path)
    except (OSError, ValueError, TypeError) as error:
        raise TrustError(f"not a key file nor a fingerprint: {text} ({type(error).__name__})") from None
    except _NotAKeyFile:
        raise TrustError(f"not a key file nor a fingerprint: {text} (not a regular file of at most 64 KiB)") from None
    if len(raw) != 32:
        raise TrustError(f"not an Ed25519 key file nor a fingerprint: {text}")
    return key_fingerprint(raw)


def read_trusted_keys(path: Path | None = None) -> dict[str, str]:
    """fingerprint -> label from a trusted-keys file (`SHA256:<hex> label` per line, # comments); {} if absent."""
    path = trusted_keys_file() if path is None else Path(path)
    data = _read_regular(path, MAX_TRUSTED_KEYS_BYTES, follow=True)  # never blocks on a FIFO nor reads a device
    try:
        lines = data.decode("utf-8").splitlines() if data is not None else []
    except UnicodeDecodeError:
        return {}
    trusted: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        first, _, label = line.partition(" ")
        fingerprint = normalize_fingerprint(first)
        if fingerprint:
            trusted[fingerprint] = label.strip()
    return trusted


def add_trusted_key(fingerprint: str, label: str = "", path: Path | None = None) -> Path:
    path = trusted_keys_file() if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = read_trusted_keys(path)
    if fingerprint not in known:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{fingerprint} {' '.join(label.split())}".rstrip() + "\n")
    return path


def load_signing_key(path: Path | None = None, password: bytes | None = None) -> SigningKey:
    """The configured key, or a freshly generated one (logged as a warning) when `path` is None.

    An encrypted key's passphrase comes from `password` or the HOPEN_SIGNING_KEY_PASSWORD variable."""
    if path is None:
        log.warning(GENERATED_KEY_WARNING_EN)
        return SigningKey(Ed25519PrivateKey.generate(), "generated")
    if password is None and os.environ.get(KEY_PASSWORD_ENV):
        password = os.environ[KEY_PASSWORD_ENV].encode("utf-8")
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=password)
    except (OSError, ValueError, TypeError) as error:
        raise SealError(f"cannot read the signing key {path}: {type(error).__name__}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SealError(f"the signing key {path} is not an Ed25519 key")
    return SigningKey(key, "configured", str(path))


def generate_key_file(path: Path, password: bytes | None = None) -> str:
    """Writes a new Ed25519 private key (PEM PKCS#8, mode 0600) and `<path>.pub` (PEM public key, to give to
    whoever verifies: `conformance verify DIR --public-key seal.pem.pub`). Returns the key's fingerprint."""
    key = Ed25519PrivateKey.generate()
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    Path(f"{path}.pub").write_bytes(public_pem)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key_fingerprint(raw)


def enclosing_run(path: Path) -> Path | None:
    """The run folder `path` is or lies in (it holds results.json or manifest.json), if any: writing a new run
    there would change a sealed one."""
    path = Path(path).absolute()
    for folder in (path, *path.parents):
        if (folder / MANIFEST).exists() or (folder / RESULTS).exists() or (folder / SIGNATURE).exists():
            return folder
    return None


def seal_run(
    run_dir: Path,
    signing_key: Path | SigningKey | None = None,
    *,
    key_password: bytes | None = None,
) -> Path:
    """Writes manifest.json and manifest.sig for a complete run. Returns the manifest path.

    Refuses an incomplete run (results.json missing or "complete": false) and an already sealed one.
    """
    run_dir = Path(run_dir)
    if not _run_is_complete(run_dir):
        raise SealError(f"{run_dir}: {INCOMPLETE}")
    if (run_dir / MANIFEST).exists() or (run_dir / SIGNATURE).exists():
        raise SealError(f"{run_dir}: already sealed")
    key = signing_key if isinstance(signing_key, SigningKey) else load_signing_key(signing_key, key_password)
    _record_seal_key(run_dir, key)
    files = {relative: _describe(run_dir / relative) for relative in sorted(_sealable_files(run_dir))}
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "run_id": _run_id(run_dir),
        "sealed": datetime.now(UTC).isoformat(),
        "algorithm": "sha256",
        "signature": {"algorithm": "Ed25519", "file": SIGNATURE, "covers": "the exact bytes of manifest.json"},
        "key": {
            "source": key.source,
            "public_key": key.public_key_b64,
            "fingerprint": key.fingerprint,
            **({"warning": GENERATED_KEY_WARNING_EN} if key.generated else {}),
        },
        "excluded": [f"{RENDERINGS_DIR}/ (re-renderings made after sealing)"],
        "files": files,
    }
    data = json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=False).encode("utf-8")
    write_atomic(run_dir / MANIFEST, data)
    signature = base64.b64encode(key.private_key.sign(data)) + b"\n"
    write_atomic(run_dir / SIGNATURE, signature)
    return run_dir / MANIFEST


def verify_run(run_dir: Path, public_key: Path | bytes | str | None = None) -> list[str]:
    """Problems found in a run folder; an empty list means intact. See `verify_details` for more."""
    return verify_details(run_dir, public_key).problems


def verify_details(
    run_dir: Path, public_key: Path | bytes | str | None = None, *, trusted: Mapping[str, str] | None = None
) -> Verification:
    """`public_key`: the one key the seal must be made with; `trusted`: fingerprint -> label of the keys
    accepted (any other signer is a problem). With neither, the folder's own key is all there is."""
    run_dir = Path(run_dir)
    if public_key is not None:
        trusted = {**(trusted or {}), key_fingerprint(_load_public_key(public_key)): ""}
    result = Verification()
    if not run_dir.is_dir():
        result.problems.append(f"not a run folder: {run_dir}")
        return result
    inventory = _inventory(run_dir)
    result.renderings = sorted(_renderings(inventory))
    manifest_path, signature_path = run_dir / MANIFEST, run_dir / SIGNATURE
    if not manifest_path.exists():
        complete = _results_complete_flag(run_dir)
        result.problems.append(INCOMPLETE if complete is False else f"not sealed: {MANIFEST} missing")
        return result
    data = _read_regular(manifest_path, MAX_MANIFEST_BYTES)
    if data is None:
        result.problems.append(f"{MANIFEST}: not a regular file or larger than {MAX_MANIFEST_BYTES} bytes")
        return result
    manifest = _parse_manifest(data, result)
    if manifest is None:
        return result
    result.sealed = manifest.get("sealed")
    _check_signature(data, manifest, signature_path, trusted or {}, result)
    _check_files(run_dir, manifest["files"], inventory, result)
    if _results_complete_flag(run_dir) is False:
        result.problems.append(f"{RESULTS}: says the run is incomplete, yet it is sealed")
    return result


# -- internals ----------------------------------------------------------------------------------
def _parse_manifest(data: bytes, result: Verification) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        result.problems.append(f"{MANIFEST}: not valid JSON (edited or damaged)")
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != MANIFEST_FORMAT
        or not isinstance(manifest.get("files"), dict)
        or not isinstance(manifest.get("key"), dict)
    ):
        result.problems.append(f"{MANIFEST}: not a hopen-conformance manifest (edited or damaged)")
        return None
    return manifest


def _check_signature(
    data: bytes,
    manifest: dict[str, Any],
    signature_path: Path,
    trusted: Mapping[str, str],
    result: Verification,
) -> None:
    if not signature_path.exists():
        result.problems.append(f"{SIGNATURE}: missing (removed)")
        return
    try:
        embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(manifest["key"]["public_key"], validate=True))
        signature = base64.b64decode((_read_regular(signature_path, 4096) or b"!").strip(), validate=True)
    except (KeyError, ValueError, TypeError):
        result.problems.append(f"{MANIFEST}/{SIGNATURE}: unreadable key or signature (edited)")
        return
    try:
        embedded.verify(signature, data)
    except InvalidSignature:
        result.problems.append(f"{MANIFEST}: signature does not match ({MANIFEST} or {SIGNATURE} edited)")
        return
    fingerprint = key_fingerprint(embedded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    result.key_fingerprint = fingerprint
    if not trusted:
        result.key_source = "in-folder"
    elif fingerprint in trusted:
        result.key_source, result.trusted_label = "trusted", trusted[fingerprint] or None
    else:
        result.key_source = "in-folder"
        result.problems.append(f"{MANIFEST}: sealed with another key than the expected one ({fingerprint})")


class _NotAKeyFile(Exception):
    """A key path that is a FIFO, a device, a folder or larger than MAX_KEY_FILE_BYTES."""


def _load_public_key(value: Path | bytes | str) -> bytes:
    """Raw 32 bytes from a PEM public or private key file/bytes, or a base64 raw key."""
    if isinstance(value, Path):
        if not value.exists():
            raise FileNotFoundError(value)
        read = _read_regular(value, MAX_KEY_FILE_BYTES, follow=True)
        if read is None:
            raise _NotAKeyFile(str(value))
        data: bytes | str = read
    else:
        data = value
    data = data.encode() if isinstance(data, str) else data
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        public = private.public_key()
    elif b"PUBLIC KEY" in data:
        public = serialization.load_pem_public_key(data)
    else:
        return base64.b64decode(data.strip())
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_files(run_dir: Path, listed: dict[str, Any], inventory: _Inventory, result: Verification) -> None:
    on_disk = set(_sealable_files(run_dir, inventory))
    result.files = len(listed)
    for relative in sorted(listed):
        entry = listed[relative]
        if relative not in on_disk:
            result.problems.append(f"{relative}: missing (removed or renamed)")
            continue
        try:
            described = _describe(run_dir / relative)
        except OSError as error:
            result.problems.append(f"{relative}: unreadable ({type(error).__name__})")
            continue
        if not isinstance(entry, dict) or described != {"sha256": entry.get("sha256"), "size": entry.get("size")}:
            result.problems.append(f"{relative}: modified (SHA-256 differs from the manifest)")
    for relative in sorted(on_disk - set(listed)):
        result.problems.append(f"{relative}: added after sealing (not in the manifest)")
    for link in sorted(inventory.symlinks):
        result.problems.append(f"{link}: symbolic link (not allowed in a sealed run)")
    for special in sorted(inventory.special):
        result.problems.append(f"{special}: not a regular file (FIFO, socket or device: not allowed in a sealed run)")
    for folder in sorted(inventory.unreadable):
        result.problems.append(f"{folder}: unreadable (cannot be checked against the manifest)")


@dataclass(slots=True)
class _Inventory:
    """What a run folder holds, by relative POSIX path, found without following any link."""

    files: list[str] = field(default_factory=list)  # regular files
    symlinks: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)  # FIFOs, sockets, devices
    unreadable: list[str] = field(default_factory=list)  # folders that could not be listed


def _inventory(run_dir: Path) -> _Inventory:
    """One pass over the folder, iterative (os.walk recurses: a folder nested 1,000 deep crashed verify)."""
    found = _Inventory()
    pending: list[tuple[str, str]] = [(os.fspath(run_dir), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError:
            found.unreadable.append(prefix.rstrip("/") or ".")
            continue
        for entry in listed:
            relative = prefix + entry.name
            try:
                if entry.is_symlink():
                    found.symlinks.append(relative)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, relative + "/"))
                elif entry.is_file(follow_symlinks=False):
                    found.files.append(relative)
                else:
                    found.special.append(relative)
            except OSError:
                found.unreadable.append(relative)
    return found


def _read_regular(path: Path, limit: int, *, follow: bool = False) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes; None for anything else (never blocks on a FIFO).
    `follow`: a symbolic link to such a file is read too (key files; never inside a run folder)."""
    try:
        info = path.stat() if follow else path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
        descriptor = os.open(path, flags)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped for a FIFO since the check
                return None
            data = handle.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def _sealable(relative: str) -> bool:
    return relative not in (MANIFEST, SIGNATURE) and not relative.startswith(f"{RENDERINGS_DIR}/")


def _sealable_files(run_dir: Path, inventory: _Inventory | None = None) -> list[str]:
    inventory = _inventory(run_dir) if inventory is None else inventory
    return [relative for relative in inventory.files if _sealable(relative)]


def _renderings(inventory: _Inventory) -> list[str]:
    return [relative for relative in inventory.files if relative.startswith(f"{RENDERINGS_DIR}/")]


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _read_results(run_dir: Path) -> dict[str, Any] | None:
    raw = _read_regular(run_dir / RESULTS, MAX_RESULTS_BYTES)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes (hostile)
        return None
    return data if isinstance(data, dict) else None


def _results_complete_flag(run_dir: Path) -> bool | None:
    results = _read_results(run_dir)
    if results is None:
        return False if not (run_dir / MANIFEST).exists() else None
    return results.get("complete") is True


def _run_is_complete(run_dir: Path) -> bool:
    results = _read_results(run_dir)
    return bool(results) and results.get("complete") is True


def _run_id(run_dir: Path) -> str | None:
    results = _read_results(run_dir)
    return results.get("run_id") if results else None


def _record_seal_key(run_dir: Path, key: SigningKey) -> None:
    """Records the signing key's fingerprint (and, for a generated key, the warning) in results.json and the
    report before hashing (they are not sealed yet), so a reader can compare it with the signer's."""
    results = _read_results(run_dir)
    if results is None:
        return
    seal = {"fingerprint": key.fingerprint, "generated": key.generated}
    warnings = results.setdefault("warnings", [])
    generated_known = any(w.get("code") == "generated-signing-key" for w in warnings if isinstance(w, dict))
    if results.get("seal") == seal and (generated_known or not key.generated):
        return
    results["seal"] = seal
    if key.generated and not generated_known:
        warnings.append(
            {"code": "generated-signing-key", "fr": GENERATED_KEY_WARNING_FR, "en": GENERATED_KEY_WARNING_EN}
        )
    write_atomic(run_dir / RESULTS, json.dumps(results, indent=1, ensure_ascii=False).encode("utf-8"))
    if (run_dir / "report.html").exists():
        # The report must show the warning too; it is re-rendered from the updated results (not sealed yet).
        from conformance.reports.html import render_html

        head = (run_dir / "report.html").read_bytes()[:300]
        language = "en" if b'<html lang="en"' in head else "fr"
        write_atomic(run_dir / "report.html", render_html(results, language, run_dir=run_dir).encode("utf-8"))
