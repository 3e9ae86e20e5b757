"""The tutorial chapter's SimpleCNN, built from any torch-shaped library (ours or PyTorch).

Nothing is imported at the top: benchmarks/mnist.py loads this file by path in a process that
must run PyTorch without tatamikomi loaded.
"""


def simple_cnn_class(nn, F):
    """The chapter's SimpleCNN class written against `nn` and `F` (tatamikomi's or torch's)."""

    class SimpleCNN(nn.Module):
        """conv(1->32) pool conv(32->64) pool fc(3136->128) dropout fc(128->10): 421,642 params.

        Shapes: (N, 1, 28, 28) -> (N, 10) logits.
        """

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
            self.fc1 = nn.Linear(64 * 7 * 7, 128)
            self.fc2 = nn.Linear(128, 10)
            self.pool = nn.MaxPool2d(2, 2)
            self.dropout = nn.Dropout(0.25)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))      # 28x28 -> 14x14
            x = self.pool(F.relu(self.conv2(x)))      # 14x14 -> 7x7
            x = x.view(-1, 64 * 7 * 7)
            x = F.relu(self.fc1(x))
            x = self.dropout(x)
            return self.fc2(x)

    return SimpleCNN


def __getattr__(name):
    """SimpleCNN, built from tatamikomi's nn on first use."""
    if name != "SimpleCNN":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import tatamikomi.nn as nn
    import tatamikomi.nn.functional as F
    globals()["SimpleCNN"] = cls = simple_cnn_class(nn, F)
    return cls
