"""The tools on vision.models: summary totals (parameters as documented, MACs as the reference
architecture performs them), receptive fields through residual, concatenated, shuffled and
squeeze-and-excitation branches, explain on a layer inside a model, the drawings, and the
command line's module:builder targets."""
import numpy as np
import pytest
import torch
from test_models import (
    DOCUMENTED_PARAMS,
    meta_reference,
    no_init,
    one_torch_thread,  # noqa: F401 - autouse: PyTorch on one thread
    quiet_build,
)

import tatamikomi as tm
import tatamikomi.nn as nn
from tatamikomi import cli
from tatamikomi.tools import draw, receptive, receptive_field, summary
from tatamikomi.vision import models
from tatamikomi.vision.ops import SqueezeExcitation


def run(argv, capsys):
    """cli.main(argv): (exit code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def cheap(name, **kwargs):
    with no_init():
        return quiet_build(name, **kwargs)


# one builder per family, and the variants whose layers differ (grouped 3x3, Fire 1_1)
SUMMARIZED = ["alexnet", "vgg11_bn", "resnet18", "resnext50_32x4d", "squeezenet1_0",
              "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x0_5",
              "densenet121", "googlenet", "efficientnet_b0"]


@pytest.mark.parametrize("name", SUMMARIZED)
def test_summary_totals_of_each_family(name):
    # the documented GoogLeNet count is the model without its aux heads (summary runs in
    # eval mode, where the heads are not called anyway)
    model = cheap(name, **({"aux_logits": False} if name == "googlenet" else {}))
    table = summary(model, (1, 3, 64, 64))
    assert table.total_params == DOCUMENTED_PARAMS[name]
    _, macs = meta_reference(name, 64, training=False)     # the reference ran a batch of 2
    assert table.total_macs == macs // 2
    convs = [r for r in table.rows if r.type == "Conv2d"]
    assert convs and all(r.macs > 0 and r.kernel for r in convs)
    assert "Params outside" not in str(table)


def test_conv_followed_by_inplace_relu_keeps_its_macs_and_kernel():
    # ReLU(inplace=True) rebinds the conv's output tensor to the ReLU's node; the summary must
    # still find the conv: O*OH*OW*C*KH*KW = 4*6*6*3*9
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
    rows = summary(model, (1, 3, 8, 8)).rows
    assert rows[0].macs == 4 * 6 * 6 * 3 * 9 and rows[0].kernel
    assert rows[0].rf == rows[1].rf == (3, 3)


def test_resnet18_at_224_matches_the_documented_count_and_a_hand_count(capsys):
    code, out, err = run(["summary", "tatamikomi.vision.models:resnet18", "--input",
                          "1,3,224,224"], capsys)
    assert code == 0, err
    # stem 64*112*112*3*49; layer1: 4 convs 64*56*56*64*9; layers 2-4 each: a strided conv
    # from C/2, three convs at C, a 1x1 stride-2 shortcut; fc 512*1000
    stem = 64 * 112 * 112 * 3 * 49
    layer1 = 4 * 64 * 56 * 56 * 64 * 9
    later = sum(c * s * s * (c // 2) * 9 + 3 * c * s * s * c * 9 + c * s * s * (c // 2)
                for c, s in ((128, 28), (256, 14), (512, 7)))
    macs = stem + layer1 + later + 512 * 1000
    assert f"Total MACs: {macs:,}\n" in out and f"Total params: {11_689_512:,}\n" in out
    assert round(macs / 1e9, 2) == 1.81        # torchvision's documented GFLOPS (= GMACs)


def test_target_names_a_builder_or_says_what_there_is(capsys):
    code, out, _ = run(["summary", "tatamikomi.vision.models:squeezenet1_1", "--input",
                        "1,3,32,32"], capsys)
    assert code == 0 and f"Total params: {1_235_496:,}" in out
    code, _, err = run(["summary", "tatamikomi.vision.models:resnet9", "--input", "1,3,8,8"],
                       capsys)
    assert code == 2 and "has no class 'resnet9'" in err and "resnet18" in err
    code, _, err = run(["summary", "tatamikomi.vision.models:list_models", "--input",
                        "1,3,8,8"], capsys)
    assert code == 2 and "returned a list, not an nn.Module" in err


# ----- receptive fields

def test_resnet18_field_by_hand():
    # 7x7/2 stem: 7 (jump 2); 3x3/2 pool: 11 (j 4); layer1's four 3x3: 19, 27, 35, 43;
    # each later stage: its strided conv adds 2j, then j doubles and three convs add 2j each:
    # 43 + 8 + 3*16 = 99 (j 8), 99 + 16 + 3*32 = 211 (j 16), 211 + 32 + 3*64 = 435 (j 32)
    rf = receptive_field(cheap("resnet18"), (1, 3, 224, 224))
    assert (rf.size, rf.jump, rf.flattened, rf.whole) == ((435, 435), (32, 32), True, False)


class Squeezed(nn.Module):
    """conv, squeeze-and-excitation, conv: the gate carries the whole map's mean."""

    def __init__(self):
        super().__init__()
        self.a, self.se, self.b = nn.Conv2d(1, 2, 3, padding=1), SqueezeExcitation(2, 1), \
            nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, x):
        return self.b(self.se(self.a(x)))


