"""tatamikomi.onnx.export: every exported file passes onnx.checker (export runs it) and gives, in
onnxruntime, our forward's outputs (float32, 1e-4 relative to the largest value) - for the
chapter's SimpleCNN, one builder of each vision.models family, and a module per layer type."""
import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import tatamikomi as tm
import tatamikomi.nn.functional as F
from tatamikomi import nn
from tatamikomi import onnx as tx
from tatamikomi.tools.models import SimpleCNN
from tatamikomi.vision import models


def run(model, *xs, **kw):
    """(onnxruntime's outputs, ours) for model on xs, through an exported file."""
    buf = io.BytesIO()
    proto = tx.export(model, xs if len(xs) > 1 else xs[0], buf, **kw)
    assert proto.SerializeToString() == buf.getvalue()
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feed = {i.name: x.numpy() for i, x in zip(sess.get_inputs(), xs)}
    model.eval()
    ours = model(*xs)
    ours = ours if isinstance(ours, tuple) else (ours,)
    return sess.run(None, feed), [o.detach().numpy() for o in ours]


def assert_parity(model, *xs, **kw):
    theirs, ours = run(model, *xs, **kw)
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(np.abs(b).max(), 1e-30)
        assert np.abs(a - b).max() <= 1e-4 * scale, f"relative error {np.abs(a - b).max() / scale}"
        assert np.ptp(b) > 0 or b.size <= 1          # a constant output would prove little


def randn(*shape, seed=0):
    return tm.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_simple_cnn():
    assert_parity(SimpleCNN(), randn(2, 1, 28, 28))


FAMILIES = ["alexnet", "vgg11_bn", "resnet18", "resnext50_32x4d", "squeezenet1_0",
            "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
            "shufflenet_v2_x0_5", "densenet121", "googlenet", "efficientnet_b0"]


