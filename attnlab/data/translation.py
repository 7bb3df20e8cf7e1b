"""A toy translation task with real reordering, generated from a seed.

A small English grammar -- clauses ``subject verb object`` joined by "and", noun phrases ``the [adjectives] noun``,
subject and object pronouns -- rendered into two targets:

- **French-like**: adjectives follow the noun and agree with its gender; object pronouns move before the verb
  ("I love you" -> "je t' aime"); verbs agree with the subject; elision before a vowel (j', l', t', m').
- **Korean-like** (Hangul tokens): subject-object-verb order with case particles that depend on the noun's final
  consonant (고양이가 / 곰이, 고양이를 / 곰을); every verb but the last takes the connective form (-고).

Every sentence has an exact source length, so experiments can ask for lengths (``length=(lo, hi)``, uniform over
the lengths). Vocabularies come from the whole lexicon, so every split shares them.

Book: used by chapter 2 (notebooks/02_seq2seq_bottleneck.ipynb), which introduces it, and chapters 3, 4, 6, 12 and 13.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from .. import _checks
from .sequences import IGNORE

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")
TARGETS = ("french", "korean")

# noun: (English, French, gender, Korean, Korean noun ends in a consonant)
NOUNS = [
    ("cat", "chat", "m", "고양이", False), ("dog", "chien", "m", "개", False), ("bird", "oiseau", "m", "새", False),
    ("mouse", "souris", "f", "쥐", False), ("cow", "vache", "f", "소", False), ("girl", "fille", "f", "소녀", False),
    ("bear", "ours", "m", "곰", True), ("rabbit", "lapin", "m", "토끼", False), ("horse", "cheval", "m", "말", True),
    ("child", "enfant", "m", "아이", False),
]
# adjective: (English, French masculine, French feminine, Korean)
ADJECTIVES = [
    ("big", "grand", "grande", "큰"), ("small", "petit", "petite", "작은"), ("red", "rouge", "rouge", "빨간"),
    ("black", "noir", "noire", "검은"), ("white", "blanc", "blanche", "하얀"),
    ("happy", "heureux", "heureuse", "행복한"), ("tired", "fatigué", "fatiguée", "피곤한"),
]
# verb: (English base, French forms for je, tu, il/elle, nous, ils, Korean final, Korean connective)
VERBS = [
    ("see", ("vois", "vois", "voit", "voyons", "voient"), "본다", "보고"),
    ("love", ("aime", "aimes", "aime", "aimons", "aiment"), "사랑한다", "사랑하고"),
    ("follow", ("suis", "suis", "suit", "suivons", "suivent"), "따라간다", "따라가고"),
    ("help", ("aide", "aides", "aide", "aidons", "aident"), "돕는다", "돕고"),
    ("hear", ("entends", "entends", "entend", "entendons", "entendent"), "듣는다", "듣고"),
    ("find", ("trouve", "trouves", "trouve", "trouvons", "trouvent"), "찾는다", "찾고"),
]
# person: (English subject, English object, French subject, French object, French verb form, Korean subject,
#          Korean object, English verb takes -s)
PERSONS = [
    ("I", "me", "je", "me", 0, "나는", "나를", False), ("you", "you", "tu", "te", 1, "너는", "너를", False),
    ("he", "him", "il", "le", 2, "그는", "그를", True), ("she", "her", "elle", "la", 2, "그녀는", "그녀를", True),
    ("we", "us", "nous", "nous", 3, "우리는", "우리를", False),
    ("they", "them", "ils", "les", 4, "그들은", "그들을", False),
]
ELIDED = {"je": "j'", "me": "m'", "te": "t'", "le": "l'", "la": "l'"}


@dataclass(frozen=True)
class _Phrase:
    """A subject or object: a pronoun (``person``) or ``the adjectives noun``."""

    person: int | None = None
    noun: int | None = None
    adjectives: tuple[int, ...] = ()

    def __len__(self) -> int:
        return 1 if self.person is not None else 2 + len(self.adjectives)


def _starts_with_vowel(word: str) -> bool:
    return word[0] in "aeioué"


Keyed = list[tuple[str, tuple]]  # (word, key): the key names the grammatical element a word renders


def _english(clauses: list[tuple[_Phrase, int, _Phrase]]) -> Keyed:
    words: Keyed = []
    for c, (subject, verb, obj) in enumerate(clauses):
        if c:
            words.append(("and", ("and", c)))
        for role, phrase in (("subject", subject), ("object", obj)):
            if phrase.person is not None:
                words.append((PERSONS[phrase.person][0 if role == "subject" else 1], (c, role, "pronoun")))
            else:
                words += [("the", (c, role, "article")),
                          *((ADJECTIVES[a][0], (c, role, "adjective", i)) for i, a in enumerate(phrase.adjectives)),
                          (NOUNS[phrase.noun][0], (c, role, "noun"))]
            if role == "subject":
                third_singular = subject.person is None or PERSONS[subject.person][7]
                words.append((VERBS[verb][0] + ("s" if third_singular else ""), (c, "verb")))
    return words


def _french_noun_phrase(phrase: _Phrase, c: int, role: str) -> Keyed:
    noun, gender = NOUNS[phrase.noun][1], NOUNS[phrase.noun][2]
    article = "l'" if _starts_with_vowel(noun) else ("le" if gender == "m" else "la")
    return [(article, (c, role, "article")), (noun, (c, role, "noun")),
            *((ADJECTIVES[a][1 if gender == "m" else 2], (c, role, "adjective", i))
              for i, a in enumerate(phrase.adjectives))]


def _french(clauses: list[tuple[_Phrase, int, _Phrase]]) -> Keyed:
    words: Keyed = []
    for c, (subject, verb, obj) in enumerate(clauses):
        if c:
            words.append(("et", ("and", c)))
        person = 2 if subject.person is None else PERSONS[subject.person][4]
        clause = ([(PERSONS[subject.person][2], (c, "subject", "pronoun"))] if subject.person is not None
                  else _french_noun_phrase(subject, c, "subject"))
        verb_form = (VERBS[verb][1][person], (c, "verb"))
        if obj.person is not None:  # object pronouns go before the verb
            clause += [(PERSONS[obj.person][3], (c, "object", "pronoun")), verb_form]
        else:
            clause += [verb_form, *_french_noun_phrase(obj, c, "object")]
        words += [(ELIDED[w] if w in ELIDED and _starts_with_vowel(nxt) else w, key)
                  for (w, key), (nxt, _) in zip(clause, clause[1:])]
        words.append(clause[-1])
    return words


def _korean(clauses: list[tuple[_Phrase, int, _Phrase]]) -> Keyed:
    words: Keyed = []
    for c, (subject, verb, obj) in enumerate(clauses):
        for role, phrase in (("subject", subject), ("object", obj)):
            if phrase.person is not None:
                words.append((PERSONS[phrase.person][5 if role == "subject" else 6], (c, role, "pronoun")))
            else:
                _, _, _, noun, final_consonant = NOUNS[phrase.noun]
                particle = ("이" if final_consonant else "가") if role == "subject" else ("을" if final_consonant else "를")
                words += [*((ADJECTIVES[a][3], (c, role, "adjective", i)) for i, a in enumerate(phrase.adjectives)),
                          (noun + particle, (c, role, "noun"))]
        words.append((VERBS[verb][2] if c == len(clauses) - 1 else VERBS[verb][3], (c, "verb")))
    return words


def _phrase(rng: random.Random, length: int) -> _Phrase:
    if length == 1:
        return _Phrase(person=rng.randrange(len(PERSONS)))
    return _Phrase(noun=rng.randrange(len(NOUNS)), adjectives=tuple(rng.sample(range(len(ADJECTIVES)), length - 2)))


def _clauses(rng: random.Random, length: int) -> list[tuple[_Phrase, int, _Phrase]]:
    """Clauses whose English rendering has exactly ``length`` tokens (each clause 3 to 9 tokens, "and" between)."""
    counts = [n for n in range(1, length + 1) if 4 * n - 1 <= length <= 10 * n - 1]
    n = rng.choice(counts)
    sizes = [3] * n
    for _ in range(length - (n - 1) - 3 * n):
        sizes[rng.choice([i for i, s in enumerate(sizes) if s < 9])] += 1
    clauses = []
    for size in sizes:  # size = subject + verb + object, each phrase 1 to 4 tokens
        subject = rng.choice([s for s in range(1, 5) if 1 <= size - 1 - s <= 4])
        clauses.append((_phrase(rng, subject), rng.randrange(len(VERBS)), _phrase(rng, size - 1 - subject)))
    return clauses


class Vocab:
    """Tokens <-> ids. Ids 0, 1, 2 are ``<pad>``, ``<bos>``, ``<eos>`` (``PAD``, ``BOS``, ``EOS``)."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = [*SPECIALS, *sorted(set(tokens) - set(SPECIALS))]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, words: list[str]) -> list[int]:
        unknown = [w for w in words if w not in self.index]
        if unknown:
            raise ValueError(f"Vocab.encode(): unknown tokens {unknown}")
        return [self.index[w] for w in words]

    def decode(self, ids: list[int] | torch.Tensor) -> list[str]:
        """Tokens up to the first ``<eos>``, without ``<pad>`` and ``<bos>``; the ids before it must be in the
        vocabulary."""
        words = []
        for i in ids.tolist() if isinstance(ids, torch.Tensor) else ids:
            if i == EOS:
                break
            if not 0 <= _checks.integer("Vocab.decode", "ids[...]", i) < len(self):
                raise ValueError(f"Vocab.decode(): ids hold token id {i}, outside the vocabulary of size {len(self)}")
            if i not in (PAD, BOS):
                words.append(self.tokens[i])
        return words


