"""Whether a signer's certificate was issued by one of the configured trusted authorities (VIHF and XAdES)."""

from __future__ import annotations

from cryptography import x509


def issued_by(certificate: x509.Certificate, ca_pem: bytes) -> bool:
    """True when one of the PEM authorities directly issued `certificate` (a malformed bundle trusts nothing)."""
    try:
        authorities = x509.load_pem_x509_certificates(ca_pem)
    except ValueError:
        return False
    for authority in authorities:
        try:
            certificate.verify_directly_issued_by(authority)
            return True
        except Exception:  # wrong issuer, wrong signature, unsupported key: not this authority
            continue
    return False
