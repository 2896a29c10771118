"""Token counts and cost of model calls.

Providers report usage; the `local` model does not, so its tokens are
estimated with tiktoken. tiktoken normally downloads its encodings: here the
o200k encoding is built from the copy the pinned `bpe-openai` package ships,
with the pattern and special tokens from `tiktoken_ext.openai_public`, so
counting works offline. Counting keeps only tiktoken's byte-pair encoder (`_counter`),
not the Python copy of its 200k ranks that `tiktoken.Encoding` holds beside it.
Prices come from `genai-prices`, overridden per model by
`SWITCHBOARD_MODEL_PRICES`; `local` costs nothing.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import logging
from decimal import Decimal
from functools import cache
from pathlib import Path

import tiktoken
from django.conf import settings
from tiktoken._tiktoken import CoreBPE

logger = logging.getLogger(__name__)

ENCODING_NAME = "o200k_base"
_MILLION = Decimal(1_000_000)


def _definition() -> dict:
    """o200k_base's name, pattern, special tokens and ranks, the ranks read from the packaged file (no network)."""
    from tiktoken_ext import openai_public

    # Locate the file without importing bpe_openai (its import loads tokenizers we do not need).
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("bpe-openai is not installed: it ships the tiktoken encoding used offline")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{ENCODING_NAME}.tiktoken.gz"
    raw = path.read_bytes()
    ranks: dict[bytes, int] = {}
    for line in gzip.decompress(raw).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    # The constructor in tiktoken_ext would download the ranks; take only its
    # pattern and special tokens by handing it our ranks through its loader.
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks  # type: ignore[assignment]
    try:
        return openai_public.o200k_base()
    finally:
        openai_public.load_tiktoken_bpe = original  # type: ignore[assignment]


@cache
def encoding() -> tiktoken.Encoding:
    """The o200k_base encoding (encode and decode), loaded from the packaged file."""
    definition = _definition()
    return tiktoken.Encoding(
        name=definition["name"],
        pat_str=definition["pat_str"],
        mergeable_ranks=definition["mergeable_ranks"],
        special_tokens=definition["special_tokens"],
    )


@cache
def _counter() -> CoreBPE:
    """The o200k_base byte-pair encoder alone: what `tiktoken.Encoding.encode` runs. The Encoding also keeps the
    200k ranks as a Python dict (about 28 MiB per process) that counting never reads; here they are dropped
    once the encoder holds its own copy."""
    definition = _definition()
    return CoreBPE(definition["mergeable_ranks"], definition["special_tokens"], definition["pat_str"])


def count_tokens(text: str) -> int:
    """o200k_base tokens of `text`, special-token text counted as text: `len(encoding().encode(text,
    disallowed_special=()))`."""
    if not text:
        return 0
    try:
        return len(_counter().encode(text, set()))
    except UnicodeEncodeError:
        # As tiktoken does: surrogates that are not valid UTF-8 are replaced before encoding.
        return len(_counter().encode(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), set()))


def _override(model: str) -> tuple[Decimal, Decimal] | None:
    raw = settings.SWITCHBOARD_MODEL_PRICES.get(model)
    if not raw:
        return None
    try:
        input_price, output_price = (Decimal(part.strip()) for part in str(raw).split("/"))
    except (ValueError, ArithmeticError):
        logger.warning("ignoring malformed price override for %s: %r (want 'input/output' per million)", model, raw)
        return None
    return input_price, output_price


def cost_of(*, model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """Price of one call in the shop's billing currency (USD), 0 when unknown or local.

    `model` is the configured name, e.g. `openai:gpt-4.1-mini`.
    """
    if model == "local" or model.startswith("local:"):
        return Decimal("0")
    override = _override(model)
    if override is not None:
        input_price, output_price = override
        return (input_price * input_tokens + output_price * output_tokens) / _MILLION
    provider, _, name = model.partition(":")
    try:
        from genai_prices import Usage, calc_price

        price = calc_price(Usage(input_tokens=input_tokens, output_tokens=output_tokens), name, provider_id=provider)
    except LookupError:
        logger.info("no price known for %s; counting it as 0 (set SWITCHBOARD_MODEL_PRICES)", model)
        return Decimal("0")
    return Decimal(str(price.total_price))
