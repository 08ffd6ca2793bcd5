"""`conformance --version` lines for the CDA pack (read from the file system only: cheap)."""

from __future__ import annotations

from .pack import load_pack
from .schematron import COMPILER_VERSION


def version_lines() -> list[str]:
    pack = load_pack()
    if not pack.root.is_dir():
        return [f"CDA pack: not found at {pack.root} (HOPEN_CDA_PACK)"]
    latest: dict[str, str] = {}
    for volet in pack.volets:
        latest[volet.volet] = max(latest.get(volet.volet, ""), volet.version)
    return [
        f"CDA pack {pack.version_label()} at {pack.root}",
        f"CDA schematron compiler {COMPILER_VERSION} (XSLT 3 on Saxon-HE via saxonche)",
        "CDA volets: " + ", ".join(f"{name} {version}" for name, version in sorted(latest.items())),
    ]
