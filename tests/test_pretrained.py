"""attnlab.pretrained and attnlab.wordpiece against the reference implementations on the same weights:
sentence-transformers (embeddings), transformers' BertModel (hidden states and every head's weights) and the
Hugging Face fast tokenizer (word pieces). The references are test dependencies only."""

import pytest
import torch

import attnlab as al
from attnlab import pretrained
from attnlab.wordpiece import WordPieceTokenizer, basic_tokenize

SENTENCES = [
    "The cat sat on the mat because the mat was warm.",
    "A man is playing a guitar!",
    "Attention lets every word look at every other word.",
    "x",
    "Héllo wörld — naïve café, 東京 and 서울; ﬁne ½ emoji 🙂 tokenization",
    "Why? Because $5 + 3^2 = 14... (mostly)",
]
# The head patterns of the chapter, measured on these sentences.
PATTERN_SENTENCES = [
    "The cat sat on the mat because the mat was warm.",
    "She said that the book she read was better than the film she saw.",
    "A dog chased a ball across the park and the dog was happy.",
    "Attention lets every word look at every other word in the sentence.",
    "The quick brown fox jumps over the lazy dog.",
    "When the rain stopped, the children ran outside to play in the puddles.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "He bought apples, oranges and bananas at the market on Saturday.",
]


@pytest.fixture(scope="module")
def minilm():
    return pretrained.minilm("cpu")


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(pretrained.model_dir()), device="cpu")


# --- WordPiece, on its own ---------------------------------------------------------------------------------------

def test_basic_tokenize_lowercases_strips_accents_and_splits_punctuation():
    assert basic_tokenize("Héllo, WORLD!") == ["hello", ",", "world", "!"]
    assert basic_tokenize("  a\tb\nc  ") == ["a", "b", "c"]
    assert basic_tokenize("東京x") == ["東", "京", "x"]  # CJK ideographs are words of their own
    assert basic_tokenize("a$b^c") == ["a", "$", "b", "^", "c"]  # ASCII symbols count as punctuation
    assert basic_tokenize("a\x00b\u200b") == ["ab"]  # control and format characters are dropped


def test_wordpiece_is_greedy_longest_match_first():
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##a", "u", "##n"])
    assert tok.wordpiece("unaffable") == ["un", "##aff", "##able"]  # the BERT paper's example
    assert tok.wordpiece("una") == ["un", "##a"]  # longest first: "un", not "u" + "##n"
    assert tok.wordpiece("unx") == ["[UNK]"]  # no piece for the rest: the whole word is unknown
    assert tok.wordpiece("u" * 101) == ["[UNK]"]
    assert tok.encode("unaffable una") == [2, 4, 5, 6, 4, 7, 3]


def test_tokenizer_batches_are_right_padded_with_a_boolean_mask():
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"], max_length=4)
    batch = tok(["a", "a b a b a"])
    assert batch["input_ids"].tolist() == [[2, 4, 3, 0], [2, 4, 5, 3]]  # cut to max_length, [SEP] kept
    assert batch["attention_mask"].tolist() == [[True, True, True, False], [True] * 4]
    assert tok.convert_ids_to_tokens(batch["input_ids"][0]) == ["[CLS]", "a", "[SEP]", "[PAD]"]
    with pytest.raises(TypeError, match="non-empty list of str"):
        tok([])
    with pytest.raises(ValueError, match=r"no \[SEP\] entry"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]"])


def test_tokenizer_matches_the_reference_tokenizer(minilm, reference):
    _, tok = minilm
    texts = SENTENCES + ["don't stop-believing!!", "C'est l'été à Paris.", "ＡＢＣ fullwidth", "über-cool Ünïcödé",
                         "tabs\tand\r\nnewlines", "supercalifragilisticexpialidocious", "a" * 120, "İstanbul",
                         "数学 と 물리학", "email@example.com http://x.y/z?q=1"]
    for text in texts:
        assert tok.tokenize(text) == reference.tokenizer.tokenize(text), text
        assert tok.encode(text) == reference.tokenizer(text)["input_ids"], text


# --- The model against the references ----------------------------------------------------------------------------

def test_embeddings_match_sentence_transformers(minilm, reference):
    model, tok = minilm
    ours = pretrained.embed(SENTENCES, model=model, tokenizer=tok)
    theirs = reference.encode(SENTENCES, convert_to_tensor=True)
    assert ours.shape == (len(SENTENCES), 384)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours.norm(dim=-1), torch.ones(len(SENTENCES)))
    # batching and padding do not change a sentence's embedding
    torch.testing.assert_close(pretrained.embed(SENTENCES, model=model, tokenizer=tok, batch_size=1), ours,
                               rtol=0, atol=1e-6)


