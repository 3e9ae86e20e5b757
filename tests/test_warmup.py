"""`python -m tatamikomi warmup`: after it, the programs it stands for compile nothing."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What a first program runs: the chapter's training step and inference, a conv of each common
# kind through nn, pools and batch norm. After warmup none of it may compile (Numba's cache is
# the one the test run uses, so a warm cache makes this quick).
PROGRAM = """
import tatamikomi as torch, tatamikomi.nn as nn, tatamikomi.nn.functional as F
from tatamikomi.tools.models import SimpleCNN
torch.manual_seed(1)
model = SimpleCNN()
opt = torch.optim.Adam(model.parameters())
x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
F.cross_entropy(model(x), y).backward()
opt.step()
with torch.no_grad():
    model.eval()(x[:1])
net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU6(),
                    nn.AdaptiveAvgPool2d(1))
net(torch.randn(8, 3, 32, 32)).sum().backward()
"""


def run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, text=True, capture_output=True,
                          timeout=1200)


def test_warmup_compiles_what_a_first_program_needs():
    first, again = run("-m", "tatamikomi", "warmup"), run("-m", "tatamikomi", "warmup")
    assert first.returncode == 0 and again.returncode == 0, first.stderr[-3000:]
    assert first.stdout.startswith("Compiling tatamikomi's kernels for this CPU (")
    assert "float32 conv kernels:" in first.stdout
    assert again.stdout.splitlines()[-1].startswith("Every kernel was in the cache already")
    program = run("-c", PROGRAM)
    assert program.returncode == 0, program.stderr[-3000:]
    assert program.stderr == ""                 # no "compiling kernels ... once" line
