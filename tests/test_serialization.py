"""save/load: round trips, and load(weights_only=True) refusing everything that is not data.

Hostile pickles are written here byte by byte. Where PyTorch's weights-only unpickler reads the
same bytes (protocol-2 opcodes), torch.load runs on them in the same test and our message must
start with its message; the oracle for round trips is plain pickle on the same trusted bytes.
"""
import collections
import io
import os
import pickle
import random
import struct
import tracemalloc
import warnings

import numpy as np
import pytest
import torch

import tatamikomi as tm
from tatamikomi import nn, optim, serialization

SAFE = (pickle.UnpicklingError, EOFError)        # the only ways a damaged file may fail


def torch_error(data, **kw):
    """The exception torch.load raises on these bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.load(io.BytesIO(data), **kw)
        except Exception as e:  # the oracle's exception, whatever it is
            return e
    raise AssertionError("torch.load accepted the bytes")


def our_error(data, **kw):
    try:
        tm.load(io.BytesIO(data), **kw)
    except Exception as e:
        return e
    raise AssertionError("tatamikomi.load accepted the bytes")


def small_model():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(18, 3))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model(tm.randn(2, 1, 5, 5)).sum().backward()
    opt.step()
    return model, opt


def checkpoint():
    """What `tatamikomi train` saves, on a small model."""
    model, opt = small_model()
    gen = tm.Generator().manual_seed(3)
    return dict(epoch=2, model=model.state_dict(), optimizer=opt.state_dict(),
                history=[dict(epoch=1, train_loss=0.5, test_acc=97.5)],
                rng=tm.get_rng_state(), loader_rng=gen.get_state())


def same(a, b):
    """Equal values, types, dtypes and requires_grad, recursively."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, tm.Tensor):
        return (a.dtype == b.dtype and a.requires_grad == b.requires_grad
                and np.array_equal(a.detach().numpy(), b.detach().numpy()))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


# ----- what loads

def test_checkpoint_round_trip_matches_plain_pickle(tmp_path):
    ckpt = checkpoint()
    tm.save(ckpt, tmp_path / "c.pt")
    ours = tm.load(tmp_path / "c.pt")
    assert same(ours, tm.load(tmp_path / "c.pt", weights_only=False))
    assert same(ours, ckpt)
    model, opt = small_model()
    model.load_state_dict(ours["model"])
    opt.load_state_dict(ours["optimizer"])
    assert same(opt.state_dict()["state"], ckpt["optimizer"]["state"])
    tm.set_rng_state(ours["rng"])


ODDS = [tm.Size([1, 2]), tm.float64, tm.int64, nn.Parameter(tm.ones(2)), np.float32(1.5),
        np.int64(-3), np.bool_(True), {1, 2}, frozenset({3}), bytearray(b"ab"), 1 + 2j, b"xy",
        np.arange(6.0).reshape(2, 3)[:, ::2], np.arange(6, dtype=">i4"), np.zeros((2, 0)),
        np.arange(4, dtype=np.complex64), tm.tensor([True, False]),
        tm.ones(2, 3, dtype=tm.float16), tm.ones(3, requires_grad=True), (1, (2, (3,))),
        [None, True, 1.5, "s", "ü"], 2 ** 100, -5, collections.OrderedDict(a=1),
        collections.Counter("aab")]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("obj", ODDS, ids=lambda o: type(o).__name__)
def test_allowed_objects_load_as_plain_pickle_does(obj, protocol):
    data = pickle.dumps(obj, protocol=protocol)
    assert same(tm.load(io.BytesIO(data)), pickle.loads(data))


def test_dtype_byte_order_in_a_file_leaves_numpys_shared_dtype_alone():
    big = np.arange(3, dtype=">f4")
    got = tm.load(io.BytesIO(pickle.dumps(big, protocol=5)))
    assert got.dtype == big.dtype and np.array_equal(got, big)
    assert np.dtype("f4").isnative and np.dtype("float32").byteorder == "="


def test_an_archive_later_in_a_stream_loads_from_its_start_as_in_torch():
    buf = io.BytesIO()
    tm.save({"a": tm.ones(2)}, buf)
    at = buf.tell()
    tm.save([1, 2], buf)
    for lib in (tm, torch):
        buf.seek(at)
        assert lib.load(buf) == [1, 2]
    buf.seek(0)
    assert same(tm.load(io.BytesIO(buf.read(at))), {"a": tm.ones(2)})


