"""SAGAN's block against the paper's formula computed pixel by pixel, the small CNN's receptive field, the
measurements chapter 15 makes, and the data set whose label needs two distant squares."""

import itertools
import math

import pytest
import torch

import attnlab as al
from attnlab import sagan
from attnlab.data.colour_pairs import PALETTE, SQUARE, colour_pairs
from attnlab.sagan import AttentionCNN, SelfAttention2d

F64 = torch.float64


def random_block(channels=16, reduction=4, gamma=0.7):
    block = SelfAttention2d(channels, reduction).double()
    with torch.no_grad():
        for conv in (block.key, block.query, block.value, block.out):
            conv.weight.normal_()
        block.gamma.fill_(gamma)
    return block


def test_the_papers_shapes_c_over_8_and_the_output_convolution():
    block = SelfAttention2d(64)
    shapes = {name: tuple(p.shape) for name, p in block.named_parameters()}
    assert shapes == {"key.weight": (8, 64, 1, 1), "query.weight": (8, 64, 1, 1), "value.weight": (8, 64, 1, 1),
                      "out.weight": (64, 8, 1, 1), "gamma": (1,)}
    assert block.gamma.item() == 0.0


def test_formula_pixel_by_pixel():
    """The oracle: eq. 1-3 of the paper written as loops over pixels, with plain exp and sums (no softmax, no
    matrix products over positions)."""
    torch.manual_seed(0)
    block = random_block()
    x = torch.randn(2, 16, 3, 4, dtype=F64) * 0.3
    y, beta = block(x, return_attention=True)
    Wf, Wg, Wh, Wv = (c.weight[:, :, 0, 0] for c in (block.key, block.query, block.value, block.out))
    for b in range(2):
        pixels = [x[b, :, r, c] for r in range(3) for c in range(4)]      # raster order
        for j, xj in enumerate(pixels):
            s = torch.stack([(Wf @ xi) @ (Wg @ xj) for xi in pixels])      # s_ij for every i
            e = torch.exp(s - s.max())
            beta_j = e / e.sum()
            torch.testing.assert_close(beta[b, j], beta_j, rtol=1e-12, atol=1e-12)
            o_j = Wv @ sum(beta_j[i] * (Wh @ xi) for i, xi in enumerate(pixels))
            torch.testing.assert_close(y[b, :, j // 4, j % 4], 0.7 * o_j + xj, rtol=1e-12, atol=1e-12)


def test_identity_at_initialisation_and_only_gamma_learns_first():
    block = SelfAttention2d(16).double()
    x = torch.randn(2, 16, 5, 6, dtype=F64, requires_grad=True)
    y = block(x)
    assert torch.equal(y, x)
    (y * torch.randn_like(y)).sum().backward()
    assert block.gamma.grad.abs().item() > 0
    for name, p in block.named_parameters():
        if name != "gamma":
            assert torch.equal(p.grad, torch.zeros_like(p)), name
    assert torch.isfinite(x.grad).all()


def test_permuting_pixels_permutes_the_output():
    block = random_block(8, 2, gamma=1.3)
    x = torch.randn(1, 8, 4, 5, dtype=F64) * 0.3
    perm = torch.randperm(20)
    shuffled = x.flatten(2)[:, :, perm].view_as(x)
    torch.testing.assert_close(block(shuffled).flatten(2), block(x).flatten(2)[:, :, perm], rtol=1e-12, atol=1e-12)


def test_vision_reexports_the_block():
    assert al.vision.SelfAttention2d is SelfAttention2d


def test_cnn_receptive_field_is_ten_pixels_without_the_block_and_everything_with_it():
    """What chapter 15 measures: without the block a grid cell's output depends on a 7 x 7 window only (so two
    squares 12 columns apart are never in one window); with the block (gamma != 0), on every pixel. A ReLU can
    block a path for one image, so the field is the union over a batch of random images."""
    torch.manual_seed(0)
    fields = {}
    for attention in (False, True):
        model = AttentionCNN(2, 16, attention=attention).double()
        if attention:
            with torch.no_grad():
                model.block.gamma.fill_(1.0)
        x = torch.rand(16, 3, 32, 32, dtype=F64, requires_grad=True)
        model.grid(x)[:, :, 4, 4].sum().backward()
        fields[attention] = x.grad.abs().sum((0, 1)) > 0
    rows, cols = fields[False].any(1).nonzero()[:, 0], fields[False].any(0).nonzero()[:, 0]
    assert (rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()) == (13, 19, 13, 19)
    assert fields[False].sum() == 49 and fields[True].all()
    assert AttentionCNN(2, 16, attention=False).block is None


def test_cnn_forward_and_errors():
    model = AttentionCNN(2, 16)
    logits, weights = model(torch.rand(3, 3, 32, 24), return_attention=True)
    assert logits.shape == (3, 2) and weights.shape == (3, 48, 48)
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.rand(1, 3, 30, 32))
    with pytest.raises(ValueError, match="needs the block"):
        AttentionCNN(2, 16, attention=False)(torch.rand(1, 3, 8, 8), return_attention=True)
    with pytest.raises(TypeError, match="attention must be a bool"):
        AttentionCNN(2, 16, attention=1)
    with pytest.raises(ValueError, match="reduction=8"):
        SelfAttention2d(4)
    with pytest.raises(ValueError, match="16 channels"):
        SelfAttention2d(16)(torch.randn(1, 8, 4, 4))


def test_attention_mass_brute_force():
    torch.manual_seed(0)
    weights = torch.softmax(torch.randn(2, 6, 6, dtype=F64), -1)
    queries = torch.rand(2, 6) < 0.5
    queries[:, 0] = True
    keys = torch.rand(2, 6) < 0.5
    got = sagan.attention_mass(weights, queries, keys)
    for b in range(2):
        rows = [sum(weights[b, q, k].item() for k in range(6) if keys[b, k]) for q in range(6) if queries[b, q]]
        assert math.isclose(got[b].item(), sum(rows) / len(rows), rel_tol=1e-12)
    uniform = torch.full((2, 6, 6), 1 / 6, dtype=F64)
    torch.testing.assert_close(sagan.attention_mass(uniform, queries, keys), keys.sum(1).double() / 6.0)
    with pytest.raises(ValueError, match="at least one query cell"):
        sagan.attention_mass(weights, torch.zeros(2, 6, dtype=torch.bool), keys)
    with pytest.raises(TypeError, match="queries must be a bool tensor"):
        sagan.attention_mass(weights, queries.float(), keys)


def test_cells_of_brute_force():
    """The oracle: paint each box's pixels and ask which equal cells contain a painted pixel."""
    boxes = torch.tensor([[[0, 0, 4, 4], [5, 9, 4, 4], [3, 3, 2, 2]]])
    got = sagan.cells_of(boxes, (16, 16), (4, 4))
    for k, (top, left, h, w) in enumerate(boxes[0].tolist()):
        painted = torch.zeros(16, 16)
        painted[top:top + h, left:left + w] = 1
        expected = torch.nn.functional.max_pool2d(painted[None, None], 4)[0, 0].flatten() > 0
        assert torch.equal(got[0, k], expected)
    assert got[0, 1].sum() == 4 and got[0, 0].sum() == 1  # (5, 9) straddles two rows and two columns of cells


def square_colours(data):
    """Read each square's colour from the pixels (the oracle for the labels)."""
    colours = []
    for image, boxes in zip(data.images, data.boxes):
        found = []
        for top, left, h, w in boxes.tolist():
            patch = image[:, top:top + h, left:left + w].flatten(1)
            assert (patch == patch[:, :1]).all()                         # one flat colour
            found.append(int((PALETTE - patch[:, 0]).abs().sum(1).argmin()))
        colours.append(found)
    return torch.tensor(colours)


def test_colour_pairs_labels_gaps_and_dots():
    data = colour_pairs(400, generator=torch.Generator().manual_seed(0))
    assert data.images.shape == (400, 3, 32, 32) and data.labels.dtype == torch.int64
    colours = square_colours(data)
    assert torch.equal(data.labels, (colours[:, 0] == colours[:, 1]).long())
    assert 0.4 < data.labels.float().mean() < 0.6
    gap = data.boxes[:, 1, 1] - (data.boxes[:, 0, 1] + SQUARE)
    assert gap.min() >= 12
    # the dots keep away from the squares: outside the squares grown by one pixel, every lit pixel is a dot
    lit = data.images.abs().sum(1) > 0
    near = torch.zeros_like(lit)
    for b, boxes in enumerate(data.boxes.tolist()):
        for top, left, h, w in boxes:
            near[b, max(top - 1, 0):top + h + 1, max(left - 1, 0):left + w + 1] = True
    ring = near.clone()
    for b, boxes in enumerate(data.boxes.tolist()):
        for top, left, h, w in boxes:
            ring[b, top:top + h, left:left + w] = False
    assert not (lit & ring).any()
    assert (lit & ~near).sum(dim=(1, 2)).float().mean() > 10  # about 4 dots of 4 pixels
    again = colour_pairs(400, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.images, data.images)


def test_colour_pairs_errors():
    with pytest.raises(ValueError, match="colours must be <= 6"):
        colour_pairs(4, colours=7)
    with pytest.raises(ValueError, match="need size >= 28"):
        colour_pairs(4, 24, min_gap=20)


def additive_accuracy(s, t, theta, K):
    """Accuracy of "same iff s[a] + t[b] > theta" on balanced pairs: same pairs (a, a) weigh 1/(2K), different
    pairs 1/(2K(K-1))."""
    total = 0.0
    for a, b in itertools.product(range(K), repeat=2):
        said_same = s[a] + t[b] > theta
        total += (said_same / (2 * K)) if a == b else ((not said_same) / (2 * K * (K - 1)))
    return total


def test_a_sum_of_separate_evidence_cannot_compare_two_colours():
    """The bound chapter 15 proves: a rule that adds a score of one square's colour to a score of the other's is
    right at most 3/4 of the time on balanced same/different pairs; "a >= b" reaches it; comparing reaches 1."""
    g = torch.Generator().manual_seed(0)
    for K in (2, 3, 6):
        best = 0.0
        for _ in range(300):
            s, t = torch.randn(K, generator=g).tolist(), torch.randn(K, generator=g).tolist()
            theta = torch.randn(1, generator=g).item()
            best = max(best, additive_accuracy(s, t, theta, K))
        assert best <= 0.75 + 1e-12
        assert math.isclose(additive_accuracy(list(range(K)), [-b for b in range(K)], -0.5, K), 0.75)
    # the check can fail: a rule that compares the two colours is not additive, and is always right
    K = 6
    compare = sum((1 / (2 * K)) if a == b else 1 / (2 * K * (K - 1)) for a, b in itertools.product(range(K), repeat=2))
    assert math.isclose(compare, 1.0)


def test_an_untrained_block_fails_the_chapters_attention_claim():
    """Chapter 15 asserts that its trained block puts most of a square's attention on the other square (mass above
    0.3, and at least 3 times what uniform attention gives). An untrained block fails both; a block whose key picks
    out "square" cells passes (so the check can pass and can fail)."""
    data = colour_pairs(64, generator=torch.Generator().manual_seed(1))
    cells = sagan.cells_of(data.boxes, (32, 32), (8, 8))
    left, right = cells[:, 0], cells[:, 1]
    uniform = right.float().mean(1).mean().item()

    def claim_holds(weights):
        mass = sagan.attention_mass(weights, left, right).mean().item()
        return mass > 0.3 and mass > 3 * uniform

    torch.manual_seed(0)
    model = AttentionCNN(2, 32).eval()
    with torch.no_grad():
        _, untrained = model(data.images, return_attention=True)
    assert not claim_holds(untrained)
    # the oracle block on a hand-made grid: channel 0 marks the squares' cells, channel 1 is all ones
    grid = torch.zeros(64, 8, 8, 8)
    grid[:, 0] = (left | right).float().view(64, 8, 8)
    grid[:, 1] = 1.0
    block = SelfAttention2d(8, 8)
    with torch.no_grad():
        block.key.weight.zero_()
        block.query.weight.zero_()
        block.key.weight[0, 0] = 10.0      # f: "I am a square"
        block.query.weight[0, 1] = 1.0     # g: every query asks for squares
        _, oracle = block(grid, return_attention=True)
    assert claim_holds(oracle)
