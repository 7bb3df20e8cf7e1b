"""Hard attention trained with REINFORCE (Xu et al. 2015, section 4.1) against the model's own sampling path."""

import math

import pytest
import torch
import torch.nn.functional as F

import attnlab as al
from attnlab import hard_attention as ha


def setup(seed=0):
    torch.manual_seed(seed)
    model = al.vision.ShowAttendTell(9, d_feature=8, d_embed=4, d_hidden=8, d_attention=6)
    images = torch.rand(3, 3, 16, 16)
    tgt_in = torch.randint(1, 9, (3, 5))
    return model, images, tgt_in


def test_sampled_forward_reads_the_cells_the_model_samples():
    model, images, tgt_in = setup()
    logits, log_p, entropy, read = ha.sampled_forward(model, images, tgt_in, generator=torch.Generator().manual_seed(3))
    theirs, hard = model(images, tgt_in, hard=True, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(read, hard)
    torch.testing.assert_close(logits, theirs)
    soft_logits, soft_alpha = model(images, tgt_in)  # step 0 has the same state in both: same distribution
    where = read[:, 0].argmax(-1)
    torch.testing.assert_close(log_p[:, 0], soft_alpha[:, 0].gather(1, where[:, None])[:, 0].log())
    torch.testing.assert_close(entropy[:, 0], -(soft_alpha[:, 0] * soft_alpha[:, 0].log()).sum(-1))


def test_expected_context_with_probability_near_one_is_soft_attention():
    model, images, tgt_in = setup()
    logits, log_p, _, read = ha.sampled_forward(model, images, tgt_in, generator=torch.Generator().manual_seed(0),
                                                p_expected=1 - 1e-9)
    soft_logits, soft_alpha = model(images, tgt_in)
    torch.testing.assert_close(logits, soft_logits)
    torch.testing.assert_close(read, soft_alpha)
    assert (log_p == 0).all()  # no sample, no REINFORCE term


def test_without_the_reinforce_and_entropy_terms_the_loss_is_the_sampled_caption_loss():
    model, images, tgt_in = setup()
    tgt_out = torch.randint(1, 9, (3, 5))
    tgt_out[0, 3:] = -100
    loss, reward = ha.reinforce_loss(model, images, tgt_in, tgt_out, 0.0, generator=torch.Generator().manual_seed(1),
                                     reinforce_weight=0.0, entropy_weight=0.0, p_expected=0.0)
    logits, *_ = ha.sampled_forward(model, images, tgt_in, generator=torch.Generator().manual_seed(1))
    nll = F.cross_entropy(logits.transpose(1, 2), tgt_out, reduction="none").sum(1)
    torch.testing.assert_close(loss, nll.mean() / torch.tensor([3.0, 5.0, 5.0]).mean())
    assert math.isclose(reward, -nll.mean().item(), rel_tol=1e-5)


def test_the_reinforce_gradient_is_the_score_function_estimator():
    """The location term's gradient is (reward - b) d log alpha[s] / d params, so with reward = b
    it vanishes, and its sign follows the advantage."""
    model, images, tgt_in = setup()
    tgt_out = torch.randint(1, 9, (3, 5))

    def location_grad(baseline):
        model.zero_grad()
        loss, reward = ha.reinforce_loss(model, images, tgt_in, tgt_out, baseline, entropy_weight=0.0,
                                         generator=torch.Generator().manual_seed(2), p_expected=0.0)
        loss.backward()
        return model.score.v.weight.grad.clone(), reward

    g_high, reward = location_grad(-1e6)   # every sample looks much better than the baseline
    g_low, _ = location_grad(1e6)          # ... or much worse
    assert torch.allclose(g_high / 1e6, -g_low / 1e6, atol=1e-4)  # flipping the advantage flips the push
    assert g_high.abs().sum() > 0


@pytest.mark.parametrize("call, fragment", [
    (lambda m, i, t: ha.sampled_forward(m, i, t, p_expected=1.0), "p_expected"),
    (lambda m, i, t: ha.reinforce_loss(m, i, t, t[:, :2], 0.0), "tgt_out"),
    (lambda m, i, t: ha.reinforce_loss(m, i, t, t, float("nan")), "baseline"),
])
def test_bad_input_is_named(call, fragment):
    model, images, tgt_in = setup()
    with pytest.raises(ValueError, match=fragment):
        call(model, images, tgt_in)
