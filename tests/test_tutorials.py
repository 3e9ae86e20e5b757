"""The seed tutorials' conv examples (shared/seeds), run via `import tatamikomi as torch`.

Each example is a function of the library modules (torch, nn, F) that returns what it prints;
it runs once with tatamikomi and once with PyTorch, and the outputs must agree (our Size
prints with our module's name, so that prefix is normalized first).
"""
import numpy as np
import pytest
import torch as real_torch
import torch.nn as real_nn
import torch.nn.functional as real_F
from helpers import to_numpy

import tatamikomi as tm
import tatamikomi.nn as tm_nn
import tatamikomi.nn.functional as tm_F

OURS = (tm, tm_nn, tm_F)
THEIRS = (real_torch, real_nn, real_F)


def normalized(text):
    return text.replace(f"{tm.__name__}.Size(", "torch.Size(")


def run_both(example):
    ours, theirs = example(*OURS), example(*THEIRS)
    assert normalized(ours) == theirs
    return theirs


def test_size_prints_with_our_name():
    assert str(tm.zeros(1, 8, 5, 5).shape) == f"{tm.__name__}.Size([1, 8, 5, 5])"


# Qiita: 実務でよく使うPyTorchの機能まとめ② (F.conv2d and nn.Conv2d)

def qiita_functional_1(torch, nn, F):
    filters = torch.randn(8, 4, 3, 3)
    inputs = torch.randn(1, 4, 5, 5)
    outputs = F.conv2d(input=inputs, weight=filters, padding=1)
    return "\n".join(str(t.shape) for t in (filters, inputs, outputs))


def qiita_functional_2(torch, nn, F):
    filters = torch.randn(12, 5, 3, 3)
    inputs = torch.randn(2, 5, 5, 5)
    outputs = F.conv2d(input=inputs, weight=filters, padding=1)
    return "\n".join(str(t.shape) for t in (filters, inputs, outputs))


def test_qiita_functional_shapes():
    assert run_both(qiita_functional_1) == (
        "torch.Size([8, 4, 3, 3])\ntorch.Size([1, 4, 5, 5])\ntorch.Size([1, 8, 5, 5])")
    assert run_both(qiita_functional_2) == (
        "torch.Size([12, 5, 3, 3])\ntorch.Size([2, 5, 5, 5])\ntorch.Size([2, 12, 5, 5])")


def qiita_channel_mismatch(torch, nn, F):
    filters = torch.randn(12, 5, 3, 3)
    inputs = torch.randn(2, 6, 5, 5)
    try:
        F.conv2d(input=inputs, weight=filters, padding=1)
    except RuntimeError as e:
        return f"RuntimeError: {e}"
    return "no error"


def test_qiita_channel_mismatch_message():
    assert run_both(qiita_channel_mismatch) == (
        "RuntimeError: Given groups=1, weight of size [12, 5, 3, 3], expected input[2, 6, 5, 5]"
        " to have 5 channels, but got 6 channels instead")


def qiita_module_1(torch, nn, F):
    conv1 = torch.nn.Conv2d(16, 32, 3)
    conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
    conv3 = torch.nn.Conv2d(16, 32, 3, padding=1, stride=2)
    input = torch.randn(20, 16, 50, 100)
    return "\n".join(str(conv(input).shape) for conv in (conv1, conv2, conv3))


def qiita_module_2(torch, nn, F):
    convs = [
        torch.nn.Conv2d(16, 32, 3, padding=1, stride=2),
        torch.nn.Conv2d(16, 32, (5, 3), stride=(2, 1), padding=(2, 1)),
        torch.nn.Conv2d(16, 32, (5, 3), stride=(2, 1), padding=(2, 1), dilation=(1, 2)),
        torch.nn.Conv2d(16, 32, (5, 3), padding=(2, 1), dilation=(2, 2)),
        torch.nn.Conv2d(16, 32, (5, 3), padding=(2, 1), dilation=(3, 3)),
    ]
    input = torch.randn(20, 16, 100, 50)
    return "\n".join(str(conv(input).shape) for conv in convs)