def test_hidden_states_and_every_heads_weights_match_transformers_bert(minilm, reference):
    model, tok = minilm
    bert = reference[0].auto_model
    bert.set_attn_implementation("eager")  # the implementation that returns attention weights
    batch = tok(SENTENCES)
    with torch.no_grad():
        theirs = bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"].long(),
                      output_attentions=True)
        hidden, weights = model(batch["input_ids"], batch["attention_mask"], need_weights=True)
        fast, none = model(batch["input_ids"], batch["attention_mask"])
    real = batch["attention_mask"]
    torch.testing.assert_close(hidden[real], theirs.last_hidden_state[real], rtol=0, atol=1e-4)
    torch.testing.assert_close(fast[real], hidden[real], rtol=0, atol=1e-4)  # fused and teaching paths agree
    assert none is None and len(weights) == len(theirs.attentions) == 6
    for ours, ref in zip(weights, theirs.attentions):
        assert ours.shape == (len(SENTENCES), 12, real.shape[1], real.shape[1])
        rows = real[:, None, :, None]  # compare the real queries; padded keys get no weight in both
        torch.testing.assert_close(ours * rows, ref * rows, rtol=0, atol=1e-5)
        assert float(ours.masked_select(~real[:, None, None, :]).abs().max()) == 0.0
        torch.testing.assert_close(ours.sum(-1), torch.ones_like(ours.sum(-1)))


def test_the_chapters_tokenization_examples(minilm):
    _, tok = minilm
    assert tok.tokenize("The tokenizer splits hyperparameterisation.") == [
        "the", "token", "##izer", "splits", "hyper", "##para", "##meter", "##isation", "."]
    jamo = [piece.removeprefix("##") for piece in tok.tokenize("서울에서 만나요")]
    assert len(jamo) == 16 and all(len(j) == 1 and 0x1100 <= ord(j) <= 0x11FF for j in jamo)  # NFD: single letters
    long = tok([" ".join(["word"] * 400)])["input_ids"]
    assert long.shape == (1, 256) and long[0, -1] == tok.sep_id  # cut at the sentence encoder's 256 tokens


def test_the_model_is_the_published_architecture(minilm):
    model, tok = minilm
    assert len(tok) == 30522 and not model.training
    assert sum(p.numel() for p in model.parameters()) == 22_565_376  # all-MiniLM-L6-v2 without its pooler
    layer = model.encoder.layers[0]
    assert (layer.self_attn.num_heads, layer.self_attn.d_head, layer.ff.linear1.out_features) == (12, 32, 1536)
    assert layer.ff.activation_name == "gelu" and not layer.norm_first and model.encoder.norm is None


def test_load_bert_state_rejects_a_state_that_does_not_fit():
    small = pretrained.BertEncoder(vocab_size=10, d_model=8, num_heads=2, num_layers=1, d_ff=16, max_len=6)
    state = {f"x.{k}": v for k, v in small.state_dict().items()}
    with pytest.raises(ValueError, match="does not fit this architecture"):
        small.load_bert_state(state)


def test_bad_input_is_reported_by_argument():
    model = pretrained.BertEncoder(vocab_size=10, d_model=8, num_heads=2, num_layers=1, d_ff=16, max_len=6)
    ids = torch.randint(0, 10, (2, 5))
    with pytest.raises(TypeError, match=r"input_ids must hold token ids \(an integer dtype such as torch.long\)"):
        model(ids.float())
    with pytest.raises(ValueError, match=r"attention_mask must have the shape of input_ids \(2, 5\), got \(2, 4\)"):
        model(ids, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="more than max_len=6"):
        model(torch.zeros(1, 7, dtype=torch.long))
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    with pytest.raises(ValueError, match="pass both model and tokenizer"):
        pretrained.embed(["a"], model=model)
    with pytest.raises(ValueError, match="sentences is empty"):
        pretrained.embed([], model=model, tokenizer=tok)


# --- What the chapter claims --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def patterns(minilm):
    model, tok = minilm
    batch = tok(PATTERN_SENTENCES)
    weights, sizes = pretrained.contributions(model, batch["input_ids"], batch["attention_mask"])
    special = (tok.cls_id, tok.sep_id)
    by_weight = pretrained.head_patterns(weights, batch["input_ids"], batch["attention_mask"], special_ids=special)
    shares = [s / s.sum(-1, keepdim=True) for s in sizes]
    by_size = pretrained.head_patterns(shares, batch["input_ids"], batch["attention_mask"], special_ids=special)
    return by_weight, by_size


