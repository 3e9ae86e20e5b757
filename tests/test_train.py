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


# ----- beyond MNIST: datasets, models, optimizers, schedules, workers, settings on resume

FASHION = Path(os.environ.get("TATAMIKOMI_FASHION_MNIST")
               or Path(__file__).resolve().parents[2] / "shared/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not (FASHION / "FashionMNIST").is_dir(),
                                   reason=f"Fashion-MNIST not found at {FASHION}")


@needs_fashion
def test_fashion_mnist_with_workers_and_augmentation_learns(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--dataset", "fashion-mnist", "--data", str(FASHION), "--out",
                     str(out), "--epochs", "1", "--limit-train", "3000", "--limit-test", "500",
                     "--augment", "--workers", "2", "--schedule", "cosine"]) == 0
    ckpt = load(out / "checkpoint.pt")
    assert ckpt["history"][-1]["test_acc"] > 60.0            # chance is 10%
    assert ckpt["settings"]["dataset"] == "fashion-mnist" and ckpt["settings"]["augment"]
    assert len(ckpt["batches"][0]) == 47                      # a point per batch: 3000 / 64
    assert ckpt["scheduler"]["last_epoch"] == 1
    assert "SimpleCNN on fashion-mnist" in capsys.readouterr().out


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    from test_datasets import cifar_files
    monkeypatch.setenv("TATAMIKOMI_CHECK_MD5", "0")           # the tiny batches are not CIFAR's
    files, _ = cifar_files(n_per_batch=8)
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return tmp_path / "data"


def test_cifar_resnet_sgd_onecycle_and_resume_with_its_settings(tiny_cifar, tmp_path, capsys):
    import torch
    out = tmp_path / "run"
    base = ["train", "--dataset", "cifar10", "--data", str(tiny_cifar), "--out", str(out),
            "--no-plots", "--batch-size", "16", "--test-batch-size", "4"]
    assert cli.main(base + ["--epochs", "1", "--model", "resnet18", "--optimizer", "sgd",
                            "--lr", "0.05", "--schedule", "onecycle", "--augment"]) == 0
    ckpt = load(out / "checkpoint.pt")
    assert ckpt["settings"] == dict(dataset="cifar10", model="resnet18", augment=True,
                                    optimizer="sgd", lr=0.05, weight_decay=0.0,
                                    schedule="onecycle", batch_size=16, seed=0)
    assert "fc.weight" in ckpt["model"] and len(ckpt["batches"][0]) == 3     # 40 / 16
    # onecycle steps per batch: the learning rate torch's OneCycleLR gives after 3 steps
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, epochs=1, steps_per_epoch=3)
    for _ in range(3):
        opt.step()
        sched.step()
    assert abs(ckpt["optimizer"]["param_groups"][0]["lr"] - opt.param_groups[0]["lr"]) < 1e-12
    capsys.readouterr()
    # --resume takes the model, optimizer and dataset from the checkpoint
    assert cli.main(["train", "--data", str(tiny_cifar), "--out", str(out), "--no-plots",
                     "--test-batch-size", "4", "--epochs", "1", "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().out
    code = cli.main(base + ["--epochs", "2", "--resume", "--model", "SimpleCNN"])
    err = capsys.readouterr().err
    assert code == 2 and "was trained with --model resnet18, not SimpleCNN" in err
    assert err.count("\n") == 1


def test_simple_cnn_on_cifar_is_a_one_line_user_error(tiny_cifar, tmp_path, capsys):
    code = cli.main(["train", "--dataset", "cifar10", "--data", str(tiny_cifar), "--out",
                     str(tmp_path / "run"), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 2 and "--model SimpleCNN takes 1x28x28 images" in err and "resnet18" in err
    code = cli.main(["train", "--dataset", "cifar10", "--data", str(tmp_path / "nowhere"),
                     "--out", str(tmp_path / "run"), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 2 and "no such folder" in err and err.count("\n") == 1


def test_model_file_and_per_batch_curves(tiny_cifar, tmp_path):
    model = tmp_path / "net.py"
    model.write_text("import tatamikomi.nn as nn\n\n\nclass Net(nn.Module):\n"
                     "    def __init__(self):\n        super().__init__()\n"
                     "        self.conv1 = nn.Conv2d(3, 4, 3)\n"
                     "        self.fc = nn.Linear(4 * 30 * 30, 10)\n\n"
                     "    def forward(self, x):\n"
                     "        return self.fc(self.conv1(x).flatten(1))\n")
    out = tmp_path / "run"
    assert cli.main(["train", "--dataset", "cifar10", "--data", str(tiny_cifar), "--out",
                     str(out), "--model", f"{model}:Net", "--epochs", "1", "--batch-size", "8",
                     "--optimizer", "adamw", "--schedule", "step"]) == 0
    assert len(load(out / "checkpoint.pt")["batches"][0]) == 5
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_of_a_checkpoint_with_numpy_random_state_is_one_line(tmp_path, capsys):
    import tatamikomi as tm
    out = tmp_path / "run"
    out.mkdir()
    old = dict(epoch=1, model={}, optimizer={}, history=[],
               rng={"bit_generator": "PCG64", "state": {"state": 1, "inc": 3}},
               loader_rng={"bit_generator": "PCG64", "state": {"state": 2, "inc": 5}})
    tm.save(old, out / "checkpoint.pt")
    assert cli.main(["train", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "random state was NumPy's" in err and err.count("\n") == 1


def image_folder(root, per_class):
    """root/{train,test}/{red,green,blue}/*.png: noisy images of one dominant colour, of
    sizes other than 32x32 (train resizes and centre-crops them)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in (("train", per_class), ("test", per_class // 2)):
        for k, name in enumerate(("red", "green", "blue")):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                h, w = rng.integers(30, 50, size=2)
                img = rng.integers(0, 120, size=(h, w, 3))
                img[..., k] += 120
                Image.fromarray(img.astype(np.uint8)).save(root / split / name / f"{i}.png")
    return root


def test_image_folder_trains_with_its_own_class_count(tmp_path, capsys):
    data = image_folder(tmp_path / "pics", per_class=8)
    out = tmp_path / "run"
    assert cli.main(["train", "--dataset", "folder", "--data", str(data), "--out", str(out),
                     "--model", "resnet18", "--epochs", "3", "--batch-size", "8",
                     "--test-batch-size", "6", "--augment", "--no-plots"]) == 0
    ckpt = load(out / "checkpoint.pt")
    assert ckpt["model"]["fc.weight"].shape == (3, 512)       # three class folders
    assert ckpt["settings"]["dataset"] == "folder" and len(ckpt["batches"][0]) == 3
    assert ckpt["history"][-1]["train_acc"] > 90.0            # the colours are learnt
    assert ckpt["history"][-1]["test_acc"] > 34.0             # chance is 33.3%
    assert "resnet18 on folder" in capsys.readouterr().out
