"""`conformance packages install|list|show`: the FHIR package cache and the canonical index."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from conformance.cli._click_language import current_language, lang_option
from conformance.i18n import text

EXIT_NOT_FOUND = 1  # a package asked for explicitly, or a canonical, was not found / could not be installed
EXIT_MISSING_DEPENDENCIES = 3  # only with --strict: some dependencies could not be found


def _lang() -> str:
    return current_language()


def _t(key: str, **params: object) -> str:
    return text(f"packages.{key}", _lang(), **params)


def _warn(message: str) -> None:
    from conformance.packages.errors import localise

    click.echo(_t("warning", message=localise(message, _lang())), err=True)


def _cache(cache_dir: Path | None):
    from conformance.packages import PackageCache

    return PackageCache(cache_dir)


cache_option = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
)


@click.group(name="packages")
@lang_option(expose_value=False)
def command() -> None:
    """Install, list and inspect FHIR packages (NPM format, standard cache)."""


@command.command(name="install")
@lang_option(expose_value=False)
@click.argument("sources", nargs=-1, required=True)
@cache_option
@click.option(
    "--registry",
    "registries",
    multiple=True,
)
@click.option("--offline", is_flag=True)
@click.option("--no-npm", is_flag=True)
@click.option("--no-deps", is_flag=True)
@click.option("--refresh", is_flag=True)
@click.option(
    "--fallback",
    type=click.Choice(["minor", "patch", "none"]),
    default="minor",
    show_default=True,
)
@click.option("--strict", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
def install(
    sources: tuple[str, ...],
    cache_dir: Path | None,
    registries: tuple[str, ...],
    offline: bool,
    no_npm: bool,
    no_deps: bool,
    refresh: bool,
    fallback: str,
    strict: bool,
    quiet: bool,
) -> None:
    """Install packages and their dependencies into the cache.

    SOURCES: NAME#VERSION, NAME@VERSION, a package .tgz, or an unpacked package folder.
    """
    from conformance.packages import PackageError, PackageManager
    from conformance.packages.spec import looks_like_path, parse_ref

    manager = PackageManager(
        _cache(cache_dir),
        registries=list(registries) if registries else None,
        network=not offline,
        use_npm=not no_npm,
        fallback=fallback,
        refresh=refresh,
        copy_folders=True,
    )
    try:
        for source in sources:
            if not looks_like_path(source):
                parse_ref(source)
        result = manager.resolve(list(sources), with_dependencies=not no_deps)
    except PackageError as exc:
        click.echo(_t("error", message=exc.message(_lang())), err=True)
        sys.exit(EXIT_NOT_FOUND)
    requested_missing = [m for m in result.missing if not m.required_by]
    dependency_missing = [m for m in result.missing if m.required_by]
    if quiet:
        for failure in result.source_failures:
            _warn(failure)
        _print_summary(result, dependency_missing)
    else:
        for warning in result.warnings:
            _warn(warning)
        for line in result.installed:
            click.echo(_t("installed", line=line))
        if result.packages:
            click.echo(_t("ready"))
        for info in result.packages:
            click.echo(f"  {info.ref}  {info.path}")
        for missing in dependency_missing:
            ref = f"{missing.name}#{missing.version}"
            click.echo(_t("dependency_missing", ref=ref, required_by=missing.required_by), err=True)
    for missing in requested_missing:
        click.echo(_t("not_found_anywhere", ref=missing), err=True)
    if requested_missing:
        sys.exit(EXIT_NOT_FOUND)
    if strict and dependency_missing:
        sys.exit(EXIT_MISSING_DEPENDENCIES)


def _entry_by_id(ctx, resource_id: str):
    """`show fr-core-patient`: a resource id, conformance resources first."""
    matches = [e for e in ctx.entries() if e.id == resource_id and e.url]
    order = ("StructureDefinition", "ValueSet", "CodeSystem")
    matches.sort(key=lambda e: order.index(e.resource_type) if e.resource_type in order else len(order))
    return matches[0] if matches else None


def _print_summary(result, dependency_missing) -> None:
    names = sorted({f"{m.name}#{m.version}" for m in dependency_missing})
    line = _t("summary_ready", n=len(result.packages))
    if result.installed:
        line += _t("summary_installed", n=len(result.installed))
    if names:
        line += _t("summary_not_found", names=", ".join(names))
    click.echo(line)


@command.command(name="list")
@lang_option(expose_value=False)
@cache_option
@click.option("--json", "as_json", is_flag=True)
def list_packages(cache_dir: Path | None, as_json: bool) -> None:
    """List the packages in the cache."""
    import orjson

    cache = _cache(cache_dir)
    rows = []
    for info in cache.installed():
        try:
            manifest = info.manifest()
        except Exception:  # a damaged entry is listed, not fatal
            manifest = {}
        marker = cache.install_marker(info.name, info.version)
        rows.append(
            {
                "name": info.name,
                "version": info.version,
                "title": _title(info.name, manifest),
                "provided_by": manifest.get("x-hopen-provided-by", ""),
                "source": marker.get("source", ""),
                "path": str(info.path),
            }
        )
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo(_t("empty_cache", cache=cache.root))
        return
    click.echo(_t("cache", cache=cache.root))
    width = max(len(f"{r['name']}#{r['version']}") for r in rows)
    for row in rows:
        ref = f"{row['name']}#{row['version']}"
        extra = _t("provided_by", who=row["provided_by"]) if row["provided_by"] else ""
        click.echo(f"  {ref:<{width}}  {row['title']}{extra}")


def _show_snapshot(canonical: str, url: str, packages: list[str], igs: list[str], cache_dir: Path | None) -> None:
    """Loose StructureDefinition files given with --ig are seen too, as `conformance validate --ig` sees them."""
    import orjson

    from conformance.packages import load_context
    from conformance.validation.fhir.igs import OverlayContext, read_loose, split_igs

    package_igs, loose = split_igs(igs)
    ctx: Any = load_context(packages, package_igs, cache_dir=cache_dir)
    if loose:
        try:
            ctx = OverlayContext(ctx, read_loose(loose, ctx))
        except ValueError as exc:
            click.echo(_t("error", message=exc), err=True)
            sys.exit(EXIT_NOT_FOUND)
    sd = ctx.snapshot(url) or ctx.snapshot(canonical)
    if sd is None or sd.get("resourceType") != "StructureDefinition":
        click.echo(_t("no_structure_definition", canonical=canonical), err=True)
        sys.exit(EXIT_NOT_FOUND)
    if not (sd.get("snapshot") or {}).get("element"):
        reasons = [w for w in ctx.warnings if w.startswith("snapshot of")]
        click.echo(_t("no_snapshot", reason=f" ({reasons[-1]})" if reasons else ""), err=True)
        sys.exit(EXIT_NOT_FOUND)
    click.echo(orjson.dumps(sd, option=orjson.OPT_INDENT_2).decode())


@command.command(name="show")
@lang_option(expose_value=False)
@click.argument("canonical")
@cache_option
@click.option(
    "-p",
    "--package",
    "packages",
    multiple=True,
)
@click.option("--ig", "igs", multiple=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--snapshot",
    is_flag=True,
)
def show(
    canonical: str,
    cache_dir: Path | None,
    packages: tuple[str, ...],
    igs: tuple[Path, ...],
    as_json: bool,
    snapshot: bool,
) -> None:
    """Show which package defines a canonical URL (optionally URL|VERSION), a FHIR type name, or a resource id."""
    import orjson

    from conformance.packages import DEFAULT_PACKAGES, PackageError, load_context

    url = canonical
    if "/" not in canonical and ":" not in canonical:
        from conformance.packages.context import FHIR_BASE

        url = FHIR_BASE + canonical
    try:
        if snapshot:
            _show_snapshot(canonical, url, list(packages) or list(DEFAULT_PACKAGES), [str(i) for i in igs], cache_dir)
            return
        ctx = load_context(list(packages) or list(DEFAULT_PACKAGES), list(igs), cache_dir=cache_dir)
    except PackageError as exc:
        click.echo(_t("error", message=exc.message(_lang())), err=True)
        sys.exit(EXIT_NOT_FOUND)
    entry = ctx.entry(url)
    if entry is None and url != canonical:
        entry = _entry_by_id(ctx, canonical)
    if entry is None:
        loaded = ", ".join(p.ref for p in ctx.packages) or "-"
        click.echo(_t("not_defined", canonical=canonical, loaded=loaded), err=True)
        if ctx.missing:
            click.echo(_t("missing_packages", names=", ".join(ctx.missing)), err=True)
        sys.exit(EXIT_NOT_FOUND)
    resource = ctx.load(entry)
    if as_json:
        if resource is None:
            click.echo(_t("unreadable", path=entry.path), err=True)
            sys.exit(EXIT_NOT_FOUND)
        click.echo(orjson.dumps(resource, option=orjson.OPT_INDENT_2).decode())
        return
    kind = entry.resource_type + (f" ({entry.type})" if entry.type else "")
    fields = [("url", entry.url), ("version", entry.version or "-"), ("type", kind), ("id", entry.id)]
    fields += [("package", entry.package.ref), ("file", str(entry.path))]
    if resource is not None:
        fields += [(key, resource[key]) for key in ("name", "title", "status") if isinstance(resource.get(key), str)]
    for key, value in fields:
        click.echo(_t("show_line", label=_t(f"field_{key}"), value=value))


# The R4 core packages' own titles say "Examples" / nothing useful; they are named for what they hold.
_PACKAGE_TITLES = {"hl7.fhir.r4.examples": "title_examples", "hl7.fhir.r4.core": "title_core"}


def _title(name: str, manifest: dict) -> str:
    key = _PACKAGE_TITLES.get(name)
    return _t(key) if key else str(manifest.get("title", "") or manifest.get("description", "") or "")
