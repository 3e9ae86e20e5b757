"""PyTorch's file format both ways: files torch.save wrote load here, files save() wrote load in
torch.load(weights_only=True); values, dtypes, views, shared storages and model outputs agree.

torch 2.13 is the oracle in every test: it writes the files we read, reads the files we write,
and runs the same model (the chapter's SimpleCNN from tools/models, or tests/models_ref.py's
functional forwards of the vision.models families) on the same weights.
"""
import io
import mmap
import os
import pickle
import struct
import warnings
import zipfile

import numpy as np
import pytest
import torch
from models_ref import BUILDERS, Ref

import tatamikomi as tm
from tatamikomi import nn, optim
from tatamikomi.serialization import _zip
from tatamikomi.tools.models import simple_cnn_class
from tatamikomi.vision import models

TorchCNN = simple_cnn_class(torch.nn, torch.nn.functional)
OurCNN = simple_cnn_class(nn, nn.functional)

# every dtype we have, and bfloat16, which loads as float32
DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.float32, torch.float64, torch.bfloat16]


def as_numpy(t):
    """A torch tensor's values as NumPy (bfloat16 widened to float32, exactly)."""
    t = t.detach()
    return (t.float() if t.dtype is torch.bfloat16 else t).numpy()


def sample(dtype, shape=(3, 4)):
    g = torch.Generator().manual_seed(0)
    if dtype is torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=g) * 100).to(dtype)
    return torch.randint(0, 100, shape, generator=g).to(dtype)


def same_values(ours, theirs):
    """Equal values and the dtype we map theirs to, recursively."""
    if isinstance(theirs, torch.Tensor):
        want = as_numpy(theirs)
        got = ours.detach().numpy()
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True)
        assert ours.requires_grad == theirs.requires_grad
        assert isinstance(ours, nn.Parameter) == isinstance(theirs, torch.nn.Parameter)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            same_values(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)) and not isinstance(theirs, torch.Size):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same_values(a, b)
    elif isinstance(theirs, torch.device):
        assert str(ours) == str(theirs)
    elif isinstance(theirs, torch.dtype):
        assert str(ours).split(".")[1] == str(theirs).split(".")[1]
    else:
        assert ours == theirs and type(ours).__name__ == type(theirs).__name__


def torch_load(path_or_buf, **kw):
    return torch.load(path_or_buf, weights_only=True, **kw)


# ----- torch -> tatamikomi

@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_every_dtype_view_and_value_type_torch_writes_loads(tmp_path, zipped):
    base = torch.arange(24.0).reshape(4, 6)
    obj = {f"t_{d}".replace("torch.", ""): sample(d) for d in DTYPES}
    obj.update(scalar=torch.tensor(2.5), empty=torch.empty(0, 3),
               grad=torch.ones(2).requires_grad_(),
               param=torch.nn.Parameter(torch.randn(2, 2)), view=base[1:, ::2],
               col=base[:, 3], t=base.t(), expanded=torch.ones(3, 1).expand(3, 4),
               size=torch.Size([2, 3]), dtype=torch.float16, dev=torch.device("cpu"),
               nested=[(1, 2.5, "s", None, True), {"k": b"bytes"}])
    path = tmp_path / "t.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=zipped)
    ours = tm.load(path)
    same_values(ours, torch_load(path))
    assert ours["t_bfloat16"].dtype == tm.float32
    assert ours["view"].stride() == obj["view"].stride()
    assert ours["expanded"].stride() == (1, 0)


def test_views_of_one_storage_stay_one_array(tmp_path):
    base = torch.arange(12.0)
    torch.save({"a": base, "b": base[2:8].view(2, 3), "c": base[::3]}, tmp_path / "v.pt")
    ours = tm.load(tmp_path / "v.pt")
    ours["a"][4] = -1.0                     # base[4] is b[0, 2]: torch shares it the same way
    assert ours["b"][0, 2].item() == -1.0 and ours["c"].tolist() == [0.0, 3.0, 6.0, 9.0]
    assert len({id(np.asarray(v.array).base) for v in ours.values()}) == 1


