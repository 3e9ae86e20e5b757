"""Run the tutorials' conv2d / nn.Conv2d examples and print what they print."""
from .. import nn, randn
from ..nn import functional as F


def add_arguments(p):
    pass


def main(args):
    print("F.conv2d (Qiita: functional and module)")
    for w_shape, x_shape in (((8, 4, 3, 3), (1, 4, 5, 5)), ((12, 5, 3, 3), (2, 5, 5, 5))):
        filters, inputs = randn(*w_shape), randn(*x_shape)
        outputs = F.conv2d(input=inputs, weight=filters, padding=1)
        print(f"  filters {filters.shape}  inputs {inputs.shape}  ->  outputs {outputs.shape}")
    try:
        F.conv2d(input=randn(2, 6, 5, 5), weight=randn(12, 5, 3, 3), padding=1)
    except RuntimeError as e:
        print(f"  RuntimeError: {e}")
    print("nn.Conv2d on randn(20, 16, 50, 100)")
    x = randn(20, 16, 50, 100)
    for conv in (nn.Conv2d(16, 32, 3), nn.Conv2d(16, 32, 3, padding=1),
                 nn.Conv2d(16, 32, 3, padding=1, stride=2)):
        print(f"  {conv!r:70s} -> {conv(x).shape}")
    print("nn.Conv2d with (5, 3) kernels and dilation on randn(20, 16, 100, 50)")
    x = randn(20, 16, 100, 50)
    for conv in (nn.Conv2d(16, 32, 3, padding=1, stride=2),
                 nn.Conv2d(16, 32, (5, 3), stride=(2, 1), padding=(2, 1)),
                 nn.Conv2d(16, 32, (5, 3), stride=(2, 1), padding=(2, 1), dilation=(1, 2)),
                 nn.Conv2d(16, 32, (5, 3), padding=(2, 1), dilation=(2, 2)),
                 nn.Conv2d(16, 32, (5, 3), padding=(2, 1), dilation=(3, 3))):
        print(f"  {conv!r:100s} -> {conv(x).shape}")
    conv = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=True)
    y = conv(randn(8, 3, 224, 224))
    n = sum(p.numel() for p in conv.parameters())
    print(f"chapter: {conv!r} on (8, 3, 224, 224) -> {y.shape}; {n:,} parameters")
    return 0
