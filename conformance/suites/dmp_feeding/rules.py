"""Rules of the dmp-feeding suite's own checks. The requests' findings come from the DMP simulator's judges
(`conformance.validation.xds`, rule ids `xds-*`, `vihf-*`, `soap-*`, `wsa-*`)."""

from __future__ import annotations

from conformance.sdk import SHALL, RuleSet

rules = RuleSet("dmp-feeding")

NOTHING_RECEIVED = rules.rule(
    "dmp-nothing-received",
    "dmp.feed.mutual-tls",
    SHALL,
    fr="aucune requête reçue sur {url} en {seconds} s",
    en="no request received on {url} within {seconds} s",
)
TRANSPORT_FAILED = rules.rule(
    "dmp-transport-failed",
    "dmp.feed.mutual-tls",
    SHALL,
    fr="échange interrompu : {error}",
    en="exchange cut short: {error}",
    code="security",
)
NO_CLIENT_CERTIFICATE = rules.rule(
    "dmp-no-client-certificate",
    "dmp.feed.mutual-tls",
    SHALL,
    fr="requête {transaction} reçue sans TLS mutuel",
    en="{transaction} request received without mutual TLS",
    code="security",
)
