"""Bindings and code systems: codes checked against the bound value set (local expansion) and known
code systems."""

from __future__ import annotations

from typing import Any

from conformance.validation.fhir.run import Run, seq
from conformance.validation.fhir.structure import ElementNode
from conformance.validation.fhir.terminology import EXTERNAL_SYSTEMS

_UNKNOWN: Any = object()
_VERDICTS_MAX = 100_000
_Verdict = tuple[str, str, str, tuple[str, ...]]
_Codings = tuple[tuple[str | None, str], ...]


class BindingsAspect:
    """Codes against their value set binding and the code systems the context knows."""

    # (value set, strength, type, codings) -> verdict; the answers are the local packages' (no terminology
    # server: its answers may change, an unreachable one answers nothing), so they hold for the process
    _binding_verdicts: dict[tuple[str, str, str, _Codings], _Verdict | None]
    _binding_memo: bool

    def _check_coding_code(self, coding: dict[str, Any], loc: str, run: Run) -> None:
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return
        if ":" not in system and system:
            run.report("error", "invalid", "Terminology_TX_System_Relative", f"{loc}.system")
            return
        if system.startswith("http://snomed.info/sct/"):  # an edition/version URI is not the code system
            run.report("error", "code-invalid", "Terminology_TX_System_Invalid", f"{loc}", system)
            return
        if system in EXTERNAL_SYSTEMS:
            return
        known = self.terminology.code_known(system, code)
        if known is None and self.terminology.code_system(system) is None:
            if self.ctx.value_set(system) is not None:
                run.report("error", "code-invalid", "Terminology_TX_System_ValueSet2", f"{loc}", system)
            else:
                run.report("information", "not-found", "Terminology_TX_System_NotKnown", f"{loc}", system)
        if known is False:
            run.report("error", "code-invalid", "Terminology_TX_Code_Unknown", f"{loc}.code", system, code)
        elif known is True and not run.profiled and isinstance(coding.get("display"), str):
            # in a profiled resource a profile's value set may give the code other displays: not judged here
            self._check_display(coding["display"], system, code, loc, run)

    def _check_display(self, display: str, system: str, code: str, loc: str, run: Run) -> None:
        """The display must be the concept's display or one of its designations (case and spacing aside)."""
        index = self.terminology.code_system(system)
        concept = index.codes.get(code) if index is not None else None
        if not isinstance(concept, dict) or not isinstance(concept.get("display"), str):
            return
        valid = [concept["display"]] + [
            d["value"]
            for d in seq(concept.get("designation"))
            if isinstance(d, dict) and isinstance(d.get("value"), str)
        ]
        if _normal(display) in {_normal(v) for v in valid}:
            return
        shown = " or ".join(f"'{v}'" for v in dict.fromkeys(valid))
        run.report(
            "error",
            "code-invalid",
            "Display_Name_for__should_be_one_of__instead_of",
            f"{loc}.display",
            display,
            system,
            code,
            shown,
        )

    def _check_binding(self, value: Any, type_code: str, node: ElementNode, loc: str, run: Run) -> None:
        assert node.binding is not None
        if run.base_pass and run.profiled:
            return  # the profiles' snapshots restate (or override) the base bindings
        strength, vs_url = node.binding
        if strength == "example":
            return
        codings = _codings(value, type_code)
        if not codings:
            return
        key = (vs_url, strength, type_code, codings)
        verdict = self._binding_verdicts.get(key, _UNKNOWN) if self._binding_memo else _UNKNOWN
        if verdict is _UNKNOWN:
            verdict = self._binding_verdict(vs_url, strength, type_code, codings)
            if self._binding_memo:
                if len(self._binding_verdicts) >= _VERDICTS_MAX:
                    self._binding_verdicts.clear()
                self._binding_verdicts[key] = verdict
        if verdict is not None:
            severity, code, rule, args = verdict
            run.report(severity, code, rule, loc, *args)

    def _binding_verdict(self, vs_url: str, strength: str, type_code: str, codings: _Codings) -> _Verdict | None:
        """What the codes given for a binding deserve: (severity, code, rule, message arguments), None if fine."""
        answers = []
        missing: list[str] = []
        for system, code in codings:
            answer, lacking = self.terminology.check(vs_url, system, code)
            answers.append(answer)
            missing.extend(lacking)
        if any(a is True for a in answers):
            return None
        shown = ", ".join(f"{s}#{c}" if s else c for s, c in codings)
        vs_label = vs_url.split("|", 1)[0]
        if any(a is None for a in answers):
            if self.ctx.value_set(vs_label) is None:
                return "information", "informational", "Terminology_TX_ValueSet_NotFound", (vs_label, shown)
            lacking_names = ", ".join(sorted(set(missing))) or "?"
            return "information", "informational", "Terminology_TX_NotChecked", (vs_label, shown, lacking_names)
        severity = {"required": "error", "extensible": "warning", "preferred": "information"}.get(strength)
        if severity is None:
            return None
        suffix = {"required": 0, "extensible": 1, "preferred": 2}[strength]
        if type_code == "CodeableConcept":
            rule = ("Terminology_TX_NoValid_1_CC", "Terminology_TX_NoValid_2_CC", "Terminology_TX_NoValid_3_CC")[suffix]
        elif type_code == "code":
            rule = ("Terminology_TX_NoValid_16", "Terminology_TX_NoValid_17", "Terminology_TX_NoValid_18")[suffix]
        else:
            rule = ("Terminology_TX_NoValid_12", "Terminology_TX_NoValid_13", "Terminology_TX_NoValid_14")[suffix]
        return severity, "code-invalid", rule, (vs_label, shown)


def _codings(value: Any, type_code: str) -> _Codings:
    """The (system, code) pairs a bound value gives: codes that are strings, with a string system or none."""
    if type_code == "code":
        return ((None, value),)
    if type_code == "CodeableConcept":
        return tuple(
            [
                (system, c["code"])
                for c in seq(value.get("coding"))
                if isinstance(c, dict)
                and isinstance(c.get("code"), str)
                and ((system := c.get("system")) is None or isinstance(system, str))
            ]
        )
    if type_code == "Coding" or type_code == "Quantity":
        code, system = value.get("code"), value.get("system")
        if isinstance(code, str) and (system is None or isinstance(system, str)):
            return ((system, code),)
    return ()


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()
