"""Guardrails: pure-Python, deterministic checks on what goes into a model and
what comes out of it. See docs/guardrails.md."""

from .checks import (
    INPUT_INJECTION,
    INPUT_PII,
    INPUT_SIZE,
    INPUT_UNICODE,
    OUTPUT_HTML,
    OUTPUT_IMAGES,
    OUTPUT_LINKS,
    OUTPUT_NUMBERS,
    OUTPUT_OTHER_CUSTOMERS,
    OUTPUT_PROMISES,
    OUTPUT_PROMPT_LEAK,
    REPLY_NO_PROMISE,
    REPLY_WITHHELD,
    UNTRUSTED_INJECTION,
    check_input,
    check_output,
    check_untrusted,
    masked_input,
)
from .streaming import OutputStreamGuard
from .types import Action, GuardrailContext, GuardrailVerdict, InputResult, OutputResult
from .untrusted import UNTRUSTED_DATA_NOTICE, wrap_untrusted

__all__ = [
    "INPUT_INJECTION",
    "INPUT_PII",
    "INPUT_SIZE",
    "INPUT_UNICODE",
    "OUTPUT_HTML",
    "OUTPUT_IMAGES",
    "OUTPUT_LINKS",
    "OUTPUT_NUMBERS",
    "OUTPUT_OTHER_CUSTOMERS",
    "OUTPUT_PROMISES",
    "OUTPUT_PROMPT_LEAK",
    "REPLY_NO_PROMISE",
    "REPLY_WITHHELD",
    "UNTRUSTED_DATA_NOTICE",
    "UNTRUSTED_INJECTION",
    "Action",
    "GuardrailContext",
    "GuardrailVerdict",
    "InputResult",
    "OutputResult",
    "OutputStreamGuard",
    "check_input",
    "check_output",
    "check_untrusted",
    "masked_input",
    "wrap_untrusted",
]
