"""`python -m tatamikomi`: every --help, one clear line for every user error, safe file loading.

A user error must exit 2 with `tatamikomi VERB: error: ...` naming the file or option, and no
traceback. Hostile files are planted where the CLI reads them; a marker file shows whether the
pickle's code ran.
"""
import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tatamikomi as tm
from tatamikomi import cli
from tatamikomi.tools.models import SimpleCNN

REPO = Path(__file__).resolve().parents[1]
MNIST = Path(os.environ.get("TATAMIKOMI_MNIST_RAW", REPO.parent / "shared/datasets/mnist"))


def run(argv, capsys):
    """cli.main(argv): (exit code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as e:                    # argparse's own exits (--help, bad values)
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_user_error(argv, capsys, *expected):
    code, _, err = run(argv, capsys)
    assert code == 2, err
    assert err.splitlines()[-1].startswith(f"tatamikomi {argv[0]}: error: ") or \
        f"\ntatamikomi {argv[0]}: error: " in f"\n{err}", err
    assert "Traceback" not in err
    for text in expected:
        assert str(text) in err, (text, err)
    return err


# ----- --help

def verb_paths():
    """Every verb and sub-verb, found by walking the parser main uses."""
    paths = []

    def walk(parser, path):
        paths.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, path + [name])

    walk(cli.build_parser(), [])
    return paths


PATHS = verb_paths()


def test_every_verb_and_sub_verb_is_found():
    assert {tuple(p) for p in PATHS} >= {(), ("train",), ("bench",), ("draw",),
                                         ("draw", "slide"), ("draw", "features")}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "(top)")
def test_help_works(path, capsys):
    code, out, err = run(path + ["--help"], capsys)
    assert code == 0 and out.startswith("usage: tatamikomi") and not err


def test_help_from_the_shell():
    # the reported crash: bench's docstring has a % that argparse read as a format
    done = subprocess.run([sys.executable, "-m", "tatamikomi", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "% of sgemm peak" in done.stdout, done.stderr


def test_every_train_option_says_what_it_does_and_its_default():
    parser = argparse.ArgumentParser()
    from tatamikomi.tools import train
    train.add_arguments(parser)
    options = [a for a in parser._actions if a.option_strings != ["-h", "--help"]]
    assert len(options) >= 11                   # the chapter's 11, and the data issue's added ones
    for a in options:
        assert a.help and "(default: " in a.help, a.option_strings
    text = parser.format_help()
    assert "(default: 64)" in text and "(default: 0.001)" in text


# ----- user errors: one line naming the file, exit 2

def test_train_without_data_says_what_to_do_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_DATA", raising=False)
    missing = tmp_path / "nonexistent"
    err = assert_user_error(["train", "--data", str(missing), "--epochs", "1", "--out",
                             str(tmp_path / "out")], capsys,
                            f"--data {missing}", "--data DIR", "TATAMIKOMI_DATA", "download")
    assert "download=True" not in err
    (tmp_path / "empty").mkdir()
    assert_user_error(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o")],
                      capsys, "the MNIST files are not there", "train-images-idx3-ubyte")
    monkeypatch.setenv("TATAMIKOMI_DATA", str(missing))
    assert_user_error(["train", "--out", str(tmp_path / "o")], capsys,
                      f"$TATAMIKOMI_DATA={missing}")


def test_the_reported_traceback_is_one_line_now(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tatamikomi", "train", "--data",
                           str(tmp_path / "nonexistent"), "--epochs", "1", "--out",
                           str(tmp_path / "o")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("tatamikomi train: error: --data ")


def test_corrupt_data_names_the_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_DATA", raising=False)
    data = tmp_path / "mnist"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (data / name).write_bytes(b"\0\0\x08\x09" + bytes(12))
    assert_user_error(["train", "--data", str(data), "--out", str(tmp_path / "o")], capsys,
                      f"{data / 'train-images-idx3-ubyte'}: bad IDX magic number")


def test_damaged_mnist_files_stop_train_naming_the_file(tmp_path, capsys, monkeypatch):
    """A flipped pixel trained silently (exit 0) and a label of 200 died mid-epoch in an
    IndexError naming no file; both now stop before training, naming the file, and
    TATAMIKOMI_CHECK_MD5=0 trains on data changed on purpose."""
    import hashlib

    from test_mnist import NAMES, idx_bytes, tiny_arrays, write_raw

    from tatamikomi.vision import datasets
    monkeypatch.delenv("TATAMIKOMI_DATA", raising=False)
    monkeypatch.delenv(datasets.CHECK_MD5, raising=False)
    tiny = tiny_arrays()
    monkeypatch.setattr(datasets.MNIST, "raw_md5s",       # the tiny files stand in for MNIST's
                        {n: hashlib.md5(idx_bytes(a)).hexdigest() for n, a in tiny.items()})
    data, argv = tmp_path / "mnist", ["--epochs", "1", "--no-plots"]
    tiny[NAMES[0]][3, 4, 5] ^= 1                            # one pixel, one bit
    write_raw(data, tiny)
    assert_user_error(["train", "--data", str(data), "--out", str(tmp_path / "a")] + argv, capsys,
                      f"{data / NAMES[0]}: md5", "TATAMIKOMI_CHECK_MD5=0")
    assert not (tmp_path / "a" / "checkpoint.pt").exists()
    monkeypatch.setenv(datasets.CHECK_MD5, "0")
    code, _, err = run(["train", "--data", str(data), "--out", str(tmp_path / "b")] + argv, capsys)
    assert code == 0 and (tmp_path / "b" / "checkpoint.pt").exists(), err
    tiny[NAMES[1]][6] = 200
    write_raw(data, tiny, names=NAMES[1:2])
    assert_user_error(["train", "--data", str(data), "--out", str(tmp_path / "c")] + argv, capsys,
                      f"{data / NAMES[1]}: label 200 at index 6")


@pytest.mark.parametrize("argv, option", [
    (["train", "--epochs", "0"], "--epochs"), (["train", "--batch-size", "-1"], "--batch-size"),
    (["train", "--lr", "0"], "--lr"), (["train", "--seed", "-1"], "--seed"),
    (["train", "--limit-train", "x"], "--limit-train"),
    (["summary", "m.py:Net", "--input", "1,x"], "--input"),
    (["explain", "Conv2d(1, 1, 3)", "--input", "1,0,5,5"], "--input"),
    (["draw", "slide", "Conv2d(1, 1, 3)", "--input", "5,5", "--ms", "0"], "--ms"),
])
def test_bad_option_values_are_refused_by_argparse(argv, option, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2 and f"error: argument {option}:" in err and "Traceback" not in err


def test_an_unwritable_out_fails_before_any_training(tmp_path, capsys, monkeypatch):
    from tatamikomi.tools import train
    monkeypatch.setattr(train, "loaders", lambda args: pytest.fail("reached the data"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_user_error(["train", "--out", str(blocker / "run")], capsys, f"--out {blocker}",
                      "a file is in the way")

    def refused(*a, **k):                    # a read-only folder (root writes anywhere)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    (tmp_path / "run").mkdir()
    assert_user_error(["train", "--out", str(tmp_path / "run"), "--resume"], capsys,
                      "Permission denied", f"--out {tmp_path / 'run'}")
    assert_user_error(["draw", "effects", "--out", str(tmp_path / "run" / "e.png")], capsys,
                      "Permission denied")


def test_missing_and_damaged_checkpoints_for_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert_user_error(["train", "--out", str(out), "--resume"], capsys,
                      f"no checkpoint at {out / 'checkpoint.pt'}")
    tm.save(dict(epoch=1, model=SimpleCNN().state_dict()), out / "checkpoint.pt")
    data = (out / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    assert_user_error(["train", "--out", str(out), "--resume"], capsys,
                      f"--resume: {out / 'checkpoint.pt'} is cut short")
    (out / "checkpoint.pt").write_bytes(data)
    assert_user_error(["train", "--out", str(out), "--resume"], capsys,
                      "is not a train checkpoint", "optimizer")


def test_stale_temp_files_of_a_killed_save_are_removed_on_start(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    stale, fresh, other = out / ".tmp-k1ll3d00", out / ".tmp-l1v3000x", out / ".tmp-curves.png"
    for p in (stale, fresh, other):
        p.write_bytes(b"x" * 1000)
    old = stale.stat().st_mtime - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert_user_error(["train", "--out", str(out), "--resume"], capsys, "no checkpoint",
                      f"removed {stale}")
    assert sorted(p.name for p in out.iterdir()) == [".tmp-curves.png", ".tmp-l1v3000x"]


def test_model_files_that_do_not_load(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import tatamikomi.nn as nn\n\nx = 1 +\n")
    assert_user_error(["summary", f"{bad}:Net", "--input", "1,1,8,8"], capsys,
                      f"{bad} did not load: SyntaxError")
    boom = tmp_path / "boom.py"
    boom.write_text("raise ValueError('boom')\n")
    assert_user_error(["summary", f"{boom}:Net", "--input", "1,1,8,8"], capsys,
                      "ValueError: boom", f"{boom}:1")
    assert_user_error(["summary", str(tmp_path / "none.py") + ":Net", "--input", "1,1,8,8"],
                      capsys, "none.py: no such file")
    assert_user_error(["summary", "tatamikomi.tools.models:Nope", "--input", "1,1,8,8"], capsys,
                      "has no class 'Nope'", "SimpleCNN")
    assert_user_error(["summary", "tatamikomi.tools.models:SimpleCNN", "--input", "1,1,8,8"],
                      capsys, "on an input of size [1, 1, 8, 8]")
    assert_user_error(["summary", "SimpleCNN", "--input", "1,1,8,8"], capsys,
                      "expected FILE.py:ClassName")
    assert_user_error(["draw", "features", f"{bad}:Net", "--input", "1,1,8,8"], capsys,
                      "SyntaxError")


def test_layers_that_do_not_build(capsys):
    assert_user_error(["explain", "Conv2d(1, 1, 0)", "--input", "1,1,5,5"], capsys,
                      "'Conv2d(1, 1, 0)'", "kernel size should be greater than zero")
    assert_user_error(["explain", "__import__('os')", "--input", "1,1,5,5"], capsys,
                      "expected a call of one of")
    assert_user_error(["draw", "slide", "Conv2d(1, 1, 9)", "--input", "5,5"], capsys,
                      "Kernel size can't be greater than actual input size")


@pytest.mark.parametrize("layer", ["Conv2d(1, 1, 3, stride=18446744073709551617)",
                                   "MaxPool2d(2, stride=18446744073709551616)",
                                   "MaxPool2d((2, 2, 2))"])
def test_layers_pytorch_refuses_say_what_pytorch_says(layer, capsys):
    """Integers past int64 and a 3-tuple kernel reached Numba (a TypingError traceback); explain
    now reports PyTorch's own message for the same layer on the same input."""
    import torch
    ns = {n: getattr(torch.nn, n) for n in ("Conv2d", "MaxPool2d")}
    with pytest.raises(Exception) as theirs:
        eval(layer, ns)(torch.ones(1, 1, 5, 5))
    first = str(theirs.value).splitlines()[0]
    err = assert_user_error(["explain", layer, "--input", "1,1,5,5"], capsys, first)
    assert "TypingError" not in err and "numba" not in err.lower()


