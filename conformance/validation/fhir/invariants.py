"""Invariants: FHIRPath constraints, natively, by the compiled subset, or by fhirpathpy. Answers are not
remembered by content: the digest of an ElementDefinition cost more than its ~20 constraints now do."""

from __future__ import annotations

import re
from typing import Any

from conformance.validation.fhir.fastpath import Fallback
from conformance.validation.fhir.fhirpath import NATIVE_BY_EXPRESSION, NATIVE_RESOURCE, ExpressionCache, ext_1, ref_1
from conformance.validation.fhir.messages import texts
from conformance.validation.fhir.natives import NATIVE_WITH_RESOURCE_RULES
from conformance.validation.fhir.run import Run
from conformance.validation.fhir.structure import Constraint
from conformance.validation.patterns import PatternTimeout

_NATIVE_EXPRESSIONS = {
    "ext-1": "extension.exists() != value.exists()",
    "dom-2": "contained.contained.empty()",
    "dom-4": "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
    "dom-5": "contained.meta.security.empty()",
    "dom-6": "text.`div`.exists()",
}
_REF_1_START = "reference.startsWith('#').not()"
_DOM_3_START = "contained.where((('#'+id in"
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")


class InvariantsAspect:
    """The constraints of an element (and of its type) on an item."""

    expressions: ExpressionCache
    _memoisable: dict[int, tuple[list[Constraint], bool]]

    def _check_constraints(
        self, item: Any, constraints: list[Constraint], loc: str, run: Run, resource: dict[str, Any], path: str = ""
    ) -> None:
        root = run.root or resource
        if run.recording is not None and not self._is_memoisable(constraints):
            run.tainted = True  # an answer that may depend on the resource around the item
        for constraint in constraints:
            ok = (constraint.runner or self._install_runner(constraint))(item, resource, root, path)
            if ok is None:
                self._note_not_evaluated(constraint, run)
            elif not ok:
                self._report_invariant(constraint, loc, run)

    def _is_memoisable(self, constraints: list[Constraint]) -> bool:
        """Whether answers on an item depend only on the item (a walk remembered by content may replay them).
        The entry keeps the list alive, so its id cannot be reused by another list."""
        entry = self._memoisable.get(id(constraints))
        if entry is None or entry[0] is not constraints:
            answer = all(_looks_only_at_item(c.expression) for c in constraints)
            entry = self._memoisable[id(constraints)] = (constraints, answer)
        return entry[1]

    def _install_runner(self, constraint: Constraint) -> Any:
        """The constraint's runner, (item, resource, root, path) -> its answer on the item, None (noted as not
        evaluated) when the engine could not give one; kept on the constraint (the loops call it directly)."""
        runner = constraint.runner = self._runner(constraint)
        return runner

    def _note_not_evaluated(self, constraint: Constraint, run: Run) -> None:
        run.not_evaluated.setdefault(constraint.key, self.expressions.error(constraint.expression) or "?")

    @staticmethod
    def _report_invariant(constraint: Constraint, loc: str, run: Run) -> None:
        severity = "error" if constraint.severity == "error" else "warning"
        fr, en = texts("invariant", constraint.key, constraint.human, constraint.expression)
        run.add(severity, "invariant", constraint.key, loc, fr, en)

    def _runner(self, constraint: Constraint) -> Any:
        """The cheapest way to evaluate this constraint: native, compiled subset, or fhirpathpy."""
        native = _native_rule(constraint)
        if native is not None:
            return native
        expression = constraint.expression
        general = self._general_runner(expression)
        with_resource = NATIVE_WITH_RESOURCE_RULES.get(expression)
        if with_resource is not None:

            def run_native_on_resource(item: Any, resource: Any, root: Any, path: str) -> bool | None:
                answer = with_resource(item, resource)
                return general(item, resource, root, path) if answer is None else answer

            return run_native_on_resource
        by_expression = NATIVE_BY_EXPRESSION.get(expression)
        if by_expression is None:
            return general

        def run_native(item: Any, resource: Any, root: Any, path: str) -> bool | None:
            answer = by_expression(item)
            return general(item, resource, root, path) if answer is None else answer

        return run_native

    def _general_runner(self, expression: str) -> Any:
        cache = self.expressions
        fast = cache.fast(expression) if cache.use_fast else None
        if fast is None:
            return lambda item, resource, root, path: cache.evaluate_full(expression, item, resource, root, path)

        def run_fast(item: Any, resource: Any, root: Any, path: str) -> bool | None:
            try:
                result = fast(item, resource, root)
            except Fallback:
                return cache.evaluate_full(expression, item, resource, root, path)
            except PatternTimeout as exc:  # neither a pass nor a fail
                cache.note_error(expression, str(exc))
                return None
            return not (len(result) == 1 and result[0] is False)

        return run_fast


def _looks_only_at_item(expression: str) -> bool:
    """No %resource, %rootResource, %context... and no resolve() outside string literals (a regex literal such
    as eld-19's may hold a '%')."""
    code = _STRING_LITERAL.sub("''", expression)
    return "%" not in code and "resolve()" not in code


def _native_rule(constraint: Constraint) -> Any:
    """A native runner (item, resource, root, path) -> bool of this exact constraint, or None."""
    key, expression = constraint.key, constraint.expression
    rule: Any = None
    if key in NATIVE_RESOURCE and (
        _NATIVE_EXPRESSIONS.get(key) == expression or (key == "dom-3" and expression.startswith(_DOM_3_START))
    ):
        function = NATIVE_RESOURCE[key]

        def rule(item: Any, resource: Any, root: Any, path: str, function: Any = function) -> bool:
            return function(item) if isinstance(item, dict) else True

    elif key == "ext-1" and expression == _NATIVE_EXPRESSIONS["ext-1"]:

        def rule(item: Any, resource: Any, root: Any, path: str) -> bool:
            return ext_1(item)

    elif key == "ref-1" and expression.startswith(_REF_1_START):

        def rule(item: Any, resource: Any, root: Any, path: str) -> bool:
            return ref_1(item, root) if isinstance(item, dict) else True

    return rule
