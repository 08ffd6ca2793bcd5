"""Secret redaction: applied to every exchange, attachment and log line before anything is written.

Two sources of secrets:
- configured ones (`secrets=`: bearer tokens, passwords, client secrets, key passphrases);
- learned ones: the values of credential headers (Authorization, Cookie, ...) and of token fields in
  OAuth2 responses seen during the run, so a server that echoes them back is redacted too.

Each secret is searched in its plain, URL-encoded, JSON-escaped and base64 forms; any base64 run in the
text that decodes to something containing a secret (e.g. `Basic dXNlcjpwYXNz` for a configured password)
is redacted whole.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import quote, quote_plus

from conformance.evidence.sanitize import for_terminal

REDACTED = "[REDACTED]"
REDACTED_BYTES = REDACTED.encode()

# Headers whose whole value is a credential.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "esante-api-key",
    }
)
# Query-string, form and JSON field names whose value is a credential.
SENSITIVE_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "client_assertion",
        "password",
        "passwd",
        "passphrase",
        "api_key",
        "apikey",
        "secret",
        "code_verifier",
    }
)
# Secrets shorter than this are not searched for inside text: a 2-letter "secret" would shred every body.
MIN_SECRET_LENGTH = 4
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{8,}={0,2}")
_FIELD_PATTERN_TEXT = "|".join(sorted(SENSITIVE_FIELDS, key=len, reverse=True))
# key=value in URLs and forms; "key": "value" in JSON.
_QUERY_FIELD = re.compile(rb"(?i)(?<![A-Za-z0-9_])(" + _FIELD_PATTERN_TEXT.encode() + rb")=([^&\s#\"']+)")
_URL_USERINFO = re.compile(rb"(?<=://)[^/\s:@\"']+:[^/\s@\"']+@")
# Forms a reader would decode to the secret: JSON \\u escapes, XML character references, base64 cut into lines
# (MIME, PEM), hexadecimal. The string, attribute or run that holds one is decoded and dropped whole when it
# holds a secret. Patterns start only at a run's boundary and never backtrack: linear in the body's size.
_JSON_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")
_JSON_STRING_AT = re.compile(rb'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"')
_CHAR_REFERENCE = re.compile(rb"&#[xX]?[0-9a-fA-F]{1,7};")
_XML_VALUE_END = re.compile(rb"[<>\"']")
_WRAPPED_BASE64 = re.compile(rb"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{4,}+(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z0-9+/]++)++={0,2}")
_LINE_BREAKS = re.compile(rb"\r?\n|\\r\\n|\\n")
MAX_ESCAPE_SCAN_BYTES = 4 * 1024 * 1024
_ESCAPE_WINDOW = 4096
_JSON_FIELD = re.compile(rb'(?i)"(' + _FIELD_PATTERN_TEXT.encode() + rb')"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _forms(secret: str) -> set[bytes]:
    """The encodings under which a secret may appear on the wire or in a file."""
    raw = secret.encode("utf-8")
    forms = {
        raw,
        quote(secret, safe="").encode(),
        quote_plus(secret, safe="").encode(),
        json.dumps(secret)[1:-1].encode(),
        json.dumps(secret, ensure_ascii=False)[1:-1].encode(),
        base64.b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")).encode(),  # %2f as %2F
        *_utf16_forms(secret),  # a body in UTF-16, either byte order, echoing the secret
        "".join(f"\\u{ord(c):04x}" for c in secret).encode(),  # every character escaped, JSON or XML
        "".join(f"\\u{ord(c):04X}" for c in secret).encode(),
        "".join(f"&#{ord(c)};" for c in secret).encode(),
        "".join(f"&#x{ord(c):x};" for c in secret).encode(),
        "".join(f"&#x{ord(c):X};" for c in secret).encode(),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _utf16_forms(secret: str) -> tuple[bytes, bytes]:
    return secret.encode("utf-16-le"), secret.encode("utf-16-be")


# what replaces a secret in UTF-16: the same marker in that encoding, so the body still decodes
_UTF16_REDACTED = {"le": REDACTED.encode("utf-16-le"), "be": REDACTED.encode("utf-16-be")}


class Redactor:
    """Replaces secrets with [REDACTED] in bytes, text, headers and URLs. Thread-safe; learns as it goes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._secret_bytes: tuple[bytes, ...] = ()
        self._shortest = 0
        self._pattern: re.Pattern[bytes] | None = None
        self._replacements: dict[bytes, bytes] = {}
        self._hex_run: re.Pattern[bytes] | None = None
        secrets = [s for s in secrets if s]
        # Configured secrets too short to search for in text: only credential headers hide them (warned).
        self.too_short = sum(1 for s in secrets if len(s) < MIN_SECRET_LENGTH)
        self.add(*secrets)

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def add(self, *secrets: str | None) -> None:
        """Registers more secrets (learned credentials). Empty and very short values are ignored."""
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH and s not in self._secrets}
        if not fresh:
            return
        with self._lock:
            self._secrets |= fresh
            self._secret_bytes = tuple(secret.encode("utf-8") for secret in self._secrets)
            self._shortest = min(len(secret) for secret in self._secret_bytes)
            forms: set[bytes] = set()
            for secret in self._secrets:
                forms |= _forms(secret)
            # Longest first so that a secret containing another is replaced whole.
            alternatives = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile(b"|".join(re.escape(form) for form in alternatives))
            # hexadecimal runs long enough to hold the shortest secret (shorter ones are not decoded)
            self._hex_run = re.compile(rb"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{2}){%d,}+(?![0-9A-Za-z])" % self._shortest)
            self._replacements = {}
            for secret in self._secrets:
                little, big = _utf16_forms(secret)
                self._replacements[little], self._replacements[big] = _UTF16_REDACTED["le"], _UTF16_REDACTED["be"]

    def add_learned(self, *values: str | None) -> None:
        """Registers credentials seen on the wire, ignoring values too ordinary to be secrets ("true", "fr"):
        redacting those everywhere would shred the evidence."""
        self.add(*(v for v in values if v and _looks_secret(v)))

    def learn_from_headers(self, headers: Mapping[str, str]) -> None:
        """Remembers credential header values (the token after the scheme, cookie values, basic user:pass)."""
        for name, value in headers.items():
            if name.lower() not in SENSITIVE_HEADERS or not value:
                continue
            self.add_learned(*_credential_parts(name.lower(), value))

    def learn_from_body(self, body: bytes) -> None:
        """Remembers token fields of OAuth2 responses/requests (JSON or form encoded)."""
        if not body or len(body) > 1_000_000:
            return
        found = [m.group(2) for m in _JSON_FIELD.finditer(body)] + [m.group(2) for m in _QUERY_FIELD.finditer(body)]
        self.add_learned(*(value.decode("utf-8", "replace") for value in found))

    def redact_bytes(self, data: bytes) -> bytes:
        if not data:
            return data
        # each pattern needs one literal byte: without it, a large body is not scanned position by position
        if b"@" in data:
            data = _URL_USERINFO.sub(REDACTED_BYTES + b"@", data)
        if b"=" in data:
            data = _QUERY_FIELD.sub(lambda m: m.group(1) + b"=" + REDACTED_BYTES, data)
        if b":" in data:
            data = _JSON_FIELD.sub(lambda m: b'"' + m.group(1) + b'": "' + REDACTED_BYTES + b'"', data)
        pattern = self._pattern
        if pattern is not None:
            replacements = self._replacements
            data = pattern.sub(lambda m: replacements.get(m.group(0), REDACTED_BYTES), data)
            data = _BASE64_RUN.sub(self._redact_encoded_run, data)
            data = self._redact_escaped_runs(data)
        return data

    def _redact_escaped_runs(self, data: bytes) -> bytes:
        # Escapes mixed with plain characters ("Pa55\\u0077ord") are decoded in bodies up to
        # MAX_ESCAPE_SCAN_BYTES (a pass costs about a second per 10 MB); fully escaped forms are among
        # the literal forms at any size (see _forms).
        if len(data) <= MAX_ESCAPE_SCAN_BYTES:
            if b"\\u" in data:
                data = self._redact_spans(data, _json_string_spans(data), _json_unescape)
            if b"&#" in data:
                data = self._redact_spans(data, _xml_value_spans(data), _xml_unescape)
        if b"\n" in data or b"\\n" in data:
            data = _WRAPPED_BASE64.sub(self._if_secret(_unwrapped_base64), data)
        hex_run = self._hex_run
        return hex_run.sub(self._if_secret(_hex_decode), data) if hex_run is not None else data

    def _holds_secret(self, decoded: bytes | None) -> bool:
        return bool(decoded) and any(secret in decoded for secret in self._secret_bytes)  # type: ignore[operator]

    def _if_secret(self, decode: Callable[[bytes], bytes | None]) -> Callable[[re.Match[bytes]], bytes]:
        def replace(match: re.Match[bytes]) -> bytes:
            run = match.group(0)
            if len(run) < self._shortest or not self._holds_secret(decode(run)):
                return run
            return REDACTED_BYTES

        return replace

    def _redact_spans(
        self, data: bytes, spans: Iterable[tuple[int, int]], decode: Callable[[bytes], bytes | None]
    ) -> bytes:
        pieces: list[bytes] = []
        position = 0
        for start, end in spans:
            if self._holds_secret(decode(data[start:end])):
                pieces += [data[position:start], REDACTED_BYTES]
                position = end
        return b"".join([*pieces, data[position:]]) if pieces else data

    def redact_text(self, text: str) -> str:
        if not text:
            return text
        return self.redact_bytes(text.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")

    def redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Credential headers keep their scheme only ("Bearer [REDACTED]"); other values are scanned."""
        result: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in SENSITIVE_HEADERS:
                scheme = value.split(" ", 1)[0] if name.lower().endswith("authorization") and " " in value else ""
                result[name] = f"{scheme} {REDACTED}".strip()
            else:
                result[name] = self.redact_text(str(value))
        return result

    def _redact_encoded_run(self, match: re.Match[bytes]) -> bytes:
        run = match.group(0)
        if len(run) * 3 // 4 < self._shortest:  # too short to decode to any secret: not worth decoding
            return run
        decoded = _try_b64decode(run)
        if decoded and any(secret in decoded for secret in self._secret_bytes):
            return REDACTED_BYTES
        return run


def _json_string_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """The JSON strings (inside the quotes) holding a \\u escape, each once."""
    covered = 0
    while (hit := _JSON_ESCAPE.search(data, covered)) is not None:
        start = data.rfind(b'"', 0, hit.start())
        token = _JSON_STRING_AT.match(data, start) if start >= 0 else None
        if token is None or token.end() <= hit.start():
            covered = hit.end()
            continue
        covered = token.end()
        yield start + 1, token.end() - 1


def _xml_value_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """Attribute values and text runs holding a character reference, cut to _ESCAPE_WINDOW bytes around it
    (an escaped secret is at most ten bytes a character); windows overlap, so none falls across a cut."""
    covered = 0
    while (hit := _CHAR_REFERENCE.search(data, covered)) is not None:
        low = max(0, hit.start() - _ESCAPE_WINDOW)
        start = max([data.rfind(delimiter, low, hit.start()) for delimiter in (b">", b'"', b"'", b"<")]) + 1
        start = start or low
        end_match = _XML_VALUE_END.search(data, hit.end(), hit.end() + _ESCAPE_WINDOW)
        if end_match is not None:
            covered = end = end_match.start()
        else:
            end = min(len(data), hit.end() + _ESCAPE_WINDOW)
            covered = max(hit.end(), end - _ESCAPE_WINDOW // 2)
        yield start, end


def _json_unescape(run: bytes) -> bytes | None:
    try:
        return json.loads(b'"' + run + b'"').encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return None


def _xml_unescape(run: bytes) -> bytes:
    return html.unescape(run.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogatepass")


def _unwrapped_base64(run: bytes) -> bytes | None:
    return _try_b64decode(_LINE_BREAKS.sub(b"", run))


def _hex_decode(run: bytes) -> bytes | None:
    try:
        return bytes.fromhex(run.decode("ascii"))
    except ValueError:
        return None


def _looks_secret(value: str) -> bool:
    value = value.strip()
    if len(value) >= 16:
        return True
    return len(value) >= 8 and not value.isalpha() and value.lower() not in ("bearer", "basic")


def _try_b64decode(run: bytes) -> bytes | None:
    padded = run + b"=" * (-len(run) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decoder(padded)
        except (binascii.Error, ValueError):
            continue
    return None


def _credential_parts(header: str, value: str) -> list[str]:
    parts = [value]
    if header.endswith("authorization") and " " in value:
        scheme, _, token = value.partition(" ")
        token = token.strip()
        parts.append(token)
        if scheme.lower() == "basic":
            decoded = _try_b64decode(token.encode())
            if decoded:
                text = decoded.decode("utf-8", "replace")
                _user, _, password = text.partition(":")
                parts += [text, password]
    elif header in ("cookie", "set-cookie"):
        # A Set-Cookie's attributes (Path, Expires...) are not secret; every Cookie pair is.
        items = value.split(";")[:1] if header == "set-cookie" else value.split(";")
        for item in items:
            _, _, cookie_value = item.strip().partition("=")
            parts.append(cookie_value)
    return parts


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message with the secrets redacted.

    Attach it to handlers (filters on a logger do not see records propagated from child loggers):
    `install_log_redaction(redactor)` does that for the root logger's handlers.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = str(record.msg)
        record.msg = self.redactor.redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact_text(record.exc_text)
        return True


def install_log_redaction(redactor: Redactor, logger: logging.Logger | None = None) -> RedactingFilter:
    """Adds a RedactingFilter to every handler of `logger` (root by default). Returns it for removal."""
    target = logger or logging.getLogger()
    log_filter = RedactingFilter(redactor)
    for handler in target.handlers:
        handler.addFilter(log_filter)
    return log_filter


_GLOBAL_REDACTORS: list[Redactor] = []
_FACTORY_LOCK = threading.Lock()
_factory_installed = False


def redact_all_logs(redactor: Redactor) -> None:
    """Redacts `redactor`'s secrets from every log record created from now on in this process, whatever
    handler receives it (pytest's capture, a file, the console): the record factory is wrapped once."""
    global _factory_installed
    with _FACTORY_LOCK:
        if redactor not in _GLOBAL_REDACTORS:
            _GLOBAL_REDACTORS.append(redactor)
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _GLOBAL_REDACTORS:
                _redact_record(record, _GLOBAL_REDACTORS)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


def forget_log_redactor(redactor: Redactor) -> None:
    with _FACTORY_LOCK:
        if redactor in _GLOBAL_REDACTORS:
            _GLOBAL_REDACTORS.remove(redactor)


def _redact_record(record: logging.LogRecord, redactors: list[Redactor]) -> None:
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    cleaned = message
    for redactor in list(redactors):
        cleaned = redactor.redact_text(cleaned)
    cleaned = for_terminal(cleaned)  # log lines reach terminals: no escape sequence from a server gets through
    if cleaned != message:  # records without secrets are left exactly as they were
        record.msg, record.args = cleaned, None
    if record.exc_info:
        text = logging.Formatter().formatException(record.exc_info)
        for redactor in list(redactors):
            text = redactor.redact_text(text)
        # Formatters print exc_text when it is set, instead of formatting exc_info again.
        record.exc_text = text


def redact_mapping(data: object, redactor: Redactor) -> object:
    """A copy of a configuration-like structure with secret-looking keys and known secrets redacted."""
    if isinstance(data, Mapping):
        result = {}
        for key, value in data.items():
            lowered = str(key).lower()
            if isinstance(value, str) and (
                lowered in SENSITIVE_FIELDS or lowered in SENSITIVE_HEADERS or lowered.endswith(("password", "secret"))
            ):
                result[key] = REDACTED
            else:
                result[key] = redact_mapping(value, redactor)
        return result
    if isinstance(data, list | tuple):
        return [redact_mapping(item, redactor) for item in data]
    if isinstance(data, str):
        return redactor.redact_text(data)
    return data