def test_qiita_module_shapes():
    with tm.no_grad(), real_torch.no_grad():  # the article's inputs are big; shapes only
        assert run_both(qiita_module_1) == (
            "torch.Size([20, 32, 48, 98])\ntorch.Size([20, 32, 50, 100])\n"
            "torch.Size([20, 32, 25, 50])")
        assert run_both(qiita_module_2) == (
            "torch.Size([20, 32, 50, 25])\ntorch.Size([20, 32, 50, 50])\n"
            "torch.Size([20, 32, 50, 48])\ntorch.Size([20, 32, 96, 48])\n"
            "torch.Size([20, 32, 92, 46])")


def test_qiita_module_shapes_with_autograd():
    """The same shapes with gradients on, on a smaller input (the article's formula)."""
    conv = tm_nn.Conv2d(4, 8, (5, 3), padding=(2, 1), dilation=(3, 3))
    y = conv(tm.randn(2, 4, 20, 10))
    assert tuple(y.shape) == (2, 8, 20 + 4 - 12, 10 + 2 - 6)
    y.sum().backward()
    assert tuple(conv.weight.grad.shape) == (8, 4, 5, 3)


# Chapter: CNNの基礎と畳み込み層

IMAGE = [[1, 2, 3, 0, 1], [4, 5, 6, 1, 2], [7, 8, 9, 2, 3], [1, 2, 3, 4, 5], [2, 3, 4, 5, 6]]
EDGE = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
CHAPTER_PRINTED = [[-13, -15, -12], [-8, -9, -6], [-5, -6, 0]]


