"""Fail when modules of `conformance` import each other in a cycle (`make lint`).

import-linter's contracts judge packages (layers); this judges modules, lazy imports included. A cycle listed
in KNOWN is reported but tolerated until its module is rewritten; a new cycle fails; a known one that is gone
is reported so that its entry is removed.
"""

from __future__ import annotations

import sys

import grimp

# Each entry: the modules of one cycle, sorted.
KNOWN: set[tuple[str, ...]] = set()


def cycles(package: str) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    graph = grimp.build_graph(package, include_external_packages=False)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def main() -> int:
    found = set(cycles("conformance"))
    new = sorted(found - KNOWN)
    gone = sorted(KNOWN - found)
    for cycle in sorted(found & KNOWN):
        print(f"import cycle (known, to remove): {' <-> '.join(cycle)}")
    for cycle in new:
        print(f"import cycle: {' <-> '.join(cycle)}", file=sys.stderr)
    for cycle in gone:
        print(f"cycle gone, remove it from KNOWN in tools/import_cycles.py: {' <-> '.join(cycle)}")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