def source_vocab() -> Vocab:
    """Every English token the grammar can produce."""
    words = ["the", "and", *(n[0] for n in NOUNS), *(a[0] for a in ADJECTIVES)]
    words += [v[0] + s for v in VERBS for s in ("", "s")] + [p[i] for p in PERSONS for i in (0, 1)]
    return Vocab(words)


def target_vocab(target: str) -> Vocab:
    """Every token of the ``"french"`` or ``"korean"`` rendering."""
    _checks.choice("target_vocab", "target", target, TARGETS)
    if target == "french":
        words = ["et", "le", "la", "l'", *(n[1] for n in NOUNS), *(a[i] for a in ADJECTIVES for i in (1, 2))]
        words += [f for v in VERBS for f in v[1]] + [p[i] for p in PERSONS for i in (2, 3)] + list(ELIDED.values())
    else:
        words = [a[3] for a in ADJECTIVES] + [v[i] for v in VERBS for i in (2, 3)]
        words += [p[i] for p in PERSONS for i in (5, 6)] + [n[3] + p for n in NOUNS for p in
                                                            (("이", "을") if n[4] else ("가", "를"))]
    return Vocab(words)


def sentence_pairs(
    n: int, *, target: str = "french", length: tuple[int, int] = (4, 12), seed: int = 0,
    exclude: set[tuple[str, ...]] | None = None, alignments: bool = False,
) -> list[tuple[list[str], list[str]]] | list[tuple[list[str], list[str], list[int]]]:
    """``n`` distinct (English, target) token-list pairs, source lengths uniform over ``length`` (inclusive).

    Deterministic given ``seed``. Source sentences in ``exclude`` (tuples of tokens) are never returned, which
    keeps a test set disjoint from a training set. With ``alignments=True`` each pair carries a third list: for
    every target word, the position of the English word it translates (the reference alignment, known because
    both sentences are rendered from one structure; no model ever sees it).
    """
    n = _checks.positive_int("sentence_pairs", "n", n)
    _checks.choice("sentence_pairs", "target", target, TARGETS)
    lo, hi = _checks.int_pair("sentence_pairs", "length", length, minimum=0)
    if not 3 <= lo <= hi:
        raise ValueError(f"sentence_pairs(): length must be (lo, hi) with 3 <= lo <= hi, got {length}")
    _checks.flag("sentence_pairs", "alignments", alignments)
    rng = random.Random(_checks.integer("sentence_pairs", "seed", seed))
    render = _french if target == "french" else _korean
    seen, pairs = set(exclude or ()), []
    for _ in range(100 * n):
        clauses = _clauses(rng, rng.randint(lo, hi))
        english, rendered = _english(clauses), render(clauses)
        source = [w for w, _ in english]
        if tuple(source) not in seen:
            seen.add(tuple(source))
            position = {key: j for j, (_, key) in enumerate(english)}
            pair = (source, [w for w, _ in rendered])
            pairs.append((*pair, [position[key] for _, key in rendered]) if alignments else pair)
            if len(pairs) == n:
                return pairs
    raise ValueError(f"sentence_pairs(): could not find {n} distinct sentences of lengths {length}")