@pytest.mark.parametrize("name", FAMILIES)
def test_vision_models(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extra = {"init_weights": True, "transform_input": True} if name == "googlenet" else {}
        model = models.get_model(name, num_classes=10, **extra)
    # BatchNorm statistics off their initial 0/1, so the exported constants are exercised
    g = np.random.default_rng(1)
    for k, b in model.named_buffers():
        if k.endswith("running_mean"):
            b.copy_(tm.tensor(g.normal(0, 0.1, b.shape).astype(np.float32)))
        elif k.endswith("running_var"):
            b.copy_(tm.tensor(g.uniform(0.5, 1.5, b.shape).astype(np.float32)))
    assert_parity(model, randn(1, 3, 64, 64))


class Fn(nn.Module):
    """A module whose forward is a function (of the input and its parameters)."""

    def __init__(self, fn, *params):
        super().__init__()
        self.fn = fn
        self.ps = nn.ParameterList([nn.Parameter(p) for p in params])

    def forward(self, *x):
        return self.fn(*x, *self.ps)


LAYERS = {                 # built when their test runs
    "conv groups, dilation, stride, uneven same": lambda: nn.Sequential(
        nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, dilation=2),
        nn.Conv2d(6, 6, (2, 4), padding="same", bias=False)),
    "conv padding modes": lambda: nn.Sequential(
        nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
        nn.Conv2d(4, 4, 3, padding=2, padding_mode="replicate")),
    "conv1d": lambda: nn.Sequential(nn.Flatten(2), nn.Conv1d(4, 3, 3, stride=2, padding=1)),
    "conv transpose": lambda: nn.Sequential(nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                       output_padding=1),
                                    nn.ConvTranspose2d(3, 2, 4, groups=1, dilation=2)),
    "linear": lambda: nn.Sequential(nn.Flatten(2), nn.Linear(48, 5)),
    "matmul": lambda: Fn(lambda x, w: x.flatten(2) @ w, tm.randn(48, 3)),
    "max pool ceil": lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
    "avg pool ceil, no pad counted": lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                          count_include_pad=False),
    "avg pool": lambda: nn.AvgPool2d(3, 2, 1),
    "max pool dilated": lambda: nn.MaxPool2d(2, stride=1, dilation=2),
    "adaptive avg pool": lambda: Fn(lambda x: F.adaptive_avg_pool2d(x, (3, 5)).sum()
                            + F.adaptive_avg_pool2d(x, 1).sum()),
    "batch norm eval": lambda: nn.BatchNorm2d(4),
    "layer norm": lambda: nn.LayerNorm([6, 8]),
    "arithmetic with numbers": lambda: Fn(lambda x: (x * 2 - 1) / (x.abs() + 3) + 0.5 - x ** 2),
    "cat, split, chunk": lambda: Fn(lambda x: tm.cat([*x.chunk(2, 1), x[:, :1]], 1)),
    "reshape, flatten, permute": lambda: Fn(lambda x: x.flatten(1).view(x.shape[0], 8, -1)
                                    .permute(0, 2, 1).reshape(x.shape[0], -1)),
    "softmax, log_softmax": lambda: Fn(lambda x: F.softmax(x, 1) + F.log_softmax(x, -1)),
    "dropout in eval": lambda: nn.Sequential(nn.Dropout(0.5), nn.Dropout2d(0.3), nn.ReLU()),
    "clip family": lambda: Fn(lambda x: F.relu6(x * 4) + F.hardtanh(x, -0.5, 0.3) + x.clamp(min=0.1)
                      + x.clamp(-0.2, 0.2) + tm.maximum(x, -x) + tm.minimum(x, x * 2)),
    "hard and leaky": lambda: Fn(lambda x: F.hardswish(x * 4) + F.hardsigmoid(x * 4)
                         + F.leaky_relu(x, 0.2)),
    "smooth activations": lambda: Fn(lambda x: tm.sigmoid(x) + tm.tanh(x) + F.silu(x) + F.mish(x)
                             + F.softplus(x) + F.logsigmoid(x) + F.gelu(x)
                             + F.gelu(x, approximate="tanh")),
    "elu family": lambda: Fn(lambda x: F.elu(x, 0.7) + F.selu(x) + F.celu(x, 1.3)),
    "shrink and threshold": lambda: Fn(lambda x: F.hardshrink(x, 0.3) + F.softshrink(x, 0.2)
                               + F.threshold(x, 0.1, -2.0)),
    "prelu": lambda: nn.PReLU(4),
    "pad modes": lambda: Fn(lambda x: F.pad(x, (1, 2, 0, 1))
                            + F.pad(x, (1, 2, 0, 1), mode="reflect")
                            + F.pad(x, (1, 2, 0, 1), mode="replicate")),
    "interpolate": lambda: Fn(lambda x: F.interpolate(x, scale_factor=2).sum()
                      + F.interpolate(x, size=(5, 7), mode="bilinear").sum()
                      + F.interpolate(x, size=(9, 4), mode="bilinear", align_corners=True).sum()
                      + F.interpolate(x, scale_factor=1.5, mode="bicubic").sum()),
    "upsample modules": lambda: nn.Sequential(nn.Upsample(scale_factor=2), nn.UpsamplingBilinear2d(
        scale_factor=2)),
    "reductions": lambda: Fn(lambda x: x.mean((2, 3), keepdim=True) + x.sum(1, keepdim=True)
                     + x.mean(-1, keepdim=True) + x.sum()),
    "indexing": lambda: Fn(lambda x: x[:, 1:3, ::2, None, 2] * x[0, None, 1:3, -3:, 5:6]),
    "ellipsis": lambda: Fn(lambda x: x[..., 1, None] + x[1:, ...]),
    "index by array": lambda: Fn(lambda x: x[:, tm.tensor([3, 0, 0, 2])]),
    "expand": lambda: Fn(lambda x: x[:, :1].expand(-1, 4, -1, -1) + x),
    "global average": lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_types(name):
    tm.manual_seed(0)
    assert_parity(LAYERS[name](), randn(2, 4, 6, 8, seed=1))


def test_names_dynamic_batch_and_opsets():
    model = SimpleCNN()
    for opset in (13, 17, 18, 20):
        buf = io.BytesIO()
        proto = tx.export(model, randn(2, 1, 28, 28), buf, input_names=["images"],
                          output_names=["logits"], dynamic_axes={"images": {0: "batch"},
                                                                 "logits": [0]},
                          opset_version=opset)
        assert proto.opset_import[0].version == opset
        assert [i.name for i in proto.graph.input] == ["images"]
        assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
        assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == \
            "logits_dynamic_axes_1"
        names = {i.name for i in proto.graph.initializer}
        assert {"conv1.weight", "fc2.bias"} <= names
        sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
        x = randn(5, 1, 28, 28, seed=3)
        got = sess.run(None, {"images": x.numpy()})[0]
        np.testing.assert_allclose(got, model.eval()(x).detach().numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_writes_a_file_atomically_and_keeps_the_models_mode(tmp_path):
    model = SimpleCNN().train()
    tx.export(model, randn(1, 1, 28, 28), tmp_path / "m.onnx")
    assert model.training
    assert onnx.load(tmp_path / "m.onnx").graph.node
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_what_cannot_be_exported_says_so():
    with pytest.raises(tx.Unsupported, match="CumsumBackward0"):
        tx.export(Fn(lambda x: x.cumsum(1)), randn(2, 3), io.BytesIO())
    with pytest.raises(TypeError, match="floating point"):
        tx.export(nn.Identity(), tm.ones(2, dtype=tm.int64), io.BytesIO())
    with pytest.raises(ValueError, match="opset_version 9"):
        tx.export(nn.ReLU(), randn(2), io.BytesIO(), opset_version=9)
