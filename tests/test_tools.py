"""tools/: shape formulas vs PyTorch, the SimpleCNN summary golden, receptive fields vs
hand-derived values and a gradient oracle, explain vs PyTorch, and the teaching error hints."""
import argparse
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from helpers import raised
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tatamikomi as tm
import tatamikomi.nn as nn
import tatamikomi.nn.functional as F
from tatamikomi import kernels
from tatamikomi.kernels import pool as pool_kernels
from tatamikomi.tools import explain, receptive, shapes, summary
from tatamikomi.tools.models import SimpleCNN

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
small = st.integers(1, 4)


# ----- shapes: every formula against the shape PyTorch actually produces

@FAST
@given(n=st.tuples(st.integers(1, 16), st.integers(1, 16)), k=st.tuples(small, small),
       s=st.tuples(small, small), p=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_conv_output_size_matches_torch(n, k, s, p, d):
    assume(all(a + 2 * b >= e * (c - 1) + 1 for a, b, c, e in zip(n, p, k, d)))
    y = torch_F.conv2d(torch.zeros(1, 1, *n), torch.zeros(1, 1, *k), stride=s, padding=p,
                       dilation=d)
    assert shapes.conv_output_size(n, k, s, p, d) == tuple(y.shape[2:])
    assert shapes.conv_output_size(n[0], k[0], s[0], p[0], d[0]) == y.shape[2]   # ints: an int


@FAST
@given(n=st.integers(1, 12), k=st.tuples(small, small), d=st.tuples(st.integers(1, 3), small),
       mode=st.sampled_from(["same", "valid"]))
def test_conv_string_padding_matches_torch(n, k, d, mode):
    assume(mode == "same" or n >= max(e * (c - 1) + 1 for c, e in zip(k, d)))
    y = torch_F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, *k), padding=mode,
                       dilation=d)
    assert shapes.conv_output_size((n, n), k, 1, mode, d) == tuple(y.shape[2:])


@FAST
@given(n=st.tuples(st.integers(1, 14), st.integers(1, 14)), k=st.tuples(small, small),
       s=st.tuples(small, small), d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)), ceil_mode=st.booleans())