def manual_convolution(image, kernel):
    """The chapter's own numpy loop (valid cross-correlation)."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def chapter_edge_detection(torch, nn, F):
    image = torch.tensor(np.array(IMAGE, dtype="float32")).reshape(1, 1, 5, 5)
    kernel = torch.tensor(np.array(EDGE, dtype="float32")).reshape(1, 1, 3, 3)
    return F.conv2d(image, kernel)[0, 0]


def test_chapter_edge_detection_matches_pytorch_not_the_printout():
    ours = to_numpy(chapter_edge_detection(*OURS))
    theirs = to_numpy(chapter_edge_detection(*THEIRS))
    assert ours.shape == (3, 3)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, manual_convolution(np.array(IMAGE), np.array(EDGE)))
    # The chapter printed -13 for position [0, 0], but its own product table sums to 0.
    assert ours[0, 0] == (np.array(IMAGE)[:3, :3] * np.array(EDGE)).sum() == 0
    assert not np.array_equal(ours, np.array(CHAPTER_PRINTED))


def chapter_output_sizes(torch, nn, F):
    lines = []
    for size, k, stride, padding in [(28, 3, 1, 0), (28, 3, 1, 1), (28, 5, 2, 2),
                                     (32, 3, 1, 1)]:
        conv = nn.Conv2d(1, 1, k, stride=stride, padding=padding)
        out = conv(torch.randn(1, 1, size, size))
        lines.append(f"{size} -> {out.shape[2]}x{out.shape[3]}")
    return "\n".join(lines)


def test_chapter_output_size_table():
    assert run_both(chapter_output_sizes) == "28 -> 26x26\n28 -> 28x28\n28 -> 14x14\n32 -> 32x32"


def chapter_conv_layer(torch, nn, F):
    input_image = torch.randn(1, 3, 28, 28)
    conv_layer = nn.Conv2d(in_channels=3, out_channels=16, kernel_size=3, padding=1)
    output = conv_layer(input_image)
    total = sum(p.numel() for p in conv_layer.parameters())
    return (f"入力サイズ: {input_image.shape}\n出力サイズ: {output.shape}\n"
            f"重み: {conv_layer.weight.numel():,}\nバイアス: {conv_layer.bias.numel()}\n"
            f"合計: {total:,}")


def test_chapter_conv2d_3_16_has_448_parameters():
    assert run_both(chapter_conv_layer) == (
        "入力サイズ: torch.Size([1, 3, 28, 28])\n出力サイズ: torch.Size([1, 16, 28, 28])\n"
        "重み: 432\nバイアス: 16\n合計: 448")


def chapter_conv2d_basics(torch, nn, F):
    conv = nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3, stride=1, padding=1,
                     bias=True)
    x = torch.randn(8, 3, 224, 224)
    output = conv(x)
    total_params = conv.weight.numel() + conv.bias.numel()
    return "\n".join([
        f"入力サイズ: {x.shape}",
        f" [バッチ, チャネル, 高さ, 幅] = [{x.shape[0]}, {x.shape[1]}, {x.shape[2]}, {x.shape[3]}]",
        f"出力サイズ: {output.shape}",
        f" [バッチ, チャネル, 高さ, 幅] = [{output.shape[0]}, {output.shape[1]}, "
        f"{output.shape[2]}, {output.shape[3]}]",
        f" 重みのサイズ: {conv.weight.shape}",
        f" バイアスのサイズ: {conv.bias.shape}",
        f"総パラメータ数: {total_params:,}",
        f" 計算式: (3 × 64 × 3 × 3) + 64 = {total_params:,}",
    ])


def test_chapter_conv2d_3_64_on_224_images():
    with tm.no_grad(), real_torch.no_grad():
        printed = run_both(chapter_conv2d_basics)
    assert printed == "\n".join([
        "入力サイズ: torch.Size([8, 3, 224, 224])",
        " [バッチ, チャネル, 高さ, 幅] = [8, 3, 224, 224]",
        "出力サイズ: torch.Size([8, 64, 224, 224])",
        " [バッチ, チャネル, 高さ, 幅] = [8, 64, 224, 224]",
        " 重みのサイズ: torch.Size([64, 3, 3, 3])",
        " バイアスのサイズ: torch.Size([64])",
        "総パラメータ数: 1,792",
        " 計算式: (3 × 64 × 3 × 3) + 64 = 1,792",
    ])


def chapter_relu(torch, nn, F):
    x_tensor = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    relu_layer = nn.ReLU()
    return f"入力: {x_tensor.numpy()}\nReLU: {relu_layer(x_tensor).numpy()}"


def test_chapter_relu():
    assert run_both(chapter_relu) == "入力: [-2. -1.  0.  1.  2.]\nReLU: [0. 0. 0. 1. 2.]"


def make_conv_block(nn):
    class ConvBlock(nn.Module):
        def __init__(self, in_channels, out_channels):
            super(ConvBlock, self).__init__()  # as the chapter writes it
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
            self.relu = nn.ReLU()

        def forward(self, x):
            x = self.conv(x)
            x = self.relu(x)
            return x

    return ConvBlock


def chapter_conv_block(torch, nn, F):
    block = make_conv_block(nn)(3, 64)
    x = torch.randn(1, 3, 224, 224)
    output = block(x)
    assert output.detach().numpy().min() >= 0.0  # ReLU output
    names = [n for n, _ in block.named_parameters()]
    return f"入力サイズ: {x.shape}\n出力サイズ: {output.shape}\n{names}\n{block!r}"


def test_chapter_conv_block():
    assert run_both(chapter_conv_block) == (
        "入力サイズ: torch.Size([1, 3, 224, 224])\n出力サイズ: torch.Size([1, 64, 224, 224])\n"
        "['conv.weight', 'conv.bias']\n"
        "ConvBlock(\n"
        "  (conv): Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (relu): ReLU()\n"
        ")")


def test_chapter_conv_block_values_match_torch():
    """Same weights, same input: the block's output and gradients agree with PyTorch."""
    ours, theirs = make_conv_block(tm_nn)(3, 4), make_conv_block(real_nn)(3, 4)
    state = {k: tm.tensor(to_numpy(v)) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype("float32")
    y, ty = ours(tm.tensor(x)), theirs(real_torch.tensor(x))
    np.testing.assert_allclose(to_numpy(y), to_numpy(ty), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(to_numpy(ours.conv.weight.grad),
                               to_numpy(theirs.conv.weight.grad), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name,args", [("conv1", (1, 32)), ("conv2", (32, 64))])
def test_chapter_simple_cnn_conv_reprs(name, args):
    line = f"{tm_nn.Conv2d(*args, kernel_size=3, padding=1)!r}"
    assert line == f"{real_nn.Conv2d(*args, kernel_size=3, padding=1)!r}"
    expected = "Conv2d({}, {}, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert line == expected.format(*args)


def chapter_filter_visualization(torch, nn, F):
    conv_layer = nn.Conv2d(1, 8, kernel_size=3, padding=1)
    filters = conv_layer.weight.data.cpu().numpy()
    return f"{type(filters).__name__} {filters.shape} {filters[0, 0].shape}"


def test_chapter_filter_visualization_arrays():
    assert run_both(chapter_filter_visualization) == "ndarray (8, 1, 3, 3) (3, 3)"
