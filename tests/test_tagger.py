"""AttentionTagger's position schemes (learned / sinusoidal, added / concatenated) against hand computations."""

import pytest
import torch

import attnlab as al


def by_hand(model, tokens):
    """The tagger's forward pass written out from its parts."""
    T = tokens.shape[1]
    tok = model.token.weight[tokens]
    if model.positions == "learned":
        pos = model.position.weight[:T]
    else:
        pos = al.sinusoidal_encoding(T, model.d_position)
    h = tok + pos if model.combine == "add" else torch.cat([tok, pos.expand(len(tokens), -1, -1)], -1)
    attended, _ = model.attention(h, h, h)
    return model.mlp(h + attended)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
@pytest.mark.parametrize("combine", ["add", "concat"])
def test_forward_equals_the_hand_computation(positions, combine):
    model = al.AttentionTagger(10, 12, d_model=16, num_heads=2, positions=positions, combine=combine)
    tokens = torch.randint(0, 10, (3, 7))
    torch.testing.assert_close(model(tokens)[0], by_hand(model, tokens))
    expected_token_width = 16 if combine == "add" else 8
    assert model.token.embedding_dim == expected_token_width


def test_default_is_the_learned_added_model_and_keeps_its_initialisation():
    torch.manual_seed(0)
    model = al.AttentionTagger(10, 12)
    torch.manual_seed(0)
    token, position = torch.nn.Embedding(10, 32), torch.nn.Embedding(12, 32)
    torch.testing.assert_close(model.token.weight, token.weight)
    torch.testing.assert_close(model.position.weight, position.weight)


def test_sinusoidal_positions_run_beyond_max_len_and_learned_ones_refuse():
    sinusoidal = al.AttentionTagger(10, 12, positions="sinusoidal")
    tokens = torch.randint(0, 10, (2, 48))
    logits, _ = sinusoidal(tokens)
    assert logits.shape == (2, 48, 10)
    # the first 12 positions do not depend on what comes after them in the position table
    torch.testing.assert_close(sinusoidal.position_vectors(48)[:12], sinusoidal.position_vectors(12))
    with pytest.raises(ValueError, match="48 positions, more than max_len=12"):
        al.AttentionTagger(10, 12)(tokens)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="positions must be one of"):
        al.AttentionTagger(10, 12, positions="rotary")
    with pytest.raises(ValueError, match="d_position is only for combine='concat'"):
        al.AttentionTagger(10, 12, d_position=8)
    with pytest.raises(ValueError, match="d_position=32 must be smaller than d_model=32"):
        al.AttentionTagger(10, 12, combine="concat", d_position=32)
    with pytest.raises(ValueError, match="sinusoidal positions need an even width"):
        al.AttentionTagger(10, 12, positions="sinusoidal", combine="concat", d_position=7)