def test_head_patterns_match_a_brute_force_count():
    ids = torch.tensor([[2, 5, 6, 5, 3, 0]])
    mask = ids != 0
    torch.manual_seed(0)
    w = [torch.softmax(torch.randn(1, 2, 6, 6).masked_fill(~mask[:, None, None], -1e9), -1)]
    p = pretrained.head_patterns(w, ids, mask, special_ids=(2, 3))
    words = [1, 2, 3]
    for h in range(2):
        a = w[0][0, h]
        assert torch.isclose(p["previous"][0, h], sum(a[i, i - 1] for i in words) / 3)
        assert torch.isclose(p["next"][0, h], sum(a[i, i + 1] for i in words) / 3)
        assert torch.isclose(p["first"][0, h], sum(a[i, 0] for i in words) / 3)
        assert torch.isclose(p["last"][0, h], sum(a[i, 4] for i in words) / 3)
        assert torch.isclose(p["special"][0, h], sum(a[i, 0] + a[i, 4] for i in words) / 3)
        assert torch.isclose(p["repeat"][0, h], (a[1, 3] + a[3, 1]) / 2)  # token 6 has no repeat: not counted


def test_contributions_are_weights_times_value_norms():
    torch.manual_seed(0)
    model = pretrained.BertEncoder(vocab_size=10, d_model=8, num_heads=2, num_layers=2, d_ff=16, max_len=6).eval()
    ids, mask = torch.randint(0, 10, (2, 5)), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]).bool()
    weights, sizes = pretrained.contributions(model, ids, mask)
    _, reference = model(ids, mask, need_weights=True)
    x = model.embed(ids)
    attn = model.encoder.layers[0].self_attn
    for h in range(2):  # brute force for layer 0: head h's output from key j alone, through its columns of W_O
        v = attn.v_proj(x)[..., h * 4:(h + 1) * 4]
        alone = v @ attn.out_proj.weight[:, h * 4:(h + 1) * 4].T  # (B, T, d_model)
        expected = weights[0][:, h, :, :, None] * alone[:, None, :, :]
        torch.testing.assert_close(sizes[0][:, h], expected.norm(dim=-1))
    for ours, ref in zip(weights, reference):
        torch.testing.assert_close(ours, ref)


def test_chapter_claims_about_minilm_heads(patterns):
    by_weight, by_size = patterns
    assert by_weight["previous"][0, 2] > 0.95  # layer 1, head 3 looks at the previous token
    assert by_weight["next"][1, 8] > 0.6  # layer 2, head 9 at the next one
    assert by_weight["repeat"][2, 9] > 0.3  # layer 3, head 10 links a word to its repeats
    parking = by_weight["first"] > 0.5  # heads that park most of their weight on [CLS]
    assert parking.sum() >= 20 and by_weight["last"].max() < 0.2  # MiniLM parks on [CLS], not on [SEP]
    # ... but [CLS]'s value vectors are small: its share of what those heads add is far below its weight
    assert by_weight["first"][parking].mean() > 0.6 and by_size["first"][parking].mean() < 0.2


def test_embeddings_put_paraphrases_closest(minilm):
    model, tok = minilm
    pairs = [("A man is playing a guitar.", "Someone plays an acoustic guitar."),
             ("The stock market fell sharply today.", "Share prices dropped steeply this afternoon."),
             ("A child is eating an apple.", "A kid bites into a piece of fruit."),
             ("It will rain tomorrow in Seoul.", "Tomorrow Seoul expects showers.")]
    e = pretrained.embed([s for pair in pairs for s in pair], model=model, tokenizer=tok)
    similarity = e @ e.T
    similarity.fill_diagonal_(-1)
    nearest = similarity.argmax(-1)
    assert nearest.tolist() == [i ^ 1 for i in range(len(e))]
    # ... but swapping who did what to whom barely moves a mean-pooled embedding
    order = pretrained.embed(["the dog bit the man", "the man bit the dog", "a man was bitten by a dog"],
                             model=model, tokenizer=tok)
    assert order[0] @ order[1] > 0.95 and order[0] @ order[2] < order[0] @ order[1]


def test_encoder_attention_explorer_draws_the_requested_head(minilm):
    import re

    import matplotlib.pyplot as plt

    from test_widgets import capture_draw

    model, tok = minilm
    batch = tok(["the cat sat on the mat"])
    _, weights = model(batch["input_ids"], batch["attention_mask"], need_weights=True)
    tokens = tok.convert_ids_to_tokens(batch["input_ids"][0])
    captured = capture_draw(lambda: al.widgets.encoder_attention_explorer(weights, tokens))
    assert len(captured["params"]["layer"]) == 6 and len(captured["params"]["head"]) == 12
    fig = plt.figure()
    captured["draw"](fig, layer=4, head=7)
    torch.testing.assert_close(torch.from_numpy(fig.axes[0].images[0].get_array().data),
                               weights[4][0, 7].detach(), check_dtype=False)
    plt.close(fig)
    html = al.widgets.encoder_attention_explorer(weights, tokens, static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 6
    with pytest.raises(ValueError, match="T = len\\(tokens\\) = 3"):
        al.widgets.encoder_attention_explorer(weights, tokens[:3])