def test_squeeze_and_excitation_reaches_every_pixel():
    rf = receptive_field(Squeezed(), (1, 1, 16, 16))
    assert rf.whole and (rf.size, rf.jump) == ((5, 5), (1, 1))   # the local path: 3 + 2
    extent, _, _ = gradient_extent(Squeezed(), (1, 1, 16, 16))
    assert extent == (16, 16)                                     # the gradient: everywhere
    for name in ("mobilenet_v3_small", "efficientnet_b0"):
        assert receptive_field(cheap(name), (1, 3, 64, 64)).whole
    row = {r.name: r for r in summary(cheap("mobilenet_v3_small"), (1, 3, 64, 64)).rows}
    assert row["features.1.block.2.0"].whole and not row["features.1.block.0.0"].whole


def gradient_extent(model, size):
    """Extent and centre of the input pixels that the central output unit, over all its
    channels (a concatenation gives each channel its own field), depends on, by backprop.

    Weights 0.1, biases 0 and an input of ones: no contribution can cancel.
    """
    with tm.no_grad():
        for name, p in model.named_parameters():
            p.fill_(0.0 if name.endswith("bias") else 0.1)
    x = tm.ones(*size, requires_grad=True)
    y = model(x)
    u = (y.shape[2] // 2, y.shape[3] // 2)
    g = np.zeros(y.shape, np.float32)
    g[0, :, u[0], u[1]] = 1
    y.backward(tm.tensor(g))
    hit = np.nonzero(x.grad.numpy()[0].sum(axis=0))
    lo, hi = [int(a.min()) for a in hit], [int(a.max()) for a in hit]
    return (tuple(h - low + 1 for low, h in zip(lo, hi)),
            tuple((low + h) / 2 for low, h in zip(lo, hi)), u)


def assert_field_matches_gradient(model, size):
    rf = receptive_field(model, size)
    extent, centre, u = gradient_extent(model, size)
    assert all(r < n for r, n in zip(rf.size, size[2:])), "the field must fit in the input"
    assert (extent, centre) == (rf.size, tuple(s + i * j for s, i, j in
                                               zip(rf.start, u, rf.jump)))


class Branches(nn.Module):
    """A conv, then one unit of a family: the gradient oracle needs a conv in front."""

    def __init__(self, unit, channels):
        super().__init__()
        self.stem, self.unit = nn.Conv2d(1, channels, 3, padding=1), unit

    def forward(self, x):
        return self.unit(self.stem(x))


@pytest.mark.parametrize("unit,channels", [
    (lambda: models.squeezenet.Fire(4, 2, 3, 3), 4),                       # concat
    (lambda: models.shufflenetv2.InvertedResidual(4, 8, 2), 4),            # stride-2 split
    (lambda: models.shufflenetv2.InvertedResidual(8, 8, 1), 8),            # chunk + shuffle
    (lambda: models.resnet.BasicBlock(4, 4), 4),                           # residual
    (lambda: models.densenet._DenseBlock(2, 4, 2, 2, 0.0), 4),             # dense concat
], ids=["fire", "shuffle_s2", "shuffle_s1", "basic_block", "dense_block"])
def test_fields_of_family_units_match_the_gradient(unit, channels):
    model = Branches(unit(), channels).eval()
    assert_field_matches_gradient(model, (1, 1, 24, 24))


# ----- explain and the drawings

def test_explain_a_depthwise_layer_inside_a_model(capsys):
    code, out, err = run(["explain", "tatamikomi.vision.models:mobilenet_v2", "--layer",
                          "features.2.conv.1.0", "--input", "1,3,224,224"], capsys)
    assert code == 0, err
    # features.2's depthwise conv gets 96 = 16*6 channels at 112x112 (the stem halves 224)
    ours = dict(models.mobilenet_v2().named_modules())["features.2.conv.1.0"]
    y = torch.nn.functional.conv2d(torch.zeros(1, 96, 112, 112), torch.zeros(96, 1, 3, 3),
                                   stride=ours.stride, padding=ours.padding, groups=96)
    assert f"input [1, 96, 112, 112] -> output {list(y.shape)}" in out
    assert f"= {96 * y.shape[2] * y.shape[3] * 3 * 3:,}; FLOPs" in out
    # in the model: stem 3x3/2 (3, j 2), features.1's depthwise 3x3 (7), then the 1x1 expand
    # and this 3x3/2: 7 + 2*2 = 11, jump 4
    assert "In the model's input: receptive field 11x11, jump 4x4" in out
    code, _, err = run(["explain", "tatamikomi.vision.models:mobilenet_v2", "--layer",
                        "features.2.conv.1.1", "--input", "1,3,32,32"], capsys)
    assert code == 2 and "no Conv2d, MaxPool2d or AvgPool2d named" in err
    assert "features.2.conv.1.0" in err
    code, _, err = run(["explain", "tatamikomi.vision.models:mobilenet_v2", "--input",
                        "1,3,32,32"], capsys)
    assert code == 2 and "--layer NAME" in err


def test_feature_drawing_of_a_deep_model_spreads_its_layers(tmp_path, capsys):
    model = cheap("resnet18")
    names = [n for n, m in model.named_modules()
             if isinstance(m, (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d,
                               nn.AdaptiveAvgPool2d))]
    picked = draw._spread_layers(model, 4)
    assert picked[0] == names[0] and picked[-1] == names[-1] and len(set(picked)) == 4
    out = tmp_path / "maps.png"
    code, text, err = run(["draw", "features", "tatamikomi.vision.models:resnet18", "--input",
                           "1,3,32,32", "--max-layers", "2", "--max-maps", "2", "--out",
                           str(out)], capsys)
    assert code == 0, err
    assert f"drawing 2 of the {len(names)} conv/ReLU/pool layers" in text and out.stat().st_size
    code, _, err = run(["draw", "filters", "tatamikomi.vision.models:mobilenet_v2", "--layer",
                        "features.1.conv.0.0", "--out", str(tmp_path / "dw.png")], capsys)
    assert code == 0, err                                  # depthwise: one input channel each


def test_summary_rows_of_a_model_called_with_tuple_outputs_in_training():
    # summary runs in eval mode: GoogLeNet returns a plain tensor there and its aux heads
    # (not called) show as parameters outside the listed layers
    model = cheap("googlenet")
    model.train()
    table = summary(model, (1, 3, 64, 64))
    assert model.training                                 # the mode comes back
    aux = sum(p.numel() for k, p in model.named_parameters() if k.startswith("aux"))
    assert f"Params outside the listed layers (unused or held by containers): {aux:,}" in \
        str(table)
    assert not any(r.name.startswith("aux") for r in table.rows)
    assert isinstance(receptive.forward(model, (1, 3, 64, 64))[1], tm.Tensor)
    assert np.isfinite(table.total_macs)


@pytest.mark.parametrize("layer", [
    lambda: nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1),               # DCGAN's
    lambda: nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1),
    lambda: nn.ConvTranspose2d(4, 4, 3, stride=3, padding=2, dilation=2),
    lambda: nn.ConvTranspose2d(4, 4, (5, 2), stride=(1, 2)),
], ids=["4x4_s2_p1", "3x3_s2_op1", "dilated_s3", "5x2_s(1,2)"])
def test_fields_of_transposed_convs_match_the_gradient(layer):
    up = layer()
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), up).eval()
    rf = receptive_field(model, (1, 1, 9, 9))
    extent, centre, u = gradient_extent(model, (1, 1, 9, 9))
    assert extent == rf.size
    # the windows of neighbouring output units step by j/s only on average: with stride s they
    # alternate around start + u*jump by at most (s - 1)/(2s) input units
    for c, s0, i, j, s in zip(centre, rf.start, u, rf.jump, up.stride):
        assert abs(c - (s0 + i * j)) <= (s - 1) / (2 * s) + 1e-12


def test_summary_counts_transposed_and_1d_convs_and_fields_cross_1d_pools():
    gen = nn.Sequential(nn.ConvTranspose2d(100, 64, 4, 1, 0), nn.ReLU(),
                        nn.ConvTranspose2d(64, 3, 4, 2, 1))
    rows = summary(gen, (2, 100, 1, 1)).rows
    # a transposed conv does its conv's grad_input: N*C*H*W*(O/groups)*KH*KW multiply-adds
    assert [r.macs for r in rows] == [2 * 100 * 1 * 1 * 64 * 16, 0, 2 * 64 * 4 * 4 * 3 * 16]
    net = nn.Sequential(nn.Conv1d(1, 8, 5, stride=2), nn.ReLU(), nn.MaxPool1d(2),
                        nn.Conv1d(8, 8, 3))
    rows = summary(net, (2, 1, 64)).rows
    assert [r.macs for r in rows] == [2 * 8 * 30 * 5, 0, 0, 2 * 8 * 13 * 8 * 3]
    # widths by hand: 5 (jump 2), pool 2/2: 5 + 2 = 7 (jump 4), 3 taps: 7 + 2*4 = 15
    assert [r.rf for r in rows] == [(1, 5), (1, 5), (1, 7), (1, 15)]
