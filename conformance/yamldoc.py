"""The YAML documents the package ships (message catalogue, profiles, indicators, requirements), read safely:
libyaml's safe loader when PyYAML was built with it (the same documents, about ten times faster at start-up,
which every command pays for the catalogue), else PyYAML's own."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(document: str) -> Any:
    """One YAML document (text) as Python data; yaml.YAMLError on a malformed one."""
    return yaml.load(document, Loader=SAFE_LOADER)  # a safe loader, C or Python
