"""Coverage-guided fuzzing of the readers with atheris: `python benchmarks/fuzz_readers.py zip
-max_total_time=120` (targets: zip, pickle, legacy, safetensors; the rest are libFuzzer flags).

Each input must load or fail with one of our own exceptions (the unpickler's UnpicklingError,
EOFError, the zip reader's RuntimeError, safetensors' SafetensorError); anything else is a
crash that atheris reports with the input that caused it. Seeds are files torch writes.
`pip install atheris` first (tests/test_fuzz_readers.py runs a short seeded loop without it).
"""
import inspect
import io
import os
import pickle
import sys
import tempfile

import atheris

import tatamikomi as tm  # after atheris, before instrumenting
from tatamikomi import safetensors as st
from tatamikomi import serialization
from tatamikomi.serialization import _allowlist, _torch, _unpickle, _zip


def instrument():
    """Coverage hooks in the readers' own functions only: Numba's kernels cannot compile
    instrumented bytecode, so the rest of the package is left as it is."""
    for mod in (serialization, _allowlist, _torch, _unpickle, _zip, st):
        found = list(vars(mod).values()) + list(getattr(mod, "_OPS", {}).values())
        for obj in found:
            for fn in (vars(obj).values() if inspect.isclass(obj) else (obj,)):
                fn = getattr(fn, "__func__", fn)
                if inspect.isfunction(fn) and fn.__module__ == mod.__name__:
                    atheris.instrument_func(fn)


def allowed(e):
    if type(e) in (pickle.UnpicklingError, EOFError, st.SafetensorError, RuntimeError):
        return True
    return type(e) is ValueError and str(e).startswith("Unknown endianness type")


def seed_files():
    import torch
    base = torch.arange(6.0)
    obj = {"w": torch.nn.Parameter(torch.randn(2, 3)), "v": base[2:], "b": base,
           "meta": {"epoch": 1, "s": torch.Size([2]), "d": torch.float16}}
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save(obj, zipped)
    torch.save(obj, legacy, _use_new_zipfile_serialization=False)
    return zipped.getvalue(), legacy.getvalue()


def with_pickle(archive, pkl):
    reader = _zip.ZipReader(io.BytesIO(archive))
    out = io.BytesIO()
    writer = _zip.ZipWriter(out, "archive")
    for name in reader.names():
        writer.write_record(name, pkl if name == "data.pkl" else reader.read(name))
    writer.finish()
    return out.getvalue()


def main():
    instrument()
    target = sys.argv.pop(1) if len(sys.argv) > 1 else "zip"
    zipped, legacy = seed_files()
    if target == "pickle":
        pkl = bytes(_zip.ZipReader(io.BytesIO(zipped)).read("data.pkl"))
        seed, make = pkl, lambda d: with_pickle(zipped, d)
    elif target == "safetensors":
        seed, make = st.save({"w": tm.randn(3, 4), "b": tm.zeros(2, dtype=tm.int64)}), None
    else:
        seed, make = (legacy if target == "legacy" else zipped), None

    def one(data):
        try:
            if target == "safetensors":
                st.load(data)
            else:
                tm.load(io.BytesIO(make(data) if make else data))
        except Exception as e:
            if not allowed(e):
                raise

    corpus = os.path.join(tempfile.gettempdir(), f"tatamikomi-fuzz-{target}")   # libFuzzer's
    os.makedirs(corpus, exist_ok=True)
    with open(os.path.join(corpus, "seed"), "wb") as f:
        f.write(seed)
    atheris.Setup(sys.argv + [corpus], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
