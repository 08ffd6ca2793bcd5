"""Fixed and pattern values of a profile."""

from __future__ import annotations

from typing import Any

import orjson

from conformance.validation.fhir.run import Run


class FixedAspect:
    """A value equal to the profile's fixed value, or containing its pattern."""

    def _check_fixed(self, value: Any, expected: Any, loc: str, run: Run, *, exact: bool) -> None:
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                run.report("error", "value", "_DT_Fixed_Wrong", loc, _short(value), _short(expected))
                return
            for key, sub_expected in expected.items():
                sub_loc = f"{loc}.{key}"
                if key not in value:
                    run.report("error", "value", "Profile_VAL_MissingElement", sub_loc, key, run.profile or "")
                    continue
                self._check_fixed(value[key], sub_expected, sub_loc, run, exact=exact)
            if exact:
                for key in value:
                    if key not in expected and key != "id" and not (key[:1] == "_" and key[1:] in expected):
                        run.report("error", "value", "Profile_VAL_NotAllowed", f"{loc}.{key}", key, run.profile or "")
            return
        if isinstance(expected, list):
            items = value if isinstance(value, list) else [value]
            for index, sub_expected in enumerate(expected):
                if exact:
                    if index >= len(items):
                        run.report(
                            "error",
                            "value",
                            "Profile_VAL_MissingElement",
                            f"{loc}[{index}]",
                            _short(sub_expected),
                            run.profile or "",
                        )
                    else:
                        self._check_fixed(items[index], sub_expected, f"{loc}[{index}]", run, exact=True)
                elif not any(_matches_pattern(item, sub_expected) for item in items):
                    run.report(
                        "error", "value", "Profile_VAL_MissingElement", loc, _short(sub_expected), run.profile or ""
                    )
            return
        if value != expected:
            run.report("error", "value", "_DT_Fixed_Wrong", loc, _short(value), _short(expected))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


def _matches_pattern(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(key in value and _matches_pattern(value[key], sub) for key, sub in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(_matches_pattern(item, sub) for item in items) for sub in pattern)
    return value == pattern
