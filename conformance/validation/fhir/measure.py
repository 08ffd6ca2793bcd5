"""MeasureReport against its Measure (loaded with --ig, from packages, or contained), as the reference
validator checks it: groups and populations matched by code, the measureScore the scoring allows or requires,
subjects listed only in subject-list reports and as many as the count."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from conformance.validation.fhir.run import Run, seq

_MEASURE_OBSERVATION = ("http://terminology.hl7.org/CodeSystem/measure-population", "measure-observation")
_SCORED = frozenset({"proportion", "ratio", "continuous-variable"})
_GROUP_RULES = ("MEASURE_MR_GRP_NO_CODE", "MEASURE_MR_GRP_UNK_CODE", "MEASURE_MR_GRP_DUPL_CODE")
_POPULATION_RULES = ("MEASURE_MR_GRP_POP_NO_CODE", "MEASURE_MR_GRP_POP_UNK_CODE", "MEASURE_MR_GRP_POP_DUPL_CODE")


class MeasureAspect:
    """MeasureReport rules that need the Measure."""

    ctx: Any

    def _check_measure_report(self, report: dict[str, Any], loc: str, run: Run) -> None:
        url = report.get("measure")
        if not isinstance(url, str) or not url:
            return
        measure = self._find_measure(report, url)
        if measure is None:
            run.report("warning", "not-found", "MEASURE_MR_M_NOTFOUND", f"{loc}.measure", url)
            return
        scoring = _first_code(measure.get("scoring"))
        report_type = report.get("type")
        groups = [g for g in seq(report.get("group")) if isinstance(g, dict)]
        definitions = [g for g in seq(measure.get("group")) if isinstance(g, dict)]
        if len(groups) == 1 and len(definitions) == 1:
            group_loc = f"{loc}.group[0]"
            code, expected = groups[0].get("code"), definitions[0].get("code")
            if isinstance(code, dict) and isinstance(expected, dict) and not _same_concept(code, expected):
                run.report(
                    "error", "business-rule", "MEASURE_MR_GRP_NO_WRONG_CODE", group_loc, _show(code), _show(expected)
                )
            _check_group(groups[0], definitions[0], scoring, report_type, group_loc, run)
            return
        seen: list[int] = []
        located = ((f"{loc}.group[{index}]", group) for index, group in enumerate(groups))
        for group_loc, group, match in _matched_by_code(located, definitions, _GROUP_RULES, seen, run):
            _check_group(group, definitions[match], scoring, report_type, group_loc, run)
        if report_type != "data-collection":
            for index, definition in enumerate(definitions):
                if index not in seen:
                    shown = _show(definition.get("code"))
                    run.report("error", "business-rule", "MEASURE_MR_GRP_MISSING_BY_CODE", loc, shown)

    def _find_measure(self, report: dict[str, Any], url: str) -> dict[str, Any] | None:
        if url.startswith("#"):
            found = [c for c in seq(report.get("contained")) if isinstance(c, dict) and c.get("id") == url[1:]]
        else:
            resolved = self.ctx.resolve(url) if hasattr(self.ctx, "resolve") else None
            found = [resolved] if isinstance(resolved, dict) else []
        return found[0] if found and found[0].get("resourceType") == "Measure" else None


def _matched_by_code(
    located: Iterable[tuple[str, dict[str, Any]]],
    definitions: list[dict[str, Any]],
    rules: tuple[str, str, str],
    seen: list[int],
    run: Run,
) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Each item (with its location) whose code names a definition not matched yet, with that definition's
    index, added to `seen`; an item without a code, with an unknown code or with one already matched is
    reported under `rules` (no code, unknown code, duplicate code)."""
    no_code, unknown, duplicate = rules
    for item_loc, item in located:
        code = item.get("code")
        if not isinstance(code, dict):
            run.report("error", "business-rule", no_code, item_loc)
            continue
        match = _by_code(code, definitions)
        if match is None:
            run.report("error", "business-rule", unknown, item_loc)
        elif match in seen:
            run.report("error", "business-rule", duplicate, item_loc)
        else:
            seen.append(match)
            yield item_loc, item, match


def _check_group(
    group: dict[str, Any], definition: dict[str, Any], scoring: str | None, report_type: Any, loc: str, run: Run
) -> None:
    _check_populations(group, definition, report_type, loc, run)
    _check_score(group, scoring, report_type, loc, run)