def test_state_dict_metadata_and_optimizer_state_from_torch(tmp_path):
    torch.manual_seed(0)
    model = TorchCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 1, 28, 28)).sum().backward()
    opt.step()
    opt.zero_grad()
    ckpt = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "metrics": {"test_acc": 98.5, "losses": [0.5, 0.25]}}
    torch.save(ckpt, tmp_path / "c.pt")
    ours = tm.load(tmp_path / "c.pt")
    same_values(ours, torch_load(tmp_path / "c.pt"))
    assert ours["model"]._metadata == ckpt["model"]._metadata        # the OrderedDict's attr
    # the loaded state runs: the same weights give the same logits, and one more Adam step
    # from the loaded state moves the weights as torch's step does
    ours_model = OurCNN().eval()
    ours_model.load_state_dict(ours["model"])
    ours_opt = optim.Adam(ours_model.parameters(), lr=1e-3)
    ours_opt.load_state_dict(ours["optimizer"])
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    want = model.eval()(torch.from_numpy(x))
    got = ours_model(tm.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    want.sum().backward()
    got.sum().backward()
    opt.step()
    ours_opt.step()
    for (k, p), q in zip(model.named_parameters(), ours_model.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)


def test_big_endian_files_load_as_torch_reads_them(tmp_path):
    # torch writes the machine's byte order; a big-endian machine's file has the same records
    # with "big" and byte-swapped storages, which torch.load swaps back
    obj = {"f": sample(torch.float32), "i": sample(torch.int64), "h": sample(torch.float16),
           "b": sample(torch.bfloat16), "u": sample(torch.uint8)}
    torch.save(obj, tmp_path / "le.pt")
    reader = _zip.ZipReader(open(tmp_path / "le.pt", "rb"))
    records = {n: bytes(reader.read(n)) for n in reader.names()}
    keys = pickle_storage_dtypes(records["data.pkl"])
    with open(tmp_path / "be.pt", "wb") as out:
        writer = _zip.ZipWriter(out, "be")
        for name, data in records.items():
            if name == "byteorder":
                data = b"big"
            elif name.startswith("data/"):
                data = np.frombuffer(data, keys[name[5:]]).byteswap().tobytes()
            writer.write_record(name, data)
        writer.finish()
    same_values(tm.load(tmp_path / "be.pt"), torch_load(tmp_path / "be.pt"))


def pickle_storage_dtypes(data):
    """storage key -> NumPy dtype of its elements, from a torch data.pkl's persistent ids."""
    kinds = {"FloatStorage": "f4", "LongStorage": "i8", "HalfStorage": "f2",
             "BFloat16Storage": "u2", "ByteStorage": "u1"}
    found = {}

    class Name(str):                   # every global: a name that, called, builds nothing
        def __call__(self, *args):
            return None

    class Ids(pickle.Unpickler):
        def find_class(self, module, name):
            return Name(name)

        def persistent_load(self, pid):
            found[pid[2]] = np.dtype(kinds[pid[1]])

    Ids(io.BytesIO(data)).load()
    return found


def test_mmap_maps_the_file_copy_on_write(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"w": torch.arange(1000.0), "v": torch.arange(1000.0)[10:20]}, path)
    before = path.read_bytes()
    ours = tm.load(path, mmap=True)
    same_values(ours, torch_load(path, mmap=True))
    base = ours["w"].array
    while not isinstance(base, mmap.mmap):
        base = base.base if isinstance(base, np.ndarray) else base.obj   # ndarray -> memoryview
    ours["w"][0] = 5.0
    assert ours["v"][0].item() == 10.0 and path.read_bytes() == before     # private pages
    with pytest.raises(ValueError) as ours_err:
        tm.load(io.BytesIO(before), mmap=True)
    theirs = pytest.raises(ValueError, torch.load, io.BytesIO(before), mmap=True)
    assert str(ours_err.value) == str(theirs.value)


