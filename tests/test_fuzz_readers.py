"""A short seeded fuzz of the readers: torch's zip archive, the pickle inside it (rewritten with a
correct CRC, so the mutations reach the unpickler), torch's legacy stream and the safetensors
header. Every input must load or fail with one of our own exceptions, quickly, without a large
allocation and without touching the disk. (benchmarks/fuzz_readers.py runs the same readers
under atheris for longer.)"""
import io
import json
import os
import pickle
import random
import struct
import time
import tracemalloc

import torch

import tatamikomi as tm
from tatamikomi import safetensors as st
from tatamikomi.serialization import _zip


def allowed(e):
    """Our refusals: the unpickler's, a short file's, the zip reader's (torch's words)."""
    if type(e) in (pickle.UnpicklingError, EOFError, st.SafetensorError):
        return True
    if type(e) is RuntimeError:                       # not RecursionError, its subclass
        return True
    return type(e) is ValueError and str(e).startswith("Unknown endianness type")


def seeds():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(1, 1, 5, 5)).sum().backward()
    opt.step()
    base = torch.arange(6.0)
    obj = {"model": model.state_dict(), "opt": opt.state_dict(), "view": base[2:],
           "base": base, "meta": {"epoch": 3, "s": torch.Size([2]), "d": torch.float16}}
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save(obj, zipped)
    torch.save(obj, legacy, _use_new_zipfile_serialization=False)
    return zipped.getvalue(), legacy.getvalue()


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind, at = rng.randrange(5), rng.randrange(max(1, len(data)))
        if kind == 0:
            data[at] = rng.randrange(256)
        elif kind == 1:
            del data[at:at + rng.randint(1, 16)]
        elif kind == 2:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 3:                               # an interesting integer
            data[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF,
                                                            len(data), 2 ** 31]))
        else:
            data = data[:at]
    return bytes(data)


def with_pickle(archive, pkl):
    """archive with its data.pkl replaced (a valid zip: the CRC matches the new bytes)."""
    reader = _zip.ZipReader(io.BytesIO(archive))
    out = io.BytesIO()
    writer = _zip.ZipWriter(out, "archive")
    for name in reader.names():
        writer.write_record(name, pkl if name == "data.pkl" else reader.read(name))
    writer.finish()
    return out.getvalue()


def check(read, inputs, tmp_path):
    """read(bytes) on each input: loads or refuses as ours; time, memory, disk as promised."""
    before = sorted(os.listdir(tmp_path))
    slowest = 0.0
    tracemalloc.start()
    try:
        for data in inputs:
            t0 = time.perf_counter()
            try:
                read(data)
            except Exception as e:  # each exception is judged by allowed()
                assert allowed(e), f"{type(e).__name__}: {e}"
            slowest = max(slowest, time.perf_counter() - t0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert slowest < 2.0, f"an input took {slowest:.2f} s"
    assert peak < 64 * 2 ** 20, f"peak allocation {peak / 2 ** 20:.0f} MB for inputs of KBs"
    assert sorted(os.listdir(tmp_path)) == before


def test_fuzz_zip_archives(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    zipped, _ = seeds()
    rng = random.Random(0)
    check(lambda d: tm.load(io.BytesIO(d)), [mutate(rng, zipped) for _ in range(400)], tmp_path)


def test_fuzz_the_pickle_inside_an_archive(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    zipped, _ = seeds()
    pkl = bytes(_zip.ZipReader(io.BytesIO(zipped)).read("data.pkl"))
    rng = random.Random(1)
    inputs = [with_pickle(zipped, mutate(rng, pkl)) for _ in range(400)]
    check(lambda d: tm.load(io.BytesIO(d)), inputs, tmp_path)


def test_fuzz_legacy_streams(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, legacy = seeds()
    rng = random.Random(2)
    check(lambda d: tm.load(io.BytesIO(d)), [mutate(rng, legacy) for _ in range(400)], tmp_path)


def test_fuzz_safetensors_headers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = st.save({"w": tm.randn(3, 4), "b": tm.zeros(4, dtype=tm.int64),
                    "m": tm.ones(2, dtype=tm.bool)}, {"format": "pt"})
    n = struct.unpack("<Q", data[:8])[0]
    header, body = data[8:8 + n], data[8 + n:]
    rng = random.Random(3)
    inputs = []
    for _ in range(300):
        h = mutate(rng, header)
        inputs.append(struct.pack("<Q", len(h)) + h + body)       # the length kept true
        inputs.append(mutate(rng, data))
    text = json.loads(header)
    for key in ("w", "b"):                                        # structured lies
        for lie in ([0, 10 ** 12], [10 ** 12, 0], [-1, 4], [4, 4]):
            t = {**text, key: {**text[key], "data_offsets": lie}}
            h = json.dumps(t).encode()
            inputs.append(struct.pack("<Q", len(h)) + h + body)
    check(st.load, inputs, tmp_path)
