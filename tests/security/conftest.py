"""Secrets, TLS and run integrity across whole runs; they share tests/hostile/hardening_support.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "hostile"))
