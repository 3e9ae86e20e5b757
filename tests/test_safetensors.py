"""tatamikomi.safetensors against the safetensors package (its torch API) on the same data: the
bytes written, the tensors read either way, and the refusals of damaged headers."""
import json
import os
import re
import struct

import numpy as np
import pytest
import safetensors
import safetensors.torch as st_torch
import torch

import tatamikomi as tm
from tatamikomi import nn
from tatamikomi import safetensors as st
from tatamikomi.tools.models import simple_cnn_class

TORCH_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                torch.float16, torch.float32, torch.float64]


def tensors_both(seed=0):
    """{name: tensor} in both libraries with the same values, one per dtype we have."""
    g = torch.Generator().manual_seed(seed)
    theirs = {}
    for d in TORCH_DTYPES:
        shape = (2, 3) if d != torch.int16 else (5,)
        t = torch.randn(shape, generator=g) * 50
        theirs[str(d).split(".")[1]] = (t > 0) if d is torch.bool else t.to(d)
    theirs["scalar"] = torch.tensor(1.5)
    theirs["empty"] = torch.zeros(0, 4)
    ours = {k: tm.tensor(v.numpy()) for k, v in theirs.items()}
    return ours, theirs


def assert_same(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for k, t in theirs.items():
        want = (t.float() if t.dtype is torch.bfloat16 else t).numpy()
        got = ours[k].numpy()
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), k


def test_our_bytes_are_safetensors_bytes():
    ours, theirs = tensors_both()
    meta = {"note": "ü"}           # one key: safetensors writes several in hash order
    assert st.save(ours, meta) == st_torch.save(theirs, meta)
    assert st.save(ours) == st_torch.save(theirs)


def test_files_both_ways(tmp_path):
    ours, theirs = tensors_both(1)
    st_torch.save_file(theirs, tmp_path / "theirs.safetensors", {"k": "v"})
    assert_same(st.load_file(tmp_path / "theirs.safetensors"), theirs)
    assert_same(tm.load(tmp_path / "theirs.safetensors"), theirs)      # as torch.load does
    st.save_file(ours, tmp_path / "ours.safetensors", {"k": "v"})
    assert_same(ours, st_torch.load_file(tmp_path / "ours.safetensors"))
    with safetensors.safe_open(tmp_path / "ours.safetensors", "pt") as f, \
            st.safe_open(tmp_path / "ours.safetensors", "pt") as g:
        assert g.keys() == sorted(f.keys()) and g.metadata() == f.metadata()
        assert np.array_equal(g.get_tensor("float32").numpy(), f.get_tensor("float32").numpy())


def test_bfloat16_loads_as_float32_exactly():
    t = torch.randn(64, dtype=torch.float32).bfloat16()
    got = st.load(st_torch.save({"w": t}))["w"]
    assert got.dtype == tm.float32 and np.array_equal(got.numpy(), t.float().numpy())