def test_draw_names_missing_layers_and_inputs(tmp_path, capsys):
    ckpt = tmp_path / "c.pt"
    tm.save({"model": SimpleCNN().state_dict()}, ckpt)
    assert_user_error(["draw", "filters", str(ckpt), "--layer", "conv9"], capsys,
                      "conv9.weight", "conv1.weight")
    assert_user_error(["draw", "filters", "tatamikomi.tools.models:SimpleCNN", "--layer", "x"],
                      capsys, "--layer x", "conv1")
    assert_user_error(["draw", "filters", str(tmp_path / "none.pt")], capsys,
                      f"cannot read {tmp_path / 'none.pt'}")
    tm.save([1, 2], tmp_path / "list.pt")
    assert_user_error(["draw", "filters", str(tmp_path / "list.pt")], capsys,
                      "holds a list, not a state_dict")
    np.save(tmp_path / "x.npy", np.zeros(5))
    assert_user_error(["draw", "features", "tatamikomi.tools.models:SimpleCNN", "--input",
                       "1,1,28,28", "--image", str(tmp_path / "x.npy"),
                       "--out", str(tmp_path / "m.png")], capsys, "--image", "x.npy")
    assert_user_error(["draw", "features", "tatamikomi.tools.models:SimpleCNN", "--input",
                       "1,1,28,28", "--layer", "nope", "--out", str(tmp_path / "m.png")], capsys,
                      "no layer named 'nope'; layers: conv1")


