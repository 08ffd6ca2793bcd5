"""MLLP faults reach French reports under a French heading, with the technical detail kept."""

from __future__ import annotations

import pytest

from conformance.transport.mllp import (
    MllpCharsetError,
    MllpClosedError,
    MllpConnectError,
    MllpFramingError,
    MllpTimeoutError,
)


@pytest.mark.parametrize(
    ("error", "french"),
    [
        (MllpTimeoutError("no ACK within 2.0 s"), "Délai d'attente MLLP dépassé"),
        (MllpFramingError("garbage between frames"), "Trame MLLP invalide"),
        (MllpClosedError("peer closed the connection"), "Connexion MLLP fermée par le pair"),
        (MllpCharsetError("bytes are not UTF-8"), "Jeu de caractères incohérent avec MSH-18"),
        (MllpConnectError("connection refused"), "Connexion MLLP impossible"),
    ],
)
def test_mllp_errors_have_a_french_heading_and_keep_the_detail(error: Exception, french: str) -> None:
    assert error.message("fr") == f"{french} : {error}"
    assert error.message("en").endswith(f": {error}") and not error.message("en").startswith(french)