def test_a_model_round_trips_through_a_file(tmp_path):
    Ours = simple_cnn_class(nn, nn.functional)
    Theirs = simple_cnn_class(torch.nn, torch.nn.functional)
    model = Ours().eval()
    st.save_file(model.state_dict(), tmp_path / "m.safetensors")
    theirs = Theirs().eval()
    theirs.load_state_dict(st_torch.load_file(tmp_path / "m.safetensors"))
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model(tm.tensor(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_loaded_file_is_private_copy_on_write(tmp_path):
    path = tmp_path / "w.safetensors"
    st.save_file({"w": tm.zeros(4)}, path)
    before = path.read_bytes()
    w = st.load_file(path)["w"]
    w[0] = 3.0
    assert path.read_bytes() == before and w[0].item() == 3.0


def test_refusals_of_what_cannot_be_saved_match_safetensors():
    x, tx = tm.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    cases = [({"t": x.t()}, {"t": tx.t()}, ValueError), ([x], [tx], ValueError),
             ({"a": 1}, {"a": 1}, ValueError)]
    for ours, theirs, kind in cases:
        want = pytest.raises(kind, st_torch.save, theirs).value
        assert str(pytest.raises(kind, st.save, ours).value) == str(want)
    # views of one tensor: safetensors lists the names in sets, in no fixed order
    want = pytest.raises(RuntimeError, st_torch.save, {"a": tx, "b": tx[0]}).value
    got = pytest.raises(RuntimeError, st.save, {"a": x, "b": x[0]}).value
    assert str(got).replace("{'b', 'a'}", "{'a', 'b'}") == \
        str(want).replace("{'b', 'a'}", "{'a', 'b'}")


def header(h, data=b""):
    text = json.dumps(h, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


F32 = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
DAMAGED = {
    "empty": b"",
    "five bytes": b"\x05\x00\x00\x00\x00",
    "header longer than the file": struct.pack("<Q", 50) + b"{}",
    "header over 100 MB": struct.pack("<Q", 10 ** 9) + b"{}",
    "gap before the data": header({"a": {**F32, "data_offsets": [4, 8]}}, bytes(8)),
    "data shorter than the header says": header({"a": {**F32, "shape": [2],
                                                       "data_offsets": [0, 8]}}, bytes(4)),
    "data longer than the header says": header({"a": F32}, bytes(8)),
    "shape and offsets disagree": header({"a": {**F32, "shape": [2]}}, bytes(4)),
    "two tensors on the same bytes": header({"a": F32, "b": F32}, bytes(4)),
    "offsets reversed": header({"a": {**F32, "data_offsets": [4, 0]}}, bytes(4)),
    "a shape of 2**80 elements": header({"a": {**F32, "shape": [2 ** 40, 2 ** 40]}}, bytes(4)),
}


@pytest.mark.parametrize("data", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_files_fail_with_safetensors_words(data):
    theirs = pytest.raises(Exception, st_torch.load, data).value
    ours = pytest.raises(st.SafetensorError, st.load, data).value
    assert type(theirs).__name__ == type(ours).__name__ == "SafetensorError"
    # which of two tensors on the same bytes is named depends on safetensors' hash order
    assert re.sub("`.*`", "``", str(ours)) == re.sub("`.*`", "``", str(theirs))


OURS_ONLY = {
    "not JSON": (struct.pack("<Q", 2) + b"{]", "invalid JSON"),
    "not UTF-8": (struct.pack("<Q", 2) + b"\xff\xfe", "invalid UTF-8"),
    "a list": (header([1]), "must be an object"),
    "an unknown dtype": (header({"a": {**F32, "dtype": "X9"}}, bytes(4)), "unknown dtype"),
    "a negative dimension": (header({"a": {**F32, "shape": [-1]}}, bytes(4)), "non-negative"),
    "metadata of numbers": (header({"__metadata__": {"a": 1}}), "strings to strings"),
    "JSON nested a million deep": (struct.pack("<Q", 2 * 10 ** 6) + b"[" * 10 ** 6 +
                                   b"]" * 10 ** 6, "invalid JSON"),
    "a dtype we have no dtype for": (header({"a": {**F32, "dtype": "U16", "shape": [2]}},
                                            bytes(4)), "tensor `a` has dtype U16"),
}


@pytest.mark.parametrize("data,why", OURS_ONLY.values(), ids=OURS_ONLY.keys())
def test_other_damage_is_refused_and_safetensors_refuses_it_too(data, why):
    ours = pytest.raises(st.SafetensorError, st.load, data).value
    assert why in str(ours)
    if "U16" not in why:
        with pytest.raises(Exception, match="Error while deserializing"):
            st_torch.load(data)


def test_load_file_on_other_devices_and_map_locations_as_torch(tmp_path):
    path = tmp_path / "w.safetensors"
    st.save_file({"w": tm.ones(1)}, path)
    st_torch.save_file({"w": torch.ones(1)}, tmp_path / "t.safetensors")
    for where in ({"cpu": "cpu"}, lambda s, loc: s):
        theirs = pytest.raises(RuntimeError, torch.load, tmp_path / "t.safetensors",
                               map_location=where).value
        ours = pytest.raises(RuntimeError, tm.load, path, map_location=where).value
        assert str(ours) == str(theirs)
    with pytest.raises(RuntimeError, match="CUDA device"):
        st.load_file(path, device="cuda")


def test_save_file_is_atomic_with_the_mode_open_gives(tmp_path, monkeypatch):
    st.save_file({"w": tm.ones(1)}, tmp_path / "w.safetensors")
    with open(tmp_path / "plain", "wb"):
        pass
    assert os.stat(tmp_path / "w.safetensors").st_mode == os.stat(tmp_path / "plain").st_mode

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        st.save_file({"w": tm.zeros(1)}, tmp_path / "w.safetensors")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "w.safetensors"]
    assert st.load_file(tmp_path / "w.safetensors")["w"].item() == 1.0
