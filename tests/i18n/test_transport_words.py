"""What the SOAP listener and the MTOM reader say, in French and in English, from the catalogue."""

from __future__ import annotations

import ssl

import pytest

from conformance.i18n import NNBSP
from conformance.transport.mtom import MtomError, decode_mtom
from conformance.transport.soap import SoapError, handshake_fault, parse_envelope


def _ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower().replace('_', ' ')} (_ssl.c:1000)")
    error.reason = reason
    return error


@pytest.mark.parametrize(
    ("exc", "kind", "french", "english"),
    [
        (TimeoutError("timed out"), "stalled", "non terminée en 2.5 s", "not completed within 2.5 s"),
        (_ssl_error("HTTP_REQUEST"), "plain-http", "requête HTTP en clair", "plain HTTP request"),
        (_ssl_error("PEER_DID_NOT_RETURN_A_CERTIFICATE"), "no-client-cert", "aucun certificat", "no client"),
        (_ssl_error("CERTIFICATE_VERIFY_FAILED"), "client-cert-refused", "certificat client refusé", "refused"),
        (_ssl_error("UNSUPPORTED_PROTOCOL"), "tls-version", "version ou suite TLS", "TLS version"),
        (ConnectionResetError("reset"), "tls", "poignée de main TLS échouée", "handshake broken off"),
    ],
)
def test_a_failed_handshake_is_named_in_each_language(exc, kind, french, english):
    """SHALL: the evidence says why a peer's TLS handshake failed, in French with OpenSSL's code, in English
    after "TLS handshake failed"; neither language leaks into the other."""
    fault = handshake_fault(exc, 2.5)
    assert fault.kind == kind
    assert french in fault.fr.replace(NNBSP, " ")
    assert fault.en.startswith("TLS handshake failed: ") and english in fault.en
    code = getattr(exc, "reason", "") or type(exc).__name__
    assert fault.fr.endswith(f"({code})")
    assert "handshake" not in fault.fr and "poignée" not in fault.en


def test_soap_and_mtom_errors_speak_french_by_default_and_english_on_request():
    """SHALL: a SOAP envelope or MTOM message that cannot be read is told in both languages, French typography
    in French."""
    with pytest.raises(SoapError) as not_soap:
        parse_envelope(b"<a/>")
    assert not_soap.value.kind == "not-soap"
    assert not_soap.value.message("fr") == "L'élément racine 'a' n'est pas une enveloppe SOAP."
    assert not_soap.value.message("en") == "The root element 'a' is not a SOAP envelope."
    with pytest.raises(MtomError) as not_mtom:
        decode_mtom("image/png", b"\x89PNG")
    assert not_mtom.value.kind == "not-multipart"
    assert (
        not_mtom.value.message("fr")
        == f"Type de contenu 'image/png'{NNBSP}: ni MTOM (multipart/related) ni enveloppe SOAP."
    )
    assert not_mtom.value.message("en").startswith("Content type 'image/png': neither MTOM")