def teacher_forcing(targets: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder inputs ``<bos> y`` padded with ``PAD`` and outputs ``y <eos>`` padded with ``IGNORE``, both
    ``(B, T)`` with T = the longest target + 1 (at least one target, possibly empty)."""
    if not targets:
        raise ValueError("teacher_forcing(): targets is empty; give at least one target sequence")
    T = max(map(len, targets)) + 1
    return (torch.tensor([[BOS] + t + [PAD] * (T - 1 - len(t)) for t in targets]),
            torch.tensor([t + [EOS] + [IGNORE] * (T - 1 - len(t)) for t in targets]))


@dataclass
class Batch:
    """Padded ids: ``src (B, S)`` with ``src_lengths (B,)``; ``tgt_in (B, T)`` = ``<bos> y``; ``tgt_out (B, T)``
    = ``y <eos>``, padded with ``IGNORE`` (cross-entropy's ignore index)."""

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(getattr(self, f).to(device) for f in ("src", "src_lengths", "tgt_in", "tgt_out")))


class Translation:
    """Sentence pairs with their vocabularies; ``batch`` pads any subset of them into tensors. ``alignments``
    (optional) holds the reference alignment of each pair (see ``sentence_pairs``)."""

    def __init__(self, pairs: list[tuple[list[str], list[str]]], target: str,
                 alignments: list[list[int]] | None = None) -> None:
        _checks.choice("Translation", "target", target, TARGETS)
        self.pairs, self.target, self.alignments = pairs, target, alignments
        self.src_vocab, self.tgt_vocab = source_vocab(), target_vocab(target)
        self.by_length = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))

    def __len__(self) -> int:
        return len(self.pairs)

    def sample(self, batch_size: int, *, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Batch:
        """A random training batch of ``batch_size`` pairs of similar source length (a random window of the pairs
        sorted by length), so that little of the batch is padding and a recurrent decoder takes few steps."""
        batch_size = _checks.positive_int("Translation.sample", "batch_size", batch_size)
        if batch_size > len(self):
            raise ValueError(f"Translation.sample(): batch_size {batch_size} exceeds the {len(self)} pairs")
        start = int(torch.randint(len(self) - batch_size + 1, (1,), generator=generator))
        return self.batch(self.by_length[start:start + batch_size], device)

    def batch(self, indices: list[int] | torch.Tensor | range, device: torch.device | str | None = None) -> Batch:
        """The pairs at ``indices`` (at least one) as a padded ``Batch`` on ``device``."""
        indices = list(indices)
        if not indices:
            raise ValueError("Translation.batch(): indices is empty; give at least one pair")
        src = [self.src_vocab.encode(self.pairs[i][0]) for i in indices]
        S = max(map(len, src))
        batch = Batch(torch.tensor([s + [PAD] * (S - len(s)) for s in src]), torch.tensor([len(s) for s in src]),
                      *teacher_forcing([self.tgt_vocab.encode(self.pairs[i][1]) for i in indices]))
        return batch if device is None else batch.to(device)


def translation_task(
    n_train: int, n_test: int, *, target: str = "french", length: tuple[int, int] = (4, 12), seed: int = 0,
) -> tuple[Translation, Translation]:
    """A training set and a held-out test set (no source sentence in both) of the toy translation task, with
    reference alignments."""
    train = sentence_pairs(n_train, target=target, length=length, seed=seed, alignments=True)
    test = sentence_pairs(n_test, target=target, length=length, seed=seed + 1, alignments=True,
                          exclude={tuple(s) for s, *_ in train})
    return tuple(Translation([(s, t) for s, t, _ in split], target, [a for *_, a in split])  # type: ignore
                 for split in (train, test))
