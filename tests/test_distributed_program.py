"""examples/ddp.py, a PyTorch DDP program written the usual way, run unchanged under our
launcher; the same text with `torch` for `tatamikomi`, run under torchrun, is the oracle."""
import platform
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ddp.py"


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, (cmd[2], proc.returncode, proc.stdout + proc.stderr)
    return [line for line in proc.stdout.splitlines() if line.startswith("epoch")]


def test_the_ddp_example_trains_as_pytorch_does_under_torchrun(tmp_path):
    theirs_py = tmp_path / "ddp_torch.py"
    theirs_py.write_text(EXAMPLE.read_text().replace("tatamikomi", "torch"))
    args = ["--nproc-per-node", "2"]
    ours = run([sys.executable, "-m", "tatamikomi.distributed.run", *args, str(EXAMPLE),
                "--double", "--out", str(tmp_path / "ours.pt")])
    theirs = run([sys.executable, "-m", "torch.distributed.run", *args, str(theirs_py),
                  "--double", "--out", str(tmp_path / "theirs.pt")])
    assert ours == theirs and len(ours) == 2, (ours, theirs)
    a, b = torch.load(tmp_path / "ours.pt"), torch.load(tmp_path / "theirs.pt")
    assert list(a) == list(b)
    for k in b:
        torch.testing.assert_close(a[k], b[k], rtol=1e-10, atol=1e-12)


def test_a_module_runs_on_every_rank():
    proc = subprocess.run([sys.executable, "-m", "tatamikomi.distributed.run",
                           "--nproc_per_node=2", "-m", "platform"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    # mpiexec forwards each rank's output in pieces, so two ranks' lines may interleave
    assert proc.stdout.count(platform.platform()) == 2, proc.stdout
