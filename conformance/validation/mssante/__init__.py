"""MSSanté messages: reading (standard library `email`), the per-requirement rules, disposition notifications."""

from .mdn import INTEGRATION_ERRORS, build_mdn, check_mdn_outcome, check_mdn_structure, read_mdn
from .message import MssMessage, read_message
from .rules import RULES, MessageContext, Rule, apply

__all__ = [
    "INTEGRATION_ERRORS",
    "RULES",
    "MessageContext",
    "MssMessage",
    "Rule",
    "apply",
    "build_mdn",
    "check_mdn_outcome",
    "check_mdn_structure",
    "read_mdn",
    "read_message",
]