def _check_populations(group: dict[str, Any], definition: dict[str, Any], report_type: Any, loc: str, run: Run) -> None:
    expected = [p for p in seq(definition.get("population")) if isinstance(p, dict)]
    seen: list[int] = []
    located = (
        (f"{loc}.population[{index}]", population)
        for index, population in enumerate(seq(group.get("population")))
        if isinstance(population, dict)
    )
    for pop_loc, population, _match in _matched_by_code(located, expected, _POPULATION_RULES, seen, run):
        subjects = population.get("subjectResults")
        subjects_count = len(seq(subjects))
        count = population.get("count")
        if report_type == "subject-list":
            if isinstance(count, int) and not isinstance(count, bool) and count != subjects_count:
                run.report(
                    "error", "business-rule", "MEASURE_MR_GRP_POP_COUNT_MISMATCH", pop_loc, count, subjects_count
                )
        else:
            if subjects is not None:
                run.report("error", "business-rule", "MEASURE_MR_GRP_POP_NO_SUBJECTS", pop_loc)
            if count is None:
                run.report("warning", "business-rule", "MEASURE_MR_GRP_POP_NO_COUNT", pop_loc)
    for index, population in enumerate(expected):
        code = population.get("code")
        if index in seen or (isinstance(code, dict) and _has_coding(code, *_MEASURE_OBSERVATION)):
            continue
        run.report("error", "business-rule", "MEASURE_MR_GRP_MISSING_BY_CODE", loc, _show(code))


def _check_score(group: dict[str, Any], scoring: str | None, report_type: Any, loc: str, run: Run) -> None:
    score = group.get("measureScore")
    score_loc = f"{loc}.measureScore"
    if report_type == "data-collection":
        if score is not None:
            run.report("error", "business-rule", "MEASURE_MR_SCORE_PROHIBITED_RT", score_loc)
        return
    if scoring == "cohort":
        if score is not None:
            run.report("error", "business-rule", "MEASURE_MR_SCORE_PROHIBITED_MS", score_loc, scoring)
        return
    if scoring not in _SCORED:
        return
    if not isinstance(score, dict):
        run.report("error", "required", "MEASURE_MR_SCORE_REQUIRED", loc, scoring)
        return
    if "value" not in score:
        run.report("error", "required", "MEASURE_MR_SCORE_VALUE_REQUIRED", score_loc, scoring)
        return
    if scoring == "proportion":
        for unit in ("unit", "system", "code"):
            if unit in score:
                run.report("error", "business-rule", "MEASURE_MR_SCORE_UNIT_PROHIBITED", f"{score_loc}.{unit}", scoring)
        try:
            value = Decimal(str(score["value"]))
        except InvalidOperation:
            return  # not a decimal: reported by the primitive rules
        if not Decimal(0) <= value <= Decimal(1):
            run.report("error", "required", "MEASURE_MR_SCORE_VALUE_INVALID_01", f"{score_loc}.value")


# ---- codes ------------------------------------------------------------------------------------------------


def _first_code(concept: Any) -> str | None:
    for coding in seq(concept.get("coding") if isinstance(concept, dict) else None):
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return coding["code"]
    return None


def _has_coding(concept: dict[str, Any], system: Any, code: Any) -> bool:
    return any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") == code for c in seq(concept.get("coding"))
    )


def _by_code(concept: dict[str, Any], definitions: list[dict[str, Any]]) -> int | None:
    """The index of the definition whose code shares a coding with `concept`."""
    for index, definition in enumerate(definitions):
        code = definition.get("code")
        if not isinstance(code, dict):
            continue
        for coding in seq(code.get("coding")):
            if isinstance(coding, dict) and _has_coding(concept, coding.get("system"), coding.get("code")):
                return index
    return None


def _same_concept(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return _by_code(first, [{"code": second}]) is not None or (
        not first.get("coding") and not second.get("coding") and first.get("text") == second.get("text")
    )


def _show(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    codings = [c for c in seq(concept.get("coding")) if isinstance(c, dict)]
    if codings:
        return ", ".join(f"{c.get('system', '')}#{c.get('code', '')}" for c in codings)
    return str(concept.get("text") or "")
