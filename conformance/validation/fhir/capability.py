"""Search parameters as the reference validator checks them where they are named: a CapabilityStatement's
searchParam must have the type of the SearchParameter its `definition` names, and a SearchParameter derived
from another (`derivedFrom`) keeps its type."""

from __future__ import annotations

from typing import Any

from conformance.validation.fhir.run import Run, seq


class CapabilityAspect:
    """CapabilityStatement search parameters and SearchParameter.derivedFrom."""

    ctx: Any

    def _search_parameter(self, url: Any) -> dict[str, Any] | None:
        if not isinstance(url, str) or not url or not hasattr(self.ctx, "resolve"):
            return None
        found = self.ctx.resolve(url)
        return found if isinstance(found, dict) and found.get("resourceType") == "SearchParameter" else None

    def _check_capability_statement(self, statement: dict[str, Any], loc: str, run: Run) -> None:
        for r_index, rest in enumerate(seq(statement.get("rest"))):
            if not isinstance(rest, dict):
                continue
            for s_index, resource in enumerate(seq(rest.get("resource"))):
                if not isinstance(resource, dict):
                    continue
                for p_index, param in enumerate(seq(resource.get("searchParam"))):
                    if not isinstance(param, dict):
                        continue
                    definition = self._search_parameter(param.get("definition"))
                    declared, defined = param.get("type"), (definition or {}).get("type")
                    if isinstance(declared, str) and isinstance(defined, str) and declared != defined:
                        assert definition is not None
                        versioned = definition.get("url", "")
                        if definition.get("version"):
                            versioned = f"{versioned}|{definition['version']}"
                        param_loc = f"{loc}.rest[{r_index}].resource[{s_index}].searchParam[{p_index}]"
                        run.report(
                            "error",
                            "business-rule",
                            "CapabalityStatement_CS_SP_WrongType",
                            param_loc,
                            versioned,
                            defined,
                            declared,
                        )

    def _check_search_parameter(self, parameter: dict[str, Any], loc: str, run: Run) -> None:
        base = self._search_parameter(parameter.get("derivedFrom"))
        declared, inherited = parameter.get("type"), (base or {}).get("type")
        if isinstance(declared, str) and isinstance(inherited, str) and declared != inherited:
            run.report(
                "error",
                "business-rule",
                "SEARCHPARAMETER_TYPE_WRONG",
                loc,
                declared,
                inherited,
                parameter.get("derivedFrom"),
            )
