"""MiniLM's sentence vectors with the texts packed side by side instead of padded to the longest.

`SentenceTransformer.encode` pads every text of a batch to the longest one, and the model's cost is its
linear layers over every position, padding included: a turn's five texts (the message, its normalised
form, its sentences: 18, 18, 8, 7 and 4 tokens) were 90 positions for 55 real tokens. Here the texts'
tokens are laid end to end in rows of at most `ROW_TOKENS`, each text with its own positions (0, 1, ...)
and an attention mask that lets a token see only its own text; the mean over each text's tokens and the
normalisation are the model's own pooling (mean of the token vectors, L2 norm). A text's vector is the
one it gets alone, within float rounding (1e-7; tests/agents/offline/test_packed.py compares them with
`SentenceTransformer.encode`).

The model is the packaged all-MiniLM-L6-v2 as `apps.agents.offline.minilm` runs it (its tokenizer and BERT
layers in torch, without sentence-transformers).
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from apps.agents.offline.minilm import MiniLM

logger = logging.getLogger(__name__)

# A row's attention is quadratic in its length and its linear layers are linear: at 256 tokens attention is
# about a tenth of a row's work, and a text is at most the model's max_seq_length (256) tokens long.
ROW_TOKENS = 256
# Rows per forward pass: bounds the activations' memory for a long list (an ingestion batch).
ROWS_PER_PASS = 16


def token_sequences(model: MiniLM, texts: list[str]) -> list[list[int]]:
    """Each text's token ids as the model sees it alone (special tokens, truncation to max_seq_length)."""
    return model.token_sequences(texts)


def _rows(lengths: list[int]) -> list[list[int]]:
    """Text indices per row, first-fit over the texts longest first (fewest, fullest rows)."""
    rows: list[list[int]] = []
    room: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for r, left in enumerate(room):
            if lengths[index] <= left:
                rows[r].append(index)
                room[r] -= lengths[index]
                break
        else:
            rows.append([index])
            room.append(max(ROW_TOKENS, lengths[index]) - lengths[index])
    return rows


def packed_encode(model: MiniLM, sequences: list[list[int]]) -> np.ndarray:
    """Unit-normalised float32 vectors, one per token sequence (from `token_sequences`)."""
    vectors = np.zeros((len(sequences), model.hidden), dtype=np.float32)
    rows = _rows([len(s) for s in sequences])
    for start in range(0, len(rows), ROWS_PER_PASS):
        chunk = rows[start : start + ROWS_PER_PASS]
        for index, vector in zip((i for row in chunk for i in row), _forward(model, sequences, chunk), strict=True):
            vectors[index] = vector
    return vectors


def _forward(model: MiniLM, sequences: list[list[int]], rows: list[list[int]]) -> np.ndarray:
    """One forward pass over `rows`; the vectors in row order, each row's texts in its order."""
    import torch

    ids, mask, positions, segment, lengths = _inputs(sequences, rows)
    with torch.inference_mode():
        tokens = _runner(model)(ids, mask, positions, torch.zeros_like(ids))
        flat = segment.reshape(-1)
        real = flat >= 0
        sums = torch.zeros((len(lengths), tokens.shape[-1]), dtype=tokens.dtype)
        sums.index_add_(0, flat[real], tokens.reshape(-1, tokens.shape[-1])[real])
        means = sums / torch.tensor(lengths, dtype=tokens.dtype)[:, None]
        return torch.nn.functional.normalize(means, p=2, dim=1).numpy()


def _inputs(sequences: list[list[int]], rows: list[list[int]]) -> tuple[Any, Any, Any, Any, list[int]]:
    """Token ids, the 4-D attention mask, positions and each position's text (-1: padding) for `rows`."""
    import torch

    width = max(sum(len(sequences[i]) for i in row) for row in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    # Each position's text: -1 for padding, which may see only itself (a row of only -inf would be NaN).
    segment = torch.full((len(rows), width), -1, dtype=torch.long)
    lengths: list[int] = []
    for r, row in enumerate(rows):
        at = 0
        for index in row:
            n = len(sequences[index])
            ids[r, at : at + n] = torch.tensor(sequences[index], dtype=torch.long)
            positions[r, at : at + n] = torch.arange(n)
            segment[r, at : at + n] = len(lengths)
            lengths.append(n)
            at += n
    allowed = (segment[:, :, None] == segment[:, None, :]) & (segment[:, None, :] >= 0)
    allowed |= torch.eye(width, dtype=torch.bool)
    mask = torch.zeros((len(rows), 1, width, width), dtype=torch.float32)
    mask.masked_fill_(~allowed[:, None], torch.finfo(torch.float32).min)
    return ids, mask, positions, segment, lengths


# -- the forward pass, traced once per process ----------------------------------------------------
# A TorchScript trace of the encoder runs the same operations without the Python of its module calls: a turn's
# encode 11 -> 10 ms of CPU (load 10). It is not frozen: `torch.jit.freeze` gave no less CPU and held about
# 27 MiB more (its optimised graph, and more of libtorch's code touched). The trace is checked against the eager
# model on inputs of other shapes than it was traced with, and not used if any vector differs by more than
# `TRACE_TOLERANCE` (or tracing fails): then the eager model runs.
TRACE_TOLERANCE = 1e-5
_runners: dict[int, Any] = {}
_runners_lock = threading.Lock()


def _runner(model: MiniLM) -> Any:
    """(ids, mask, positions, token types) -> token vectors: the traced encoder, or the eager one."""
    key = id(model)
    runner = _runners.get(key)
    if runner is None:
        with _runners_lock:
            runner = _runners.get(key)
            if runner is None:
                runner = _runners[key] = _traced_or_eager(model.bert, model.vocab_size)
    return runner


def _traced_or_eager(bert: Any, vocabulary: int) -> Any:
    import torch

    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the tracer warns about shape checks that our masks never take
            example = _example(vocabulary, [[5, 9], [3]])
            traced = torch.jit.trace(bert, example, check_trace=False)
            for lengths in ([[7]], [[23, 4, 11], [30], [2]]):
                inputs = _example(vocabulary, lengths)
                if float((traced(*inputs) - bert(*inputs)).abs().max()) > TRACE_TOLERANCE:
                    raise ValueError("the traced encoder's vectors differ from the model's")
        return traced
    except Exception:
        logger.warning("the embedding model could not be traced: it runs eagerly", exc_info=True)
        return bert


def _example(vocabulary: int, rows_of_lengths: list[list[int]]) -> tuple[Any, Any, Any, Any]:
    """Packed inputs of random token ids: rows of texts of the given lengths."""
    import torch

    generator = torch.Generator().manual_seed(sum(map(sum, rows_of_lengths)))
    sequences: list[list[int]] = []
    rows: list[list[int]] = []
    for lengths in rows_of_lengths:
        rows.append([])
        for n in lengths:
            rows[-1].append(len(sequences))
            sequences.append(torch.randint(1000, vocabulary, (n,), generator=generator).tolist())
    ids, mask, positions, _, _ = _inputs(sequences, rows)
    return ids, mask, positions, torch.zeros_like(ids)