def test_pool_output_size_matches_torch(n, k, s, d, p, ceil_mode):
    assume(all(b <= c // 2 for b, c in zip(p, k)))   # torch 2.13: pad <= k/2, whatever d
    args = (n, k, s, p, d, ceil_mode)
    assume(min(pool_kernels.out_size(*a, ceil_mode) for a in zip(*args[:5])) >= 1)
    y = torch_F.max_pool2d(torch.zeros(1, 1, *n), k, s, p, d, ceil_mode)
    assert shapes.pool_output_size(*args) == tuple(y.shape[2:])
    if min(pool_kernels.out_size(*a, 1, ceil_mode) for a in zip(n, k, s, p)) >= 1:
        y = torch_F.avg_pool2d(torch.zeros(1, 1, *n), k, s, p, ceil_mode)    # no dilation
        assert shapes.pool_output_size(n, k, s, p, 1, ceil_mode) == tuple(y.shape[2:])


def test_pool_rule_is_the_layers_rule():
    # one implementation: shapes calls the very function the pooling kernels run
    assert shapes.out_size is pool_kernels.out_size
    # ceil_mode drops a window starting in the right padding: n=5, k=2, s=3, p=1:
    # ceil((5 + 2 - 1 - 1) / 3) + 1 = 3, but window 2 starts at 2*3 = 6 >= 5 + 1 -> 2
    assert shapes.pool_output_size(5, 2, 3, 1, ceil_mode=True) == 2
    assert torch_F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 3, 1, ceil_mode=True).shape[2] == 2


@FAST
@given(g=small, cin=small, cout=small, k=st.tuples(small, small), bias=st.booleans())
def test_conv_params_match_torch(g, cin, cout, k, bias):
    layer = torch.nn.Conv2d(cin * g, cout * g, k, groups=g, bias=bias)
    want = sum(p.numel() for p in layer.parameters())
    assert shapes.conv_params(cin * g, cout * g, k, g, bias) == want


@FAST
@given(k=st.tuples(st.integers(1, 6), st.integers(1, 6)), d=st.tuples(small, small))
def test_same_padding_split_matches_torch(k, d):
    # PyTorch's 'same' equals zero-padding by our sides first: proves where the odd pixel goes
    x, w = torch.randn(1, 1, 11, 12), torch.randn(1, 1, *k)
    top, bottom, left, right = shapes.same_padding(k, d)
    ours = torch_F.conv2d(torch_F.pad(x, (left, right, top, bottom)), w, dilation=d)
    assert torch.allclose(torch_F.conv2d(x, w, padding="same", dilation=d), ours, atol=1e-5)


@FAST
@given(n=st.integers(1, 30), k=st.integers(1, 7), s=small, d=small)
def test_tf_same_padding_defining_property(n, k, s, d):
    # TF's 'SAME': the smallest total padding giving ceil(n / s) outputs, odd pixel at the end
    top, bottom, _, _ = shapes.tf_same_padding(n, k, s, d)
    want = -(-n // s)
    assert bottom - top in (0, 1)
    assert (n + top + bottom - d * (k - 1) - 1) // s + 1 == want
    if top + bottom:
        assert (n + top + bottom - 1 - d * (k - 1) - 1) // s + 1 < want


def test_tf_same_padding_by_hand():
    # n=9, k=3, s=2: ceil(9/2) = 5, total = (5-1)*2 + 3 - 9 = 2 -> (1, 1)
    # n=8: ceil(8/2) = 4, total = (4-1)*2 + 3 - 8 = 1 -> (0, 1): the extra one at the end
    assert shapes.tf_same_padding((9, 8), 3, 2) == (1, 1, 0, 1)
    # stride 1, even k=4: total = 3 -> (1, 2), as PyTorch's 'same'
    assert shapes.tf_same_padding(9, 4) == shapes.same_padding(4) == (1, 2, 1, 2)


# ----- summary: the chapter's SimpleCNN, every number derived by hand

def test_simple_cnn_summary_golden():
    s = summary.summary(SimpleCNN(), (1, 1, 28, 28))
    rows = [(r.name, r.type, r.output_shape) for r in s.rows]
    assert rows == [("conv1", "Conv2d", [1, 32, 28, 28]),     # 3x3 pad 1 keeps 28
                    ("pool", "MaxPool2d", [1, 32, 14, 14]),   # floor((28 - 2) / 2) + 1 = 14
                    ("conv2", "Conv2d", [1, 64, 14, 14]),
                    ("pool", "MaxPool2d", [1, 64, 7, 7]),     # the same module, called again
                    ("fc1", "Linear", [1, 128]),
                    ("dropout", "Dropout", [1, 128]),
                    ("fc2", "Linear", [1, 10])]
    # params: conv1 32*1*3*3 + 32 = 320; conv2 64*32*3*3 + 64 = 18,496;
    # fc1 3136*128 + 128 = 401,536; fc2 128*10 + 10 = 1,290; total 421,642
    assert [r.params for r in s.rows] == [320, 0, 18496, 0, 401536, 0, 1290]
    assert s.total_params == s.trainable_params == 421_642
    # MACs: conv1 N*O*OH*OW*C*KH*KW = 1*32*28*28*1*3*3 = 225,792
    # conv2 1*64*14*14*32*3*3 = 3,612,672; fc1 1*3136*128 = 401,408; fc2 1*128*10 = 1,280
    assert [r.macs for r in s.rows] == [225_792, 0, 3_612_672, 0, 401_408, 0, 1_280]
    assert s.total_macs == 4_241_152 and [r.flops for r in s.rows][0] == 451_584
    # float32 outputs: 32*28*28*4 = 100,352 bytes, 32*14*14*4 = 25,088, ...
    assert [r.memory for r in s.rows] == [100352, 25088, 50176, 12544, 512, 512, 40]
    # RF r' = r + (k - 1) j, j' = j s, start' = start + ((k - 1)/2 - p) j:
    # conv1 k3 p1: r 1 + 2*1 = 3, j 1, start 0 + (1 - 1)*1 = 0
    # pool k2 s2:  r 3 + 1*1 = 4, j 2, start 0 + (0.5 - 0)*1 = 0.5
    # conv2 k3 p1: r 4 + 2*2 = 8, j 2, start 0.5
    # pool k2 s2:  r 8 + 1*2 = 10, j 4, start 0.5 + 0.5*2 = 1.5
    spatial = s.rows[:4]
    assert [r.rf for r in spatial] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert [r.jump for r in spatial] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert [r.start for r in spatial] == [(0, 0), (0.5, 0.5), (0.5, 0.5), (1.5, 1.5)]
    assert all(r.rf is None for r in s.rows[4:])
    # the kernel is the one kernels.select picks for conv2's spec
    spec = kernels.ConvSpec.make((1, 32, 14, 14), (64, 32, 3, 3), padding=(1, 1))
    assert s.rows[2].kernel == kernels.select(spec).__name__.rsplit(".", 1)[-1]
    text = str(s)
    assert "Total params: 421,642" in text and "Total MACs: 4,241,152" in text
    assert "FLOPs = 2 x MACs" in text and "10x10" in text


def test_summary_counts_tied_parameters_once_and_keeps_modes():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(4, 4), nn.Linear(4, 4)
            self.dec.weight = self.enc.weight          # weight tying, as in language models
            self.bn = nn.BatchNorm2d(1)

        def forward(self, x):
            return self.dec(self.enc(self.bn(x).flatten(1)))

    model = Tied()
    s = summary.summary(model, (2, 1, 2, 2))
    # bn 1 + 1 (weight, bias); enc 16 + 4; dec only its bias 4: 26 in all
    assert [r.params for r in s.rows] == [2, 20, 4] and s.total_params == 26
    assert model.training and model.bn.running_mean.tolist() == [0.0]


def test_summary_cli_prints_the_table(capsys, tmp_path):
    script = tmp_path / "net.py"
    script.write_text("import tatamikomi as torch\nimport tatamikomi.nn as nn\n\n\n"
                      "class Net(nn.Module):\n    def __init__(self):\n"
                      "        super().__init__()\n        self.conv = nn.Conv2d(1, 4, 3)\n\n"
                      "    def forward(self, x):\n        return torch.relu(self.conv(x))\n")
    p = argparse.ArgumentParser()
    summary.add_arguments(p)
    for target in (f"{script}:Net", "tatamikomi.tools.models:SimpleCNN"):
        assert summary.main(p.parse_args([target, "--input", "2,1,28,28"])) == 0
    out = capsys.readouterr().out
    # Net: 4*1*3*3 + 4 = 40 params, output 28 - 3 + 1 = 26; SimpleCNN with N = 2
    assert "Total params: 40" in out and "[2, 4, 26, 26]" in out
    assert "Total params: 421,642" in out and "[2, 10]" in out


# ----- receptive fields: hand-derived nets, then a gradient oracle that needs no formula

def alexnet_features(w=2):
    """torchvision's AlexNet feature layout; channels are irrelevant to the field, so few."""
    return nn.Sequential(
        nn.Conv2d(3, w, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(w, w, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
        nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))


def vgg16_features(w=1):
    layers, c = [], 3
    for n in (2, 2, 3, 3, 3):
        for _ in range(n):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU()]
            c = w
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def test_alexnet_and_vgg16_fields():
    # AlexNet: r 1 -> 11 (j 4) -> 11+2*4 = 19 (j 8) -> 19+4*8 = 51 -> 51+2*8 = 67 (j 16)
    # -> 99 -> 131 -> 163 -> 163+2*16 = 195 (j 32)
    # start: 0 + (5-2) = 3 -> 3+1*4 = 7 -> 7 -> 7+1*8 = 15 -> 15 -> 15+1*16 = 31
    rf = receptive.receptive_field(alexnet_features(), (1, 3, 224, 224))
    assert (rf.size, rf.jump, rf.start, rf.flattened) == ((195, 195), (32, 32), (31, 31), False)
    # VGG16: each 3x3 conv adds 2j, each 2/2 pool adds j and doubles j:
    # 5, 6 | 10, 14, 16 | 24, 32, 40, 44 | 60, 76, 92, 100 | 132, 164, 196, 212 (j 32)
    # start: each pool adds 0.5 j: 0.5 + 1 + 2 + 4 + 8 = 15.5
    rf = receptive.receptive_field(vgg16_features(), (1, 3, 64, 64))
    assert (rf.size, rf.jump, rf.start) == ((212, 212), (32, 32), (15.5, 15.5))


def test_simple_cnn_field_is_its_last_spatial_map():
    rf = receptive.receptive_field(SimpleCNN(), (1, 1, 28, 28))
    assert (rf.size, rf.jump, rf.start, rf.flattened) == ((10, 10), (4, 4), (1.5, 1.5), True)


def test_adaptive_pool_field():
    # 12 -> 3 is a plain 4/4 pool: r 1 + 3 = 4, j 4, start 1.5; 10 -> 3 has uneven windows
    rf = receptive.receptive_field(nn.AdaptiveAvgPool2d(3), (1, 1, 12, 12))
    assert (rf.size, rf.jump, rf.start) == ((4, 4), (4, 4), (1.5, 1.5))
    with pytest.raises(NotImplementedError, match="not a multiple"):
        receptive.receptive_field(nn.AdaptiveAvgPool2d(3), (1, 1, 10, 10))


def gradient_extent(model, size):
    """Extent and centre of the input pixels one central output unit depends on, by backprop.

    All weights are positive and the input is positive, so no contribution can cancel.
    """
    with tm.no_grad():
        for name, p in model.named_parameters():
            p.fill_(0.0 if name.endswith("bias") else 0.1)
    x = tm.ones(*size, requires_grad=True)
    y = model(x)
    g = np.zeros(y.shape, np.float32)
    u = (y.shape[2] // 2, y.shape[3] // 2)
    g[0, 0, u[0], u[1]] = 1
    y.backward(tm.tensor(g))
    hit = np.nonzero(x.grad.numpy()[0].sum(axis=0))
    lo, hi = [int(a.min()) for a in hit], [int(a.max()) for a in hit]
    return (tuple(h - low + 1 for low, h in zip(lo, hi)), tuple((low + h) / 2 for low, h in
                                                               zip(lo, hi)), u)


def assert_field_matches_gradient(model, size):
    rf = receptive.receptive_field(model, size)
    extent, centre, u = gradient_extent(model, size)
    want = tuple(s + i * j for s, i, j in zip(rf.start, u, rf.jump))
    inside = all((r - 1) / 2 <= c <= n - 1 - (r - 1) / 2 for r, c, n in
                 zip(rf.size, want, size[2:]))
    assert inside, "the test net's field must lie inside the input for the oracle to see it"
    assert (extent, centre) == (rf.size, want)


class Residual(nn.Module):
    """y = conv3x3(conv3x3(x)) + conv1x1(x), then a dilated conv and a strided one."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1)
        self.skip = nn.Conv2d(1, 2, 1)
        self.dilated = nn.Conv2d(2, 2, 3, padding=2, dilation=2)
        self.down = nn.Conv2d(2, 1, (3, 5), stride=2, padding=(1, 2))

    def forward(self, x):
        return self.down(self.dilated(self.b(self.a(x)) + self.skip(x)))


class Misaligned(nn.Module):
    """Two branches whose windows overlap without either containing the other: the union.

    'same' with k=4 pads (1, 2): unit 0 sees [-1, 2]; padding (2, 1) first sees [-2, 1];
    their hull [-2, 2] is 5 wide though each branch is only 4.
    """

    def __init__(self):
        super().__init__()
        self.same = nn.Conv2d(1, 1, 4, padding="same")
        self.other = nn.Conv2d(1, 1, 4)

    def forward(self, x):
        return self.same(x) + self.other(F.pad(x, (2, 1, 2, 1)))


def test_field_of_branching_and_dilated_nets_matches_gradient():
    # Residual: a, b, skip -> max(5, 1) = 5; dilated k_eff 5 -> 9; down (3, 5) s2 -> (11, 13)
    rf = receptive.receptive_field(Residual(), (1, 1, 31, 31))
    assert (rf.size, rf.jump) == ((11, 13), (2, 2))
    assert_field_matches_gradient(Residual(), (1, 1, 31, 31))
    rf = receptive.receptive_field(Misaligned(), (1, 1, 16, 16))
    assert (rf.size, rf.start) == ((5, 5), (0, 0))
    assert_field_matches_gradient(Misaligned(), (1, 1, 16, 16))


layer_args = st.tuples(st.booleans(), st.tuples(small, small), st.tuples(st.integers(1, 3), small),
                       st.integers(0, 2), st.integers(1, 3))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(layers=st.lists(layer_args, min_size=1, max_size=4))
def test_random_nets_field_matches_gradient(layers):
    # avg pools only: a max pool routes the gradient to one winner and would hide the field
    mods, n = [], (64, 64)
    for is_conv, k, s, p, d in layers:
        pads = (min(p, k[0] // 2), min(p, k[1] // 2))
        if is_conv:
            mods.append(nn.Conv2d(1, 1, k, stride=s, padding=pads, dilation=(d, 1)))
            try:
                n = shapes.conv_output_size(n, k, s, pads, (d, 1))
            except ValueError:                          # kernel larger than the map
                assume(False)
        else:
            mods.append(nn.AvgPool2d(k, s, pads))
            n = shapes.pool_output_size(n, k, s, pads)
        assume(min(n) >= 3)
    model = nn.Sequential(*mods)
    rf = receptive.receptive_field(model, (1, 1, 64, 64))
    assume(max(rf.size) <= 40)
    assert_field_matches_gradient(model, (1, 1, 64, 64))


# ----- explain: its worked shape is the layer's shape, and the 'same'/TF lines

def _torch_layer(text):
    return eval("torch.nn." + text, {"torch": torch})      # our own generated text, in tests


@FAST
@given(c=small, o=small, k=st.tuples(small, small), s=st.tuples(small, small),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)), d=st.tuples(small, small),
       n=st.tuples(st.integers(4, 12), st.integers(4, 12)))
def test_explain_conv_shape_matches_torch(c, o, k, s, p, d, n):
    assume(all(a + 2 * b >= e * (f - 1) + 1 for a, b, f, e in zip(n, p, k, d)))
    text = f"Conv2d({c}, {o}, {k}, stride={s}, padding={p}, dilation={d})"
    want = list(_torch_layer(text)(torch.zeros(2, c, *n)).shape)
    out = explain.explain(text, (2, c, *n))
    assert f"-> output {want}" in out
    worked = [int(line.rsplit(" ", 1)[1]) for line in out.splitlines()
              if re.match(r"  [HW]: ", line)]
    assert worked == want[2:]


@FAST
@given(kind=st.sampled_from(["MaxPool2d", "AvgPool2d"]), k=st.tuples(small, small),
       s=st.tuples(small, small), p=st.integers(0, 2), ceil_mode=st.booleans(),
       n=st.tuples(st.integers(4, 12), st.integers(4, 12)))
def test_explain_pool_shape_matches_torch(kind, k, s, p, ceil_mode, n):
    assume(p <= min(k) // 2)
    text = f"{kind}({k}, stride={s}, padding={p}, ceil_mode={ceil_mode})"
    want = list(_torch_layer(text)(torch.zeros(1, 2, *n)).shape)
    out = explain.explain(text, (1, 2, *n))
    assert f"-> output {want}" in out
    worked = [int(line.rsplit(" ", 1)[1]) for line in out.splitlines()
              if re.search(r"(kept|dropped) -> \d+$|^  [HW]: floor", line)]
    assert worked == want[2:]


def test_explain_same_padding_with_even_kernel():
    out = explain.explain("nn.Conv2d(3, 8, 4, padding='same')", (1, 3, 9, 9))
    # total = 1*(4 - 1) = 3 per axis: 1 before, 2 after (PyTorch's odd pixel on bottom/right);
    # TF at stride 1: ceil(9/1) = 9 outputs, total (9-1)*1 + 4 - 9 = 3, the same split
    assert "Padding applied (top, bottom, left, right): (1, 2, 1, 2)" in out
    assert "TensorFlow's 'SAME' would pad (1, 2, 1, 2) too" in out
    assert "Parameters: weight O*(C/groups)*KH*KW = 8*(3/1)*4*4 = 384 + bias 8 = 392" in out
    # strided: n=9, k=3, s=2 -> TF pads (1, 1); n=8 -> (0, 1); PyTorch 'same' refuses stride 2
    out = explain.explain("Conv2d(1, 1, 3, stride=2)", (1, 1, 9, 8))
    assert "TensorFlow's 'SAME' would pad (1, 1, 0, 1)" in out and "5x4" in out


def test_explain_worked_example_and_safety():
    out = explain.explain("Conv2d(16, 32, (5, 3), stride=(2, 1), padding=(2, 1), "
                          "dilation=(1, 2))", (20, 16, 100, 50))
    # H: floor((100 + 2 + 2 - 1*4 - 1) / 2) + 1 = 49 + 1 = 50; W: floor(47 / 1) + 1 = 48
    assert "  H: floor((100 + 2 + 2 - 1*(5 - 1) - 1) / 2) + 1 = floor(99 / 2) + 1 = 49 + 1 = 50" \
        in out
    assert "-> output [20, 32, 50, 48]" in out
    # MACs 20*32*50*48*16*5*3 = 368,640,000; field: k_eff 5 and 2*(3-1)+1 = 5, jump 2x1
    assert "368,640,000; FLOPs = 2 x MACs = 737,280,000" in out
    assert "5x5 input pixels" in out and "2x1 pixels apart" in out
    for bad in ("__import__('os').system('true')", "Conv2d(3, 8, k)", "Linear(3, 4)",
                "Conv2d(3, 8, **{'kernel_size': 3})"):
        with pytest.raises(ValueError):
            explain.explain(bad, (1, 3, 8, 8))


# ----- errors that teach: PyTorch's line unchanged, our hint after it

def test_channels_last_hint():
    x, w = np.zeros((1, 28, 28, 3), np.float32), np.zeros((8, 3, 3, 3), np.float32)
    ours = raised(lambda: F.conv2d(tm.tensor(x), tm.tensor(w)))
    theirs = raised(lambda: torch_F.conv2d(torch.tensor(x), torch.tensor(w)))
    first, hint = str(ours).split("\n")
    assert first == str(theirs) and "x.permute(0, 3, 1, 2)" in hint
    # a plain mismatch gets no hint, nor does a map whose width happens to equal C (the
    # tutorial's input (2, 6, 5, 5) for 5 channels): C must also be smaller than H and W
    for shape in ((1, 4, 5, 5), (2, 6, 3, 3)):
        assert "\n" not in str(raised(lambda s=shape: F.conv2d(tm.zeros(*s), tm.tensor(w))))


def test_linear_width_hint():
    x = np.zeros((2, 3136), np.float32)
    ours = raised(lambda: nn.Linear(1600, 128)(tm.tensor(x)))
    theirs = raised(lambda: torch.nn.Linear(1600, 128)(torch.tensor(x)))
    first, hint = str(ours).split("\n")
    assert first == str(theirs)
    assert hint == ("Hint: the input has 3136 features per sample; "
                    "nn.Linear(in_features=3136, ...) would accept it")
    ours = raised(lambda: nn.Linear(3136, 128)(tm.zeros(2, 64, 7, 7)))
    theirs = raised(lambda: torch.nn.Linear(3136, 128)(torch.zeros(2, 64, 7, 7)))
    assert str(ours).split("\n")[0] == str(theirs)
    assert "x.flatten(1) gives 3136 features per sample" in str(ours)   # 64*7*7


def test_vgg_style_summary_golden():
    """conv3(3->8) conv3(8->8) pool2 conv3(8->16) pool2 on 32x32, every number by hand."""
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(2))
    s = summary.summary(net, (1, 3, 32, 32))
    convs = [r for r in s.rows if r.type == "Conv2d"]
    # params: 8*3*9 + 8 = 224; 8*8*9 + 8 = 584; 16*8*9 + 16 = 1,168
    assert [r.params for r in convs] == [224, 584, 1168] and s.total_params == 1976
    # MACs: 8*32*32*3*9 = 221,184; 8*32*32*8*9 = 589,824; 16*16*16*8*9 = 294,912
    assert [r.macs for r in convs] == [221_184, 589_824, 294_912]
    assert [r.output_shape for r in convs] == [[1, 8, 32, 32], [1, 8, 32, 32], [1, 16, 16, 16]]
    # RF: conv 3, conv 5, pool 6 (j 2), conv 6 + 2*2 = 10, pool 10 + 1*2 = 12 (j 4)
    spatial = [r for r in s.rows if r.type in ("Conv2d", "MaxPool2d")]
    assert [r.rf[0] for r in spatial] == [3, 5, 6, 10, 12]
    assert [r.jump[0] for r in spatial] == [1, 1, 2, 2, 4]


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convs plus a shortcut (a 1x1 conv when it downsamples)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 else None

    def forward(self, x):
        y = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (y + (x if self.down is None else self.down(x))).relu()


def test_resnet18_style_summary_golden():
    """ResNet-18's stem and first two stages (64 -> 128 with a 1x1/2 shortcut), on 64x64."""
    net = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                        nn.MaxPool2d(3, 2, 1), BasicBlock(64, 64, 1), BasicBlock(64, 128, 2))
    s = summary.summary(net, (1, 3, 64, 64))
    by = {r.name: r for r in s.rows}
    # params: stem 64*3*7*7 = 9,408; each bn 2*C; block1 2 * 64*64*9 = 73,728 + 2*128;
    # block2 128*64*9 + 128*128*9 + 128*64 = 73,728 + 147,456 + 8,192, bns 2*256
    assert by["0"].params == 9408 and by["1"].params == 128
    assert by["5.down"].params == 8192 and by["5.conv2"].params == 147_456
    assert s.total_params == 9408 + 128 + 73_728 + 256 + 73_728 + 147_456 + 8192 + 512
    # shapes: 64 -> 32 (stem /2) -> 16 (pool /2) -> 16 -> 8 (block2 /2)
    assert by["0"].output_shape == [1, 64, 32, 32] and by["3"].output_shape == [1, 64, 16, 16]
    assert by["5.conv2"].output_shape == [1, 128, 8, 8] == by["5.down"].output_shape
    # MACs: stem 64*32*32*3*49 = 9,633,792; block2 conv1 128*8*8*64*9 = 4,718,592
    assert by["0"].macs == 9_633_792 and by["5.conv1"].macs == 4_718_592
    # RF: stem 7 (j 2); pool 7 + 2*2 = 11 (j 4); block1 convs 11 + 2*4 = 19, 27;
    # block2 conv1 27 + 2*4 = 35 (j 8), conv2 35 + 2*8 = 51; the 1x1/2 shortcut sees 27 (j 8)
    assert [by[k].rf[0] for k in ("0", "3", "4.conv1", "4.conv2", "5.conv1", "5.conv2",
                                  "5.down")] == [7, 11, 19, 27, 35, 51, 27]
    assert by["5.conv2"].jump == (8, 8) == by["5.down"].jump
    # the whole model's field takes the max over the residual paths: 51
    assert receptive.receptive_field(net, (1, 3, 64, 64)).size == (51, 51)


# ----- bench: the table's plumbing, PyTorch timed in its own process

def test_bench_times_both_libraries(monkeypatch, capsys):
    from tatamikomi.tools import bench
    monkeypatch.setattr(bench, "SUITE", bench.SUITE[:2])            # the two tiny tutorial shapes
    rows = bench.cases(None)
    theirs = bench.torch_times(rows, 1)
    assert len(theirs) == 2 and all(len(t) == 2 and min(t) > 0 for t in theirs)
    args = argparse.Namespace(repeats=1, only=None, no_torch=False, memory=False)
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("tutorial ")]
    assert len(lines) == 2 and all(ln.split()[-1].replace(".", "").isdigit() for ln in lines)
    assert "overall" in out and "im2col" in lines[0]                 # the kernel the rules chose


def test_bench_children_load_torch_alone():
    """The PyTorch processes of both benchmarks run files by path that do not load tatamikomi."""
    import subprocess
    import sys
    from pathlib import Path

    from tatamikomi.tools import bench, models
    code = ("import runpy, sys; runpy.run_path(sys.argv[1]); runpy.run_path(sys.argv[2]); "
            "print(sorted(m for m in sys.modules if m.startswith('tatamikomi')))")
    here = Path(bench.__file__).parent
    out = subprocess.run([sys.executable, "-c", code, bench.__file__, models.__file__],
                         capture_output=True, text=True, check=True, cwd=here)
    assert out.stdout.strip() == "[]"


def test_kernels_benchmark_times_every_supporting_kernel_and_marks_the_rules_choice(
        monkeypatch, capsys):
    import argparse
    import importlib.util
    from pathlib import Path

    from tatamikomi import kernels
    from tatamikomi.tools import bench
    path = Path(__file__).parent.parent / "benchmarks" / "kernels.py"
    spec = importlib.util.spec_from_file_location("kernels_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(bench, "SUITE", bench.SUITE[:1])               # 1x4x5x5 -> 8, pad 1
    five_by_five = [r for r in mod.EVIDENCE["thin"] if r[0].startswith("5x5")]
    monkeypatch.setattr(mod, "EVIDENCE", {"thin": five_by_five})       # and one rule shape, 5x5
    args = argparse.Namespace(repeats=1, only=None, extra=True, kernels="im2col,blocked,fft",
                              write_rules=None)
    assert mod.main(args) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines()[1:]]
    names = [r[-5] for r in rows]                          # in --kernels order, per shape
    five = kernels.select(mod.specs(None, True)[1][1]).__name__.rsplit(".", 1)[1]
    assert five in ("blocked", "im2col")                  # blocked where AVX-512 is there
    assert names == ["im2col*", "blocked"] + [n + "*" * (n == five)
                                              for n in ("im2col", "blocked", "fft")]
    assert all(float(r[-1]) > 0 for r in rows)
