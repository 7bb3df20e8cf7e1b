"""BERT's tokenizer: text -> word pieces -> ids (Devlin et al. 2019, section 3; WordPiece: Wu et al. 2016).

Two steps, as in BERT's reference ``tokenization.py``:

1. Basic tokenization: drop control characters, put spaces around CJK ideographs, split on whitespace; then, per
   word, lower-case, strip accents (Unicode NFD, drop the combining marks) and split off every punctuation
   character as a word of its own.
2. WordPiece: split each word greedily into the longest vocabulary entries, left to right; pieces after the first
   carry the prefix ``##`` ("un", "##aff", "##able"). A word with no such split becomes ``[UNK]``.

``[CLS]`` opens and ``[SEP]`` closes every sequence; batches are padded with ``[PAD]`` (id 0) on the right and come
with a boolean ``attention_mask`` (True = a real token), the convention of the rest of attnlab.

Book: chapter 18 (notebooks/18_pretrained_transformer.ipynb).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

import torch

from . import _checks

# CJK Unified Ideographs and their extensions (the ranges BERT's tokenizer treats as one-character words).
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def _is_punctuation(char: str) -> bool:
    """ASCII symbols such as $ + ^ count as punctuation too, as in BERT."""
    cp = ord(char)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(char).startswith("P")


def basic_tokenize(text: str) -> list[str]:
    """Step 1: lower-cased, accent-free words and punctuation marks, e.g. ``"Héllo, world!"`` -> ``["hello", ",",
    "world", "!"]``."""
    if not isinstance(text, str):
        raise TypeError(f"basic_tokenize(): text must be a str, got {type(text).__name__}")
    cleaned = []
    for char in unicodedata.normalize("NFC", text):
        if ord(char) in (0, 0xFFFD) or _is_control(char):
            continue
        if any(lo <= ord(char) <= hi for lo, hi in _CJK):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(" " if _is_whitespace(char) else char)
    words = []
    for word in "".join(cleaned).split():
        word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                words += [current, char] if current else [char]
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


class WordPieceTokenizer:
    """BERT's uncased tokenizer over a ``vocab.txt`` (one piece per line; the line number is the id).

    ``tokenize(text) -> pieces``; ``encode(text) -> ids`` with ``[CLS]`` and ``[SEP]``, cut to ``max_length``;
    ``tokenizer(sentences) -> {"input_ids": (B, T) long, "attention_mask": (B, T) bool}``, right-padded;
    ``convert_ids_to_tokens(ids) -> pieces`` (ids outside the vocabulary are refused).
    """

    def __init__(self, vocab: Sequence[str], *, max_length: int = 512, max_word_chars: int = 100) -> None:
        if isinstance(vocab, str) or not all(isinstance(piece, str) for piece in vocab):
            raise TypeError(f"WordPieceTokenizer(): vocab must be a list of str (one piece per id), got "
                            f"{type(vocab).__name__}")
        self.pieces = list(vocab)
        self.ids = {piece: i for i, piece in enumerate(self.pieces)}
        for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]"):
            if special not in self.ids:
                raise ValueError(f"WordPieceTokenizer(): the vocabulary has no {special} entry")
        self.max_length = _checks.positive_int("WordPieceTokenizer", "max_length", max_length, minimum=2)
        self.max_word_chars = _checks.positive_int("WordPieceTokenizer", "max_word_chars", max_word_chars)
        self.pad_id, self.unk_id = self.ids["[PAD]"], self.ids["[UNK]"]
        self.cls_id, self.sep_id = self.ids["[CLS]"], self.ids["[SEP]"]

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> WordPieceTokenizer:
        return cls(Path(path).read_text(encoding="utf-8").splitlines(), **kwargs)

    def __len__(self) -> int:
        return len(self.pieces)

    def wordpiece(self, word: str) -> list[str]:
        """Step 2 for one word: greedy longest-match-first, e.g. ``"tokenization"`` -> ``["token", "##ization"]``."""
        if len(word) > self.max_word_chars:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    break
                end -= 1
            if end == start:  # no vocabulary entry starts here: the whole word is unknown
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        return [piece for word in basic_tokenize(text) for piece in self.wordpiece(word)]

    def encode(self, text: str) -> list[int]:
        ids = [self.ids[piece] for piece in self.tokenize(text)][: self.max_length - 2]
        return [self.cls_id, *ids, self.sep_id]

    def convert_ids_to_tokens(self, ids: Sequence[int] | torch.Tensor) -> list[str]:
        fn = "WordPieceTokenizer.convert_ids_to_tokens"
        if not isinstance(ids, torch.Tensor):
            items = [ids] if isinstance(ids, str) else list(ids)
            if not all(_checks.is_int(i) for i in items):
                raise TypeError(f"{fn}(): ids must be a list or tensor of ints, got {items!r}")
            ids = torch.tensor([int(i) for i in items], dtype=torch.long)
        _checks.token_ids(fn, "ids", ids, len(self), ndim=1)
        return [self.pieces[i] for i in ids.tolist()]

    def __call__(self, sentences: str | Sequence[str], *, device: torch.device | str | None = None
                 ) -> dict[str, torch.Tensor]:
        if isinstance(sentences, str):
            sentences = [sentences]
        if not sentences or not all(isinstance(s, str) for s in sentences):
            raise TypeError(f"WordPieceTokenizer(): expected a str or a non-empty list of str, got {sentences!r}")
        encoded = [self.encode(s) for s in sentences]
        length = max(map(len, encoded))
        input_ids = torch.full((len(encoded), length), self.pad_id, dtype=torch.long)
        for row, ids in zip(input_ids, encoded):
            row[: len(ids)] = torch.tensor(ids)
        lengths = torch.tensor([len(ids) for ids in encoded])
        attention_mask = torch.arange(length) < lengths[:, None]
        return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