# one builder per vision.models family, small enough to save and run in a test
FAMILY = {"alexnet": {}, "vgg11_bn": {}, "resnet18": {}, "squeezenet1_1": {},
          "mobilenet_v2": {}, "mobilenet_v3_small": {}, "shufflenet_v2_x0_5": {},
          "densenet121": {}, "googlenet": {"transform_input": False, "aux_logits": False},
          "efficientnet_b0": {}}


def build(name):
    kw = FAMILY[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extra = {"init_weights": True} if name == "googlenet" else {}
        return models.get_model(name, num_classes=10, **kw, **extra).eval()


def reference(name, tensors, x):
    forward, kwargs = BUILDERS[name]
    kwargs = {**kwargs, "num_classes": 10, **FAMILY[name]}
    return forward(Ref(tensors, False), x, **kwargs)


def check_outputs(model, name, tensors, size=64):
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    want = reference(name, tensors, torch.from_numpy(x)).detach().numpy()
    got = model(tm.tensor(x)).detach().numpy()
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-4 * scale, name


@pytest.mark.parametrize("name", FAMILY)
def test_vision_models_both_ways(tmp_path, name):
    # torch writes a state_dict (random weights, BatchNorm statistics moved off 0/1), an SGD
    # state and metrics; we load them into our model and match torch's forward; then we save
    # our model's state_dict and torch reads it back bit for bit
    model = build(name)
    g = torch.Generator().manual_seed(1)
    sd = {}
    for k, v in model.state_dict().items():
        t = torch.from_numpy(v.numpy().copy())
        if t.is_floating_point():
            t = t + 0.05 * torch.randn(t.shape, generator=g)
            t = t.abs() + 0.5 if k.endswith("running_var") else t
        sd[k] = t
    params = [torch.nn.Parameter(sd[k]) for k, _ in model.named_parameters()]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    sum(p.sum() for p in params).backward()
    opt.step()
    torch.save({"epoch": 1, "model": sd, "optimizer": opt.state_dict(),
                "metrics": {"acc": 12.5}}, tmp_path / "t.pt")
    ours = tm.load(tmp_path / "t.pt")
    model.load_state_dict(ours["model"])
    assert ours["epoch"] == 1 and ours["metrics"] == {"acc": 12.5}
    same_values(ours["optimizer"], opt.state_dict())
    check_outputs(model, name, sd)
    tm.save(model.state_dict(), tmp_path / "ours.pt")
    back = torch_load(tmp_path / "ours.pt")
    assert list(back) == list(sd)
    for k in sd:
        assert torch.equal(back[k], sd[k]), k


def test_dataparallel_prefix_is_consumed_as_torch_does(tmp_path):
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present as theirs
    torch.save(torch.nn.DataParallel(TorchCNN()).state_dict(), tmp_path / "dp.pt")
    ours, want = tm.load(tmp_path / "dp.pt"), torch_load(tmp_path / "dp.pt")
    assert all(k.startswith("module.") for k in ours)
    tm.serialization.consume_prefix_in_state_dict_if_present(ours, "module.")
    theirs(want, "module.")
    assert list(ours) == list(want) and ours._metadata == want._metadata
    OurCNN().load_state_dict(ours)


# ----- tatamikomi -> torch

def small_checkpoint():
    model = OurCNN()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model(tm.randn(2, 1, 28, 28)).sum().backward()
    opt.step()
    return model, opt, {"epoch": 2, "model": model.state_dict(), "optimizer": opt.state_dict(),
                        "history": [{"epoch": 1, "train_loss": 0.5, "test_acc": 97.5}],
                        "rng": tm.get_rng_state()}


def test_our_checkpoint_loads_in_torch_and_runs_there(tmp_path):
    model, opt, ckpt = small_checkpoint()
    tm.save(ckpt, tmp_path / "c.pt")
    theirs = torch_load(tmp_path / "c.pt")
    same_values(tm.load(tmp_path / "c.pt"), theirs)
    assert theirs["rng"].dtype == torch.uint8 and theirs["rng"].numel() == 5056
    torch_model = TorchCNN().eval()
    torch_model.load_state_dict(theirs["model"])
    torch_opt = torch.optim.Adam(torch_model.parameters(), lr=1e-3)
    torch_opt.load_state_dict(theirs["optimizer"])
    x = np.random.default_rng(2).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model.eval()(tm.tensor(x)).detach().numpy(),
                               torch_model(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    assert torch.load(tmp_path / "c.pt", weights_only=True, mmap=True)["epoch"] == 2


def test_every_dtype_and_layout_we_write_reads_in_torch(tmp_path):
    a = np.arange(24.0).reshape(4, 6)
    obj = {d.name: tm.tensor(sample(getattr(torch, d.name)).numpy()) for d in tm.dtypes.ALL}
    obj.update(scalar=tm.tensor(1.5), empty=tm.zeros(0, 2), grad=tm.ones(3, requires_grad=True),
               param=nn.Parameter(tm.ones(2)),
               fortran=tm.from_numpy(np.asfortranarray(a)),
               flipped=tm.from_numpy(a[::-1, ::2]),
               expanded=tm.ones(3, 1).expand(3, 4),
               size=tm.Size([2, 3]), dtype=tm.float16, dev=tm.device("cpu"),
               nested=[(1, 2.5, "s", None, True), {"k": b"bytes"}])
    tm.save(obj, tmp_path / "o.pt")
    theirs = torch_load(tmp_path / "o.pt")
    for k, v in obj.items():
        if isinstance(v, tm.Tensor):
            assert np.array_equal(as_numpy(theirs[k]), v.detach().numpy()), k
            assert str(theirs[k].dtype) == str(v.dtype).replace("tatamikomi", "torch"), k
    assert isinstance(theirs["param"], torch.nn.Parameter) and theirs["grad"].requires_grad
    assert theirs["size"] == torch.Size([2, 3]) and theirs["dtype"] is torch.float16
    assert theirs["dev"] == torch.device("cpu") and theirs["nested"] == obj["nested"]
    assert theirs["expanded"].stride() == (1, 0)


def test_shared_storages_stay_shared_in_torch(tmp_path):
    w = tm.arange(12.0).reshape(3, 4)
    obj = {"w": w, "row": w[1], "cols": w[:, 1:3], "again": w}
    tm.save(obj, tmp_path / "s.pt")
    with zipfile.ZipFile(tmp_path / "s.pt") as z:
        assert [n for n in z.namelist() if "/data/" in n] == ["s/data/0"]   # one storage
    theirs = torch_load(tmp_path / "s.pt")
    theirs["w"][1, 1] = -7.0
    assert theirs["row"][1].item() == -7.0 and theirs["cols"][1, 0].item() == -7.0
    assert theirs["again"] is theirs["w"] or theirs["again"].data_ptr() == theirs["w"].data_ptr()


def test_the_archive_is_laid_out_byte_for_byte_as_torch_save(tmp_path):
    # the same records through our writer give torch's bytes: torch's mmap offset arithmetic
    # (calculate_storage_offsets) holds for our files
    torch.save([torch.ones(i) for i in range(14)], tmp_path / "many.pt")
    raw = (tmp_path / "many.pt").read_bytes()
    reader = _zip.ZipReader(io.BytesIO(raw))
    out = io.BytesIO()
    writer = _zip.ZipWriter(out, "many")
    for name in reader.names():
        writer.write_record(name, reader.read(name))
    writer.finish()
    assert out.getvalue() == raw


def test_save_writes_torchs_records_with_the_files_name(tmp_path):
    tm.save({"w": tm.ones(2)}, tmp_path / "weights.v2.pt")
    torch.save({"w": torch.ones(2)}, tmp_path / "theirs.v2.pt")
    ours = zipfile.ZipFile(tmp_path / "weights.v2.pt").namelist()
    theirs = zipfile.ZipFile(tmp_path / "theirs.v2.pt").namelist()
    assert ours == [n.replace("theirs.v2/", "weights.v2/") for n in theirs]
    for name in ("a.b.c", "x y.pt", "\u00fc.pt", ".hidden.pt", "noext"):
        tm.save([1], tmp_path / name)
        torch.save([1], tmp_path / f"t_{name}")
        assert zipfile.ZipFile(tmp_path / name).namelist()[0] == \
            zipfile.ZipFile(tmp_path / f"t_{name}").namelist()[0].replace("t_", "", 1), name
    theirs = pytest.raises(RuntimeError, torch.save, [1], tmp_path / ".pt").value
    ours = pytest.raises(RuntimeError, tm.save, [1], tmp_path / ".pt").value
    assert str(theirs).endswith(str(ours))
    buf = io.BytesIO()
    tm.save([1], buf)
    assert zipfile.ZipFile(buf).namelist()[0] == "archive/data.pkl"
    assert torch_load(io.BytesIO(buf.getvalue())) == [1]


def test_tensors_viewing_one_buffer_as_two_dtypes_are_refused_as_torch_refuses(tmp_path):
    raw = np.zeros(8, np.uint8)
    t = torch.zeros(8, dtype=torch.uint8)
    theirs = pytest.raises(RuntimeError, torch.save, [t, t.view(torch.int32)], io.BytesIO())
    with pytest.raises(RuntimeError) as ours:
        tm.save([tm.from_numpy(raw), tm.from_numpy(raw.view(np.int32))], tmp_path / "x.pt")
    assert str(ours.value) == str(theirs.value)
    assert not os.listdir(tmp_path)                   # the temp file is gone


def test_files_our_older_versions_wrote_still_load(tmp_path):
    # before this format, save() was pickle.dump(obj, protocol=5) of our own tensors
    model, opt, ckpt = small_checkpoint()
    (tmp_path / "old.pt").write_bytes(pickle.dumps(ckpt, protocol=pickle.HIGHEST_PROTOCOL))
    old = tm.load(tmp_path / "old.pt")
    new = io.BytesIO()
    tm.save(ckpt, new)
    new.seek(0)
    fresh = tm.load(new)
    for k in ckpt["model"]:
        assert np.array_equal(old["model"][k].numpy(), fresh["model"][k].numpy())
    assert old["epoch"] == fresh["epoch"] == 2 and old["history"] == fresh["history"]


def test_weights_only_false_reads_torch_files_into_our_classes(tmp_path):
    torch.save({"w": torch.nn.Parameter(torch.ones(2)), "s": torch.Size([1])}, tmp_path / "a")
    got = tm.load(tmp_path / "a", weights_only=False)
    assert type(got["w"]) is nn.Parameter and type(got["s"]) is tm.Size
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    with pytest.raises(pickle.UnpicklingError, match="state_dict"):
        tm.load(tmp_path / "module.pt", weights_only=False)
    err = pytest.raises(pickle.UnpicklingError, tm.load, tmp_path / "module.pt").value
    theirs = pytest.raises(pickle.UnpicklingError, torch.load, tmp_path / "module.pt",
                           weights_only=True).value
    assert "GLOBAL torch.nn.modules.linear.Linear was not an allowed global" in str(err)
    assert str(err).splitlines()[0] == str(theirs).splitlines()[0]


def test_whole_models_of_ours_round_trip_with_weights_only_false(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    tm.save(model, tmp_path / "m.pt")
    back = tm.load(tmp_path / "m.pt", weights_only=False)
    x = tm.randn(1, 1, 5, 5)
    assert np.array_equal(back(x).detach().numpy(), model(x).detach().numpy())


# ----- damaged and hostile archives

def archive_bytes(obj=None):
    buf = io.BytesIO()
    torch.save({"w": torch.arange(6.0), "b": torch.ones(2)} if obj is None else obj, buf)
    return buf.getvalue()


def both_fail(data, **kw):
    """The exceptions torch.load and our load raise on the same bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.load(io.BytesIO(data), weights_only=True, **kw)
            theirs = None
        except Exception as e:  # the oracle's exception, whatever it is
            theirs = e
    with pytest.raises(Exception) as ours:
        tm.load(io.BytesIO(data), **kw)
    return ours.value, theirs


def test_truncated_archives_fail_as_torch_does():
    data = archive_bytes()
    for cut in range(4, len(data), 37):
        ours, theirs = both_fail(data[:cut])
        assert type(ours) is type(theirs) is RuntimeError
        assert str(ours) == str(theirs)


def rewrite(data, change):
    """The archive with change(name, bytes) applied to each record."""
    reader = _zip.ZipReader(io.BytesIO(data))
    out = io.BytesIO()
    writer = _zip.ZipWriter(out, "archive")
    for name in reader.names():
        new = change(name, bytes(reader.read(name)))
        if new is not None:
            writer.write_record(name, new)
    writer.finish()
    return out.getvalue()


def test_missing_records_and_versions_fail_as_torch_does():
    data = archive_bytes()
    cases = [lambda n, d: None if n == "data/1" else d,
             lambda n, d: None if n == "data.pkl" else d,
             lambda n, d: None if n == "version" else d,
             lambda n, d: b"99\n" if n == "version" else d,
             lambda n, d: b"middle" if n == "byteorder" else d]
    for change in cases:
        ours, theirs = both_fail(rewrite(data, change))
        assert type(ours) is type(theirs) and str(ours) == str(theirs).replace(
            "[enforce fail at inline_container.cc:230] . ", "")


def test_hostile_pickles_inside_archives_get_torchs_refusal(tmp_path):
    marker = tmp_path / "MARKER"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    for payload in (Evil(), {"w": torch.ones(1), "x": [Evil()]}):
        buf = io.BytesIO()
        torch.save(payload, buf)
        ours, theirs = both_fail(buf.getvalue())
        assert type(ours) is type(theirs) is pickle.UnpicklingError
        assert str(ours).startswith(str(theirs)) and not marker.exists()


def test_forged_sizes_overlaps_and_compression_are_refused():
    data = archive_bytes()
    # a storage whose persistent id claims more elements than its record holds
    big = rewrite(data, lambda n, d: d.replace(b"K\x06t", b"J\x00\x00\x00\x10t")
                  if n == "data.pkl" else d)
    err = pytest.raises(pickle.UnpicklingError, tm.load, io.BytesIO(big)).value
    assert "holds 24 bytes" in str(err)
    # a central directory entry claiming more bytes than lie before the next entry (how a zip
    # bomb makes one stretch of bytes count many times)
    z = bytearray(data)
    entry = z.rfind(b"PK\x01\x02", 0, z.rfind(b"archive/data/0"))     # its directory entry
    struct.pack_into("<II", z, entry + 20, 24 + 400, 24 + 400)
    err = pytest.raises(RuntimeError, tm.load, io.BytesIO(bytes(z))).value
    assert "entries overlap" in str(err)
    # deflated entries: torch.save never writes them; a zip tool could, and a bomb would
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out, \
            zipfile.ZipFile(io.BytesIO(data)) as src:
        for name in src.namelist():
            out.writestr(name, src.read(name))
    err = pytest.raises(RuntimeError, tm.load, io.BytesIO(buf.getvalue())).value
    assert "compressed" in str(err)


def test_a_tensor_cannot_reach_past_its_storage():
    data = archive_bytes({"w": torch.arange(6.0)})
    # size (6,) -> (60,): the view would read 216 bytes past the storage's end
    bad = rewrite(data, lambda n, d: d.replace(b"K\x06\x85", b"K<\x85", 1) if n == "data.pkl"
                  else d)
    err = pytest.raises(pickle.UnpicklingError, tm.load, io.BytesIO(bad)).value
    assert "needs 60 elements, its storage holds 6" in str(err)


def test_map_location_as_torch(tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"w": torch.ones(2)}, path)
    for where in ("cuda", "cuda:0", {"cpu": "cuda"}, "xyz"):
        theirs = pytest.raises(RuntimeError, torch.load, path, map_location=where)
        with pytest.raises(RuntimeError) as ours:
            tm.load(path, map_location=where)
        assert str(ours.value) == str(theirs.value)
    for where in ("cpu", tm.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s,
                  lambda s, loc: None):
        assert tm.load(path, map_location=where)["w"].tolist() == [1.0, 1.0]