# ----- hostile files where the CLI reads them

class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "EVIL.pt"
    path.write_bytes(pickle.dumps({"model": {"conv1.weight": Evil(marker)}}))
    yield path
    assert not marker.exists(), "the hostile pickle ran"


def test_draw_filters_refuses_a_hostile_file(evil, capsys):
    assert_user_error(["draw", "filters", str(evil)], capsys, f"{evil} was refused",
                      "posix.system", "never code")


def test_draw_features_checkpoint_refuses_a_hostile_file(evil, tmp_path, capsys):
    assert_user_error(["draw", "features", "tatamikomi.tools.models:SimpleCNN", "--input",
                       "1,1,28,28", "--checkpoint", str(evil), "--out",
                       str(tmp_path / "m.png")], capsys, f"--checkpoint: {evil} was refused")


def test_train_resume_refuses_a_planted_checkpoint(evil, tmp_path, capsys, monkeypatch):
    from tatamikomi.tools import train
    monkeypatch.setattr(train, "loaders", lambda args: pytest.fail("reached the data"))
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(evil.read_bytes())
    assert_user_error(["train", "--out", str(out), "--resume"], capsys,
                      f"--resume: {out / 'checkpoint.pt'} was refused", "posix.system")


# ----- the Python API of tools

def test_tools_export_summary_and_receptive_field():
    from tatamikomi.tools import receptive_field, summary
    from tatamikomi.tools.receptive import receptive_field as receptive_field_fn
    model = SimpleCNN()
    table = summary(model, (1, 1, 28, 28))
    import tatamikomi.tools.summary as module
    assert summary is module and type(table) is module.Summary
    assert repr(table) == str(table) == str(module.summary(model, (1, 1, 28, 28)))
    assert repr(table).splitlines()[0].split()[:3] == ["Layer", "Type", "Output"]
    assert receptive_field is receptive_field_fn
    assert receptive_field(model, (1, 1, 28, 28)) == \
        receptive_field_fn(SimpleCNN(), (1, 1, 28, 28))
    done = subprocess.run([sys.executable, "-c", "import tatamikomi.tools.summary as s; "
                           "print(s.Summary.__name__, callable(s))"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["Summary", "True"], done.stderr


@pytest.mark.skipif(not (MNIST / "train-images-idx3-ubyte").exists(),
                    reason=f"real MNIST not found at {MNIST}")
def test_checkpoints_are_written_with_the_mode_open_gives(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert cli.main(["train", "--data", str(MNIST), "--out", str(tmp_path / "run"),
                         "--epochs", "1", "--limit-train", "64", "--limit-test", "64",
                         "--no-plots"]) == 0
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / "run" / "checkpoint.pt").st_mode & 0o777) == "0o644"
