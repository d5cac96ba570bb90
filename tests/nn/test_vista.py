import numpy as np
import pytest
import torch

from edgeattn.errors import UnknownNameError
from edgeattn.models._init import init_weights
from edgeattn.nn import VistaAttention, set_path


def _model(channels=16, **kw):
    """He-initialised convs (as models get), non-zero biases, non-trivial BN statistics, eval mode."""
    m = VistaAttention(channels, **kw)
    init_weights(m)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.Conv2d) and mod.bias is not None:
                mod.bias.normal_(std=0.1)
        bn = m.fuse[1]
        bn.running_mean.normal_(std=0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.normal_(1.0, 0.2)
        bn.bias.normal_(std=0.2)
    return m.eval()


def _both_paths(module, *x):
    with torch.no_grad():
        ref = set_path(module, "reference")(*x)
        exp = set_path(module, "export")(*x)
    return ref, exp


@pytest.mark.parametrize("policy", ["expectation", "bank"])
@pytest.mark.parametrize("size", [(13, 19), (1, 1), (6, 31)])
def test_paths_agree(policy, size):
    m = _model(policy=policy)
    x = torch.relu(torch.randn(2, 16, *size))  # the head sees post-ReLU features
    ref, exp = _both_paths(m, x)
    assert ref.shape == x.shape
    assert ref.abs().max() > 0.1  # not a comparison of zeros
    assert (ref - exp).abs().max().item() <= 1e-5


def test_paths_agree_with_a_separate_sender():
    m = _model(dilations=(1, 2), rank=2)
    r, s = torch.randn(2, 16, 9, 14), torch.randn(2, 16, 9, 14)
    ref, exp = _both_paths(m, r, s)
    assert (ref - exp).abs().max().item() <= 1e-5
    with torch.no_grad():
        assert (m(r, s) - m(r)).abs().max() > 1e-3  # the sender matters


def test_inference_is_deterministic_and_draws_no_random_numbers():
    m = _model()
    x = torch.randn(2, 16, 7, 9)
    for path in ("reference", "export"):
        set_path(m, path)
        state = torch.get_rng_state()
        with torch.no_grad():
            a, b = m(x), m(x)
        assert torch.equal(a, b)
        assert torch.equal(state, torch.get_rng_state()), f"{path} path sampled at inference"


def test_expectation_policy_is_the_documented_formula():
    # S = (R / C) * sigmoid(mean_c A) * A: the reference's R terms with a_n replaced by E[a_n] = 1/C.
    c, rank = 24, 3
    m = VistaAttention(c, rank=rank).eval()
    att = torch.randn(2, c, 5, 8) * 2
    want = (rank / c) * torch.sigmoid(att.mean(1, keepdim=True)) * att
    for got in (m.structured_attention_reference(att), m.structured_attention_export(att)):
        assert (got - want).abs().max().item() <= 1e-6


def test_expectation_policy_is_the_exact_mean_of_the_sampling_where_mean_field_is_exact():
    # With A = 1 everywhere, sigmoid(a . A) = sigmoid(sum_c a_c) = sigmoid(1) for every draw, so
    # E[S] = R * sigmoid(1) * E[a] exactly; the Monte-Carlo mean of the training-mode sampling must
    # reach the policy within its sampling error (5 standard errors).
    c, n = 32, 4000
    m = VistaAttention(c).eval()
    att = torch.ones(1, c, 1, 1)
    policy = m.structured_attention_export(att)
    m.train()
    samples = m.structured_attention_reference(att.expand(n, -1, -1, -1))  # (N, C, 1, 1), one draw each
    mc, se = samples.mean(0, keepdim=True), samples.std(0, keepdim=True) / n**0.5
    assert ((mc - policy).abs() <= 5 * se).all()
    assert torch.allclose(policy, torch.full_like(policy, 3 * torch.sigmoid(torch.tensor(1.0)).item() / c))


def test_expectation_policy_is_close_to_the_mean_of_the_sampling():
    # In general sigmoid(E[a] . A) is the mean-field approximation of E[sigmoid(a . A)]. Measured here at
    # C = 128 with unit-scale logits: ~2% relative gap (MC noise ~1% with N = 4000), while one sampled
    # realisation (what the reference code outputs) is ~70% away from the mean.
    c, n = 128, 4000
    m = VistaAttention(c).eval()
    att = torch.randn(1, c, 4, 5)
    policy = m.structured_attention_export(att)
    m.train()
    samples = m.structured_attention_reference(att.expand(n, -1, -1, -1))
    mc = samples.mean(0, keepdim=True)
    gap = ((mc - policy).norm() / mc.norm()).item()
    one_draw = ((samples[:20] - mc).flatten(1).norm(dim=1).mean() / mc.norm()).item()
    assert gap < 0.05
    assert one_draw > 10 * gap


def test_training_mode_samples_and_follows_the_seed():
    m = _model().train()
    x = torch.randn(2, 16, 7, 9)
    outs = {}
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        with torch.no_grad():
            outs.setdefault(seed, []).append(m(x))
    assert torch.equal(outs[1][0], outs[1][1])  # same seed, same draws
    assert (outs[1][0] - outs[2][0]).abs().max() > 1e-4  # another seed, other draws
    # Both paths draw the same numbers in the same order.
    for path in ("reference", "export"):
        set_path(m, path)
        torch.manual_seed(5)
        with torch.no_grad():
            outs.setdefault(path, m(x))
    assert (outs["reference"] - outs["export"]).abs().max().item() <= 1e-5


def test_bank_policy_is_a_frozen_seeded_draw():
    a, b, c = VistaAttention(16, policy="bank"), VistaAttention(16, policy="bank"), VistaAttention(16, bank_seed=7)
    assert torch.equal(a.channel_bank, b.channel_bank)
    assert not torch.equal(a.channel_bank, c.channel_bank)
    assert a.channel_bank.shape == (3, 16)
    assert (a.channel_bank > 0).all() and torch.allclose(a.channel_bank.sum(1), torch.ones(3))
    # The bank is state: a loaded state dict brings its bank along.
    c.load_state_dict(a.state_dict())
    assert torch.equal(a.channel_bank, c.channel_bank)
    att = torch.randn(2, 16, 4, 6)
    want = sum(torch.sigmoid((w[None, :, None, None] * att).sum(1, keepdim=True)) * w[None, :, None, None] * att
               for w in a.channel_bank)
    a.eval()
    assert (a.structured_attention_export(att) - want).abs().max().item() <= 1e-5


@pytest.mark.parametrize("policy", ["expectation", "bank"])
def test_export_graph_has_no_random_node_is_4d_and_runs_at_another_size(policy):
    ort = pytest.importorskip("onnxruntime")
    from edgeattn.export.audit import audit
    from edgeattn.export.onnx import export_onnx

    m = _model(policy=policy)
    proto = export_onnx(m, [torch.randn(1, 16, 11, 9)], input_names=["x"], output_name="y", dynamic=True)
    report = audit(proto, "ort")
    assert report.hostile() == [], report.summary()
    assert not any(op.startswith("Random") for op in report.op_counts)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.relu(torch.randn(2, 16, 7, 20))
    (got,) = sess.run(None, {"x": x.numpy()})
    with torch.no_grad():
        want = set_path(m, "reference")(x).numpy()
    assert np.abs(got - want).max() <= 1e-5


def test_invalid_arguments():
    with pytest.raises(UnknownNameError, match="Did you mean: expectation"):
        VistaAttention(8, policy="expectaton")
    with pytest.raises(ValueError, match="rank"):
        VistaAttention(8, rank=0)
