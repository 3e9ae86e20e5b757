"""`train --nproc N` (tools/train_ddp.py): 2 ranks on a tiny MNIST, resumed on 1; Ctrl-C;
no MPI."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tatamikomi as tm
from tatamikomi import cli
from tatamikomi.distributed import _mpi
from tatamikomi.tools import train, train_ddp

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


def tiny_mnist(folder, n_train=192, n_test=50):
    """IDX files of learnable noise: each label is the brightest of ten image bands."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for (images, labels), n in ((NAMES[:2], n_train), (NAMES[2:], n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = x[:, :20].reshape(n, 10, -1).mean(2).argmax(1).astype(np.uint8)
        for name, a in ((images, x), (labels, y)):
            header = bytes([0, 0, 0x08, a.ndim]) + np.array(a.shape, ">u4").tobytes()
            (folder / name).write_bytes(header + a.tobytes())
    return folder


def train_cmd(data, out, *extra):
    return [sys.executable, "-m", "tatamikomi", "train", "--data", str(data), "--out",
            str(out), "--no-plots", "--batch-size", "32", *extra]


ENV = dict(os.environ, TATAMIKOMI_CHECK_MD5="0")


def test_two_ranks_train_rank_0_saves_and_one_process_resumes(tmp_path, capsys):
    data, out = tiny_mnist(tmp_path / "mnist"), tmp_path / "run"
    proc = subprocess.run(train_cmd(data, out, "--nproc", "2", "--epochs", "1"), cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "on 2 ranks, 16 per rank a step" in proc.stdout
    assert sum(line.split()[:1] == ["1"] for line in proc.stdout.splitlines()) == 1  # rank 0's
    ckpt = tm.load(out / "checkpoint.pt")
    assert ckpt["epoch"] == 1 and not any(k.startswith("module.") for k in ckpt["model"])
    # the same run, resumed for a second epoch in one process (another world size)
    os.environ["TATAMIKOMI_CHECK_MD5"] = "0"
    try:
        args = [a for a in train_cmd(data, out, "--resume", "--epochs", "2")[3:]
                if a not in ("--batch-size", "32")]
        assert cli.main(args) == 0
    finally:
        del os.environ["TATAMIKOMI_CHECK_MD5"]
    assert tm.load(out / "checkpoint.pt")["epoch"] == 2
    assert "resumed from" in capsys.readouterr().out


def test_command_line_is_rebuilt_without_nproc():
    p = train_ddp.argparse.ArgumentParser()
    train.add_arguments(p)
    args = p.parse_args(["--epochs", "2", "--resume", "--lr", "0.01", "--nproc", "3"])
    again = train_ddp.command_line(args)
    assert "--nproc" not in again and vars(p.parse_args(again)) == dict(vars(args), nproc=1)


def test_ctrl_c_stops_the_ranks_and_keeps_the_last_checkpoint(tmp_path):
    data, out = tiny_mnist(tmp_path / "mnist", n_train=640), tmp_path / "run"
    proc = subprocess.Popen(train_cmd(data, out, "--nproc", "2", "--epochs", "100"), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 90
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted:" in stderr and "continue with --resume" in stderr
    assert tm.load(out / "checkpoint.pt")["epoch"] >= 1


def test_nproc_is_documented_and_needs_mpi(tmp_path, monkeypatch, capsys):
    help_text = cli.build_parser().verbs["train"][1].format_help()
    assert "--nproc NPROC" in help_text and "(default: 1)" in help_text.split("--nproc")[-1]
    monkeypatch.setattr(_mpi, "available", lambda: False)       # as without mpi4py
    argv = ["train", "--nproc", "2", "--out", str(tmp_path), "--no-plots"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not (tmp_path / "checkpoint.pt").exists()
    assert err.startswith("tatamikomi train: error: --nproc 2: training on 2 processes needs "
                          "mpi4py and mpiexec: pip install mpi4py mpich")
    args = cli.build_parser().parse_args(argv)
    with pytest.raises(cli.UserError, match="train.main trains in one process"):
        train.main(args)                     # never N copies of one process's training