def test_weights_only_false_is_plain_pickle():
    data = pickle.dumps(collections.deque([1, 2]))
    assert tm.load(io.BytesIO(data), weights_only=False) == collections.deque([1, 2])
    assert type(our_error(data)) is pickle.UnpicklingError


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def test_add_safe_globals_allows_a_trusted_class():
    data = pickle.dumps(Point(1, tm.ones(2)), protocol=2)
    assert "GLOBAL test_serialization.Point was not an allowed" in str(our_error(data))
    with serialization.safe_globals([Point]):
        assert serialization.get_safe_globals() == [Point]
        p = tm.load(io.BytesIO(data))
        assert type(p) is Point and p.x == 1 and same(p.y, tm.ones(2))
    assert serialization.get_safe_globals() == []
    assert type(our_error(data)) is pickle.UnpicklingError


# ----- PyTorch's refusals, word for word

def _global(module, name, tail=b"."):
    return b"\x80\x02c" + module + b"\n" + name + b"\n" + tail


CALL = b"X\x04\x00\x00\x00true\x85R."                        # ("true",) then REDUCE
HOSTILE_P2 = {
    "builtins.eval": _global(b"builtins", b"eval", b"X\x03\x00\x00\x001+1\x85R."),
    "builtins.exec": _global(b"builtins", b"exec", b"X\x03\x00\x00\x001+1\x85R."),
    "builtins.getattr": _global(b"builtins", b"getattr"),
    "builtins.__import__": _global(b"builtins", b"__import__"),
    "__builtin__.eval (Python 2 name)": _global(b"__builtin__", b"eval"),
    "posix.system": _global(b"posix", b"system", CALL),
    "os.system": _global(b"os", b"system", CALL),
    "nt.system": _global(b"nt", b"system", CALL),
    "sys.exit": _global(b"sys", b"exit"),
    "subprocess.Popen": _global(b"subprocess", b"Popen", CALL),
    "INST of posix.system": b"\x80\x02(X\x04\x00\x00\x00trueiposix\nsystem\n.",
    "OBJ": b"\x80\x02(cos\nsystem\nX\x04\x00\x00\x00trueo.",
    "EXT1": b"\x80\x02\x82\x01.",
    "PERSID": b"\x80\x02P1\n.",
    "REDUCE of None": b"\x80\x02N)R.",
    "REDUCE of a string from the memo": b"\x80\x02X\x06\x00\x00\x00systemq\x00h\x00)R.",
    "NEWOBJ of None": b"\x80\x02N)\x81.",
    "BUILD on a list": b"\x80\x02]}b.",
    "APPEND to None": b"\x80\x02NNa.",
    "APPENDS to a dict": b"\x80\x02}(Ne.",
    "SETITEM on a list": b"\x80\x02]NNs.",
    "the allowed OrderedDict's instance called": b"\x80\x02ccollections\nOrderedDict\n)R)R.",
    "eval deep inside allowed containers":
        b"\x80\x02}X\x01\x00\x00\x00a](ccollections\nOrderedDict\n)Rcbuiltins\neval\nes.",
}


@pytest.mark.parametrize("data", HOSTILE_P2.values(), ids=HOSTILE_P2.keys())
def test_hostile_protocol_2_pickles_get_torchs_error(data):
    theirs, ours = torch_error(data), our_error(data)
    assert type(ours) is type(theirs) is pickle.UnpicklingError
    assert str(ours).startswith(str(theirs))
    assert str(ours).startswith("Weights only load failed.")


def test_reduce_calling_os_system_has_no_side_effect(tmp_path):
    marker = tmp_path / "MARKER"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for protocol in (2, 5):
        data = pickle.dumps({"w": tm.ones(2), "x": [Evil()]}, protocol=protocol)
        err = our_error(data)
        assert type(err) is pickle.UnpicklingError
        first = str(err).splitlines()[0]
        assert first == str(torch_error(pickle.dumps(Evil(), protocol=2))).splitlines()[0]
        assert "whose module posix is blocked" in str(err) and not marker.exists()
        with pytest.raises(pickle.UnpicklingError):
            tm.load(io.BytesIO(data), weights_only=True)
        assert not marker.exists()
    pickle.loads(data)                     # the same bytes do run code under plain pickle
    assert marker.exists()


