"""The main job end to end: `tatamikomi train` on a real-MNIST subset must clearly learn."""
import os
from pathlib import Path

import pytest

from tatamikomi import cli, load

MNIST = Path(os.environ.get("TATAMIKOMI_MNIST_RAW",
                            Path(__file__).resolve().parents[2] / "shared/datasets/mnist"))
needs_mnist = pytest.mark.skipif(not (MNIST / "train-images-idx3-ubyte").exists(),
                                 reason=f"real MNIST not found at {MNIST}")


@needs_mnist
def test_train_subset_learns_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--data", str(MNIST), "--out", str(out), "--epochs", "1",
            "--limit-train", "6000", "--limit-test", "2000", "--seed", "0"]
    assert cli.main(args) == 0
    ckpt = load(out / "checkpoint.pt")
    assert ckpt["epoch"] == 1
    # 94 Adam steps on 6,000 digits: the chapter's CNN is far past chance (10%) on unseen ones
    assert ckpt["history"][-1]["test_acc"] > 90.0
    for png in ("curves.png", "filters.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    text = capsys.readouterr().out
    assert "421,642 parameters" in text and "6,000 train / 2,000 test" in text
    # --resume continues after the saved epoch instead of starting over
    assert cli.main(args[:6] + ["2"] + args[7:] + ["--resume", "--no-plots"]) == 0
    ckpt = load(out / "checkpoint.pt")
    assert [h["epoch"] for h in ckpt["history"]] == [1, 2]
    assert ckpt["history"][1]["test_acc"] > ckpt["history"][0]["test_acc"] - 1.0
    assert "resumed from" in capsys.readouterr().out


def test_resume_without_checkpoint_says_so(tmp_path, capsys):
    assert cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                     "--resume"]) == 2
    assert capsys.readouterr().err.startswith("tatamikomi train: error: --resume: no checkpoint")


@needs_mnist
def test_ctrl_c_keeps_the_last_complete_checkpoint(tmp_path, monkeypatch):
    from tatamikomi.tools import train
    out = tmp_path / "run"
    args = ["train", "--data", str(MNIST), "--out", str(out), "--epochs", "3",
            "--limit-train", "640", "--limit-test", "200", "--no-plots"]
    real, calls = train.train_epoch, []

    def interrupted_in_epoch_two(*a):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(train, "train_epoch", interrupted_in_epoch_two)
    assert cli.main(args) == 130
    assert load(out / "checkpoint.pt")["epoch"] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]
