"""`conformance --version` lines for the indicator catalogues the reports judge runs against."""

from __future__ import annotations

from conformance.reports.indicators import available_programmes, load_catalogue


def version_lines() -> list[str]:
    lines = []
    for programme in available_programmes():
        catalogue = load_catalogue(programme)
        lines.append(f"Indicator catalogue {catalogue.id} {catalogue.version} ({len(catalogue.indicators)} indicators)")
    return lines