# Where torch's unpickler has no rule (opcodes of protocols 3-5, our numpy and tensor
# constructors) or leaks another type (a KeyError for a missing memo entry, ValueError
# from OrderedDict("ab")), ours refuses with UnpicklingError and says why.
F4 = b"\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02f4\x89\x88\x87R"
NP2 = b"\x8c\x13numpy._core.numeric\x8c\x0b_frombuffer\x93"
OURS_ONLY = {
    "memo miss": (b"\x80\x02h\x05.", "Memo value not found at index 5"),
    "OrderedDict of a string": (b"\x80\x02ccollections\nOrderedDict\nX\x02\x00\x00\x00ab\x85R.",
                                "OrderedDict() needs a dict or a list of pairs"),
    "numpy.ndarray called (would allocate)":
        (b"\x80\x05\x8c\x05numpy\x8c\x07ndarray\x93J\x00\x00\x00\x7f\x85R.",
         "unrecognized function <class 'numpy.ndarray'>"),
    "object dtype": (b"\x80\x05\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02O8\x89\x88\x87R.",
                     "is not a numeric dtype"),
    "structured dtype": (b"\x80\x05\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02V8\x89\x88\x87R.",
                         "is not a numeric dtype"),
    "frombuffer shape larger than its bytes":
        (b"\x80\x05" + NP2 + b"(C\x04abcd" + F4 + b"J\x00\x00\x01\x00\x85\x8c\x01CtR.",
         "needs 262144 bytes, the file gives 4"),
    "_reconstruct of another class": (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n("
                                      b"ccollections\nOrderedDict\nK\x00\x85C\x01btR.",
                                      "plain ndarray"),
    "BUILD on a tensor": (pickle.dumps(tm.ones(1), protocol=2)[:-1] + b"}b.",
                          "Can only build Tensor, Parameter, OrderedDict"),
    "BUILD twice on a dtype": (b"\x80\x05" + F4 + b"(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff"
                               b"\xff\xff\xffK\x00tb(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff"
                               b"\xff\xff\xffK\x00tb.", "Can only build"),
    "dtype state that changes its size": (b"\x80\x05" + F4 + b"(K\x03\x8c\x01<NNNK\x08K\x08"
                                          b"K\x00tb.", "unexpected numpy.dtype state"),
    "OrderedDict __class__ attribute": (b"\x80\x02ccollections\nOrderedDict\n)R}X\t\x00\x00"
                                        b"\x00__class__Nsb.", "plain names"),
    "NEWOBJ of Size with text": (b"\x80\x04\x8c\x11tatamikomi.tensor\x8c\x04Size\x93"
                                 b"\x8c\x02ab\x85\x81.", "Size needs a sequence of ints"),
    "a tensor of objects": (b"\x80\x05\x8c\x11tatamikomi.tensor\x8c\x08_rebuild\x93"
                            b"\x8c\x01a\x89\x86R.", "a tensor needs a NumPy array"),
    "STACK_GLOBAL from memo strings": (b"\x80\x04\x8c\x02osq\x00\x8c\x06systemq\x01h\x00h\x01"
                                       b"\x93.", "whose module os is blocked"),
    "out-of-band buffer": (b"\x80\x05\x97.", "Unsupported operand 151"),
    "protocol 6": (b"\x80\x06N.", "unsupported pickle protocol: 6"),
    "protocol 0 string": (b"S'abc'\n.", "Unsupported operand 83"),
}


@pytest.mark.parametrize("data,why", OURS_ONLY.values(), ids=OURS_ONLY.keys())
def test_other_refusals_say_why(data, why):
    err = our_error(data)
    assert type(err) is pickle.UnpicklingError
    assert str(err).startswith("Weights only load failed.") and why in str(err)


def test_tuples_nested_too_deep_to_hash_are_refused():
    # hashing a 10**6-deep tuple (a dict key) recurses in C and kills the interpreter
    for tail in (b"Ns.", b"."):
        err = our_error(b"\x80\x02}" + b")" + b"\x85" * 10 ** 6 + tail)
        assert type(err) is pickle.UnpicklingError and "nested more than" in str(err)
    shallow = pickle.dumps({(((1,),),): 2}, protocol=2)
    assert tm.load(io.BytesIO(shallow)) == {(((1,),),): 2}


def test_shared_references_stay_shared():
    # 80 levels of (x, x) from the memo: 2**80 leaves if anything walked it as a tree
    data = b"\x80\x02]q\x00" + b"h\x00h\x00\x86q\x00" * 80 + b"."
    top = tm.load(io.BytesIO(data))
    assert top[0] is top[1] and top[0][0] is top[0][1]


# ----- damaged files

def test_empty_files_and_truncated_old_pickles_raise_eoferror(tmp_path):
    # (cut archives fail as torch's do: tests/test_torch_format.py)
    assert type(our_error(b"")) is type(torch_error(b"")) is EOFError
    path = tmp_path / "c.pt"
    data = pickle.dumps(checkpoint(), protocol=5)      # what save() wrote before torch's format
    for cut in sorted(random.Random(0).sample(range(1, len(data)), 300)):
        path.write_bytes(data[:cut])
        with pytest.raises(EOFError, match="truncated|Ran out"):
            tm.load(path)


def test_garbage_and_flipped_bytes_fail_only_with_unpickling_errors():
    rng = random.Random(0)
    data = pickle.dumps(checkpoint(), protocol=5) + pickle.dumps(ODDS, protocol=2)
    for _ in range(1500):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        garbage = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        for blob in (bytes(damaged), garbage, b"\x80\x02" + garbage):
            try:
                tm.load(io.BytesIO(blob))
            except SAFE:
                pass


@pytest.mark.parametrize("op,fmt", [(b"\x8e", "<Q"), (b"\x96", "<Q"), (b"\x8d", "<Q"),
                                    (b"B", "<I"), (b"X", "<I"), (b"\x8b", "<i"), (b"T", "<i")])
def test_huge_length_prefixes_allocate_nothing(op, fmt):
    tracemalloc.start()
    try:
        for n in {2 ** 31 - 1, 2 ** (8 * struct.calcsize(fmt) - 1) - 1}:
            with pytest.raises(EOFError, match="truncated"):
                tm.load(io.BytesIO(b"\x80\x05" + op + struct.pack(fmt, n) + b"abc"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2 ** 20


def test_negative_lengths_are_refused():
    for data in (b"\x80\x02T\xff\xff\xff\xffabc.", b"\x80\x02\x8b\xff\xff\xff\xff."):
        assert type(our_error(data)) in SAFE


# ----- load's other arguments, as torch.load

def test_map_location_and_mmap_and_keywords_as_torch(tmp_path):
    path = tmp_path / "t.pt"
    tm.save({"w": tm.ones(2)}, path)
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    for where in ("cuda", "cuda:0", {"cpu": "cuda"}, "xyz"):
        theirs = pytest.raises(RuntimeError, torch.load, tmp_path / "torch.pt",
                               map_location=where)
        with pytest.raises(RuntimeError) as ours:
            tm.load(path, map_location=where)
        assert str(ours.value) == str(theirs.value)
    for where in ("cpu", tm.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s):
        assert same(tm.load(path, map_location=where), {"w": tm.ones(2)})
    tm.save([1], tmp_path / "plain.pt")
    assert tm.load(tmp_path / "plain.pt", map_location="cuda") == [1]    # no tensor: no error
    legacy = str(tmp_path / "legacy.pt")
    torch.save([1], legacy, _use_new_zipfile_serialization=False)
    theirs = pytest.raises(RuntimeError, torch.load, legacy, mmap=True)
    old = legacy.replace("legacy", "old")            # a pickle save() wrote before the zip
    with open(old, "wb") as out:
        pickle.dump([tm.ones(1)], out)
    for name in (legacy, old):
        with pytest.raises(RuntimeError) as ours:
            tm.load(name, mmap=True)
        assert str(ours.value) == str(theirs.value).replace(legacy, name)
    for call in (lambda L, p: L.load(p, foo=1), lambda L, p: L.load(p, map_location=3),
                 lambda L, p: L.load(p, pickle, weights_only=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")           # torch: "pickle_load_args only works..."
            theirs = pytest.raises(Exception, call, torch, tmp_path / "torch.pt")
        ours = pytest.raises(Exception, call, tm, path)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)
    assert tm.load(path, pickle_module=pickle)["w"].shape == (2,)       # trusted: plain pickle


# ----- save

@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_mode_open_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        tm.save({"w": tm.ones(1)}, tmp_path / "c.pt")
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "c.pt").st_mode == os.stat(tmp_path / "plain").st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt", "plain"]


def test_remove_stale_temps_takes_only_old_files_of_ours(tmp_path):
    names = [".tmp-abcd1234", ".tmp-x_y9zz00", ".tmp-fresh123", ".tmp-curves.png", "notes.txt",
             ".tmp-abc", "checkpoint.pt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".tmp-dir00000").mkdir()
    old = os.path.getmtime(tmp_path / "notes.txt") - 3600
    for name in names[:2] + names[3:]:
        os.utime(tmp_path / name, (old, old))
    removed = serialization.remove_stale_temps(tmp_path)
    assert sorted(removed) == [".tmp-abcd1234", ".tmp-x_y9zz00"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".tmp-fresh123", ".tmp-curves.png", "notes.txt", ".tmp-abc", "checkpoint.pt",
         ".tmp-dir00000"])
    assert serialization.remove_stale_temps(tmp_path / "missing") == []


def test_an_interrupted_save_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    tm.save([1], tmp_path / "c.pt")

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        tm.save([2], tmp_path / "c.pt")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"] and tm.load(tmp_path / "c.pt") == [1]
