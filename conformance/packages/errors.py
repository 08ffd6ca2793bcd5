"""The exception the package manager raises (and its one kind a caller tells apart), bilingual like every
user-facing message."""

from __future__ import annotations


class PackageError(Exception):
    """A package could not be read, installed or found. `str()` is the English message."""

    def __init__(self, message_fr: str, message_en: str | None = None) -> None:
        super().__init__(message_en or message_fr)
        self.message_fr = message_fr
        self.message_en = message_en or message_fr

    def message(self, lang: str = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message_en


class NotAPackage(PackageError):
    """An archive that reads, but holds no package.json: not an NPM-format FHIR package."""


class Message(str):
    """A warning whose `str` is English, with its French text in `.fr` (what the CLI prints by default)."""

    fr: str

    def __new__(cls, en: str, fr: str | None = None) -> Message:
        obj = super().__new__(cls, en)
        obj.fr = fr or en
        return obj

    def text(self, lang: str = "fr") -> str:
        return self.fr if lang == "fr" else str(self)


def localise(message: str, lang: str = "fr") -> str:
    return message.text(lang) if isinstance(message, Message) else str(message)
