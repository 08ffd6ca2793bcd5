"""The test tree stays collectable: pytest imports test folders without __init__.py by basename."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_test_module_basenames_are_unique_across_rootless_folders() -> None:
    rootless = [d for d in TESTS.iterdir() if d.is_dir() and not (d / "__init__.py").exists()]
    names = Counter(p.name for d in rootless for p in d.glob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
