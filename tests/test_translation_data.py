"""The toy translation task: deterministic, exact lengths, grammar rules visible in the targets, round trips."""

import pytest
import torch

import attnlab as al
from attnlab.data import translation as tr


def test_deterministic_and_seed_dependent():
    a = al.data.sentence_pairs(50, seed=3, length=(4, 20))
    assert a == al.data.sentence_pairs(50, seed=3, length=(4, 20))
    assert a != al.data.sentence_pairs(50, seed=4, length=(4, 20))


@pytest.mark.parametrize("target", tr.TARGETS)
def test_exact_lengths_distinct_sources_and_vocabulary_round_trip(target):
    pairs = al.data.sentence_pairs(400, target=target, length=(4, 30), seed=0)
    assert {len(s) for s, _ in pairs} == set(range(4, 31))
    assert len({tuple(s) for s, _ in pairs}) == 400
    src_vocab, tgt_vocab = tr.source_vocab(), tr.target_vocab(target)
    for s, t in pairs:
        assert src_vocab.decode(src_vocab.encode(s)) == s
        assert tgt_vocab.decode(tgt_vocab.encode(t) + [tr.EOS, 7]) == t  # decoding stops at <eos>
    assert tgt_vocab.tokens[:3] == ["<pad>", "<bos>", "<eos>"]


def test_train_and_test_sources_are_disjoint():
    train, test = al.data.translation_task(2000, 300, length=(4, 10))
    assert not {tuple(s) for s, _ in train.pairs} & {tuple(s) for s, _ in test.pairs}
    assert len(train) == 2000 and len(test) == 300


def clauses(english):
    """Parse an English sentence of the grammar back into the clause structure the renderers take."""
    nouns, adjectives = [n[0] for n in tr.NOUNS], [a[0] for a in tr.ADJECTIVES]
    subjects, objects = [p[0] for p in tr.PERSONS], [p[1] for p in tr.PERSONS]
    verbs = [v[0] for v in tr.VERBS]

    def phrase(words, pronouns):
        if len(words) == 1:
            return tr._Phrase(person=pronouns.index(words[0]))
        assert words[0] == "the"
        return tr._Phrase(noun=nouns.index(words[-1]), adjectives=tuple(adjectives.index(w) for w in words[1:-1]))

    result = []
    for clause in " ".join(english.split()).split(" and "):
        words = clause.split()
        v = next(i for i, w in enumerate(words) if w.removesuffix("s") in verbs or w in verbs)
        result.append((phrase(words[:v], subjects), verbs.index(words[v] if words[v] in verbs else words[v][:-1]),
                       phrase(words[v + 1:], objects)))
    assert " ".join(w for w, _ in tr._english(result)) == english  # the parse is faithful
    return result


@pytest.mark.parametrize("english, french", [
    ("I love you", "je t' aime"),
    ("she follows the small tired horse", "elle suit le cheval petit fatigué"),
    ("the big cow sees him", "la vache grande le voit"),
    ("we help the bird and they hear me", "nous aidons l' oiseau et ils m' entendent"),
    ("I love the mouse", "j' aime la souris"),
])
def test_french_rules(english, french):
    assert " ".join(w for w, _ in tr._french(clauses(english))) == french


@pytest.mark.parametrize("english, korean", [
    ("I love you", "나는 너를 사랑한다"),
    ("the bear sees the cat", "곰이 고양이를 본다"),
    ("the cat sees the bear and you help me", "고양이가 곰을 보고 너는 나를 돕는다"),
    ("the big horse finds them", "큰 말이 그들을 찾는다"),
])
def test_korean_rules(english, korean):
    assert " ".join(w for w, _ in tr._korean(clauses(english))) == korean


def test_sampled_pairs_follow_the_renderers():
    for target, render in (("french", tr._french), ("korean", tr._korean)):
        for s, t in al.data.sentence_pairs(200, target=target, length=(3, 30), seed=5):
            assert [w for w, _ in render(clauses(" ".join(s)))] == t


def test_batch_padding_and_teacher_forcing():
    data = al.data.Translation(al.data.sentence_pairs(10, length=(4, 12)), "french")
    batch = data.batch([0, 1, 2])
    for b in range(3):
        src, tgt = data.src_vocab.encode(data.pairs[b][0]), data.tgt_vocab.encode(data.pairs[b][1])
        n = batch.src_lengths[b]
        assert batch.src[b, :n].tolist() == src and (batch.src[b, n:] == tr.PAD).all()
        assert batch.tgt_in[b, : len(tgt) + 1].tolist() == [tr.BOS, *tgt]
        assert batch.tgt_out[b, : len(tgt) + 1].tolist() == [*tgt, tr.EOS]
        assert (batch.tgt_out[b, len(tgt) + 1:] == al.data.IGNORE).all()


def test_sample_groups_similar_lengths():
    train, _ = al.data.translation_task(3000, 10, length=(4, 30))
    batch = train.sample(64, generator=torch.Generator().manual_seed(0))
    assert batch.src.shape[0] == 64 and int(batch.src_lengths.max() - batch.src_lengths.min()) <= 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="target must be one of 'french', 'korean', got 'german'"):
        al.data.sentence_pairs(3, target="german")
    with pytest.raises(ValueError, match=r"length must be \(lo, hi\) with 3 <= lo <= hi, got \(2, 5\)"):
        al.data.sentence_pairs(3, length=(2, 5))
    with pytest.raises(ValueError, match="could not find 500 distinct sentences"):
        al.data.sentence_pairs(500, length=(3, 3))
    with pytest.raises(ValueError, match=r"unknown tokens \['chien'\]"):
        tr.source_vocab().encode(["the", "chien"])


@pytest.mark.parametrize("target, english, expected", [
    ("french", "I love you", [0, 2, 1]),
    ("french", "the big cow sees him", [0, 2, 1, 4, 3]),
    ("french", "we help the bird and they hear me", [0, 1, 2, 3, 4, 5, 7, 6]),
    ("korean", "the cat sees the big bear and you help me", [1, 4, 5, 2, 7, 9, 8]),
])
def test_reference_alignments(target, english, expected):
    src = tr._english(clauses(english))
    position = {key: j for j, (_, key) in enumerate(src)}
    rendered = (tr._french if target == "french" else tr._korean)(clauses(english))
    assert [position[key] for _, key in rendered] == expected


def test_task_alignments_point_at_the_translated_words():
    train, _ = al.data.translation_task(300, 10, length=(4, 20))
    assert train.alignments == [a for *_, a in al.data.sentence_pairs(300, length=(4, 20), alignments=True)]
    for (s, t), a in zip(train.pairs, train.alignments):
        assert len(a) == len(t)
        for word, j in zip(t, a):
            if word in ("le", "la", "l'"):
                assert s[j] in ("the", "him", "her")
            if word == "et":
                assert s[j] == "and"
