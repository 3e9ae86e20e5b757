"""vision.datasets.MNIST: tiny IDX files written here, downloads from a local server, real data."""
import gzip
import hashlib
import http.server
import os
import socket
import threading
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import tatamikomi as tm
from tatamikomi.utils.data import DataLoader, Subset, default_collate
from tatamikomi.vision import datasets, transforms

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
TF = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])


def idx_bytes(array):
    """An IDX file of uint8: magic 0x0000080<ndim>, big-endian dims, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def tiny_arrays(n_train=10, n_test=4):
    rng = np.random.default_rng(0)
    return {
        NAMES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        NAMES[1]: (np.arange(n_train) * 3 % 10).astype(np.uint8),
        NAMES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        NAMES[3]: np.arange(n_test, dtype=np.uint8)[::-1].copy(),
    }


def write_raw(folder, arrays, gz=False, names=NAMES):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = idx_bytes(arrays[name])
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.fixture
def tiny():
    return tiny_arrays()


@pytest.fixture(autouse=True)
def no_data_env(monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_DATA", raising=False)   # the user's folder must not leak in
    # the tiny files written here are not MNIST's: their md5s differ by design
    monkeypatch.setenv(datasets.CHECK_MD5, "0")


def with_md5s_of(monkeypatch, arrays):
    """Check md5s again, with the tiny arrays' files standing in for MNIST's."""
    monkeypatch.delenv(datasets.CHECK_MD5)
    monkeypatch.setattr(datasets.MNIST, "raw_md5s",
                        {n: hashlib.md5(idx_bytes(a)).hexdigest() for n, a in arrays.items()})


# ----- reading

@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("train", [True, False])
def test_reads_tiny_idx_files(tmp_path, tiny, gz, train):
    write_raw(tmp_path / "MNIST" / "raw", tiny, gz=gz)
    ds = datasets.MNIST(tmp_path, train=train)
    images, labels = (tiny[NAMES[0]], tiny[NAMES[1]]) if train else (tiny[NAMES[2]], tiny[NAMES[3]])
    assert len(ds) == len(images)
    assert ds.data.dtype == tm.uint8 and ds.data.shape == images.shape
    assert ds.targets.dtype == tm.int64 and ds.targets.shape == (len(images),)
    np.testing.assert_array_equal(ds.data.array, images)
    np.testing.assert_array_equal(ds.targets.array, labels)
    img, target = ds[3]
    assert type(target) is int and target == labels[3]
    np.testing.assert_array_equal(np.asarray(img), images[3])
    assert getattr(img, "mode", "L") == "L"               # a PIL image when Pillow is installed


def test_transforms_and_classes(tmp_path, tiny):
    write_raw(tmp_path / "MNIST" / "raw", tiny)
    ds = datasets.MNIST(str(tmp_path), transform=TF, target_transform=lambda y: y + 100)
    x, y = ds[2]
    assert x.shape == (1, 28, 28) and x.dtype == tm.float32
    want = (tiny[NAMES[0]][2] / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(x.array[0], want, rtol=1e-6)
    assert y == int(tiny[NAMES[1]][2]) + 100
    assert ds.classes[0] == "0 - zero" and ds.classes[9] == "9 - nine" and len(ds.classes) == 10
    assert ds.class_to_idx["5 - five"] == 5


def test_repr(tmp_path, tiny):
    write_raw(tmp_path / "MNIST" / "raw", tiny)
    root = str(tmp_path)
    assert repr(datasets.MNIST(root, train=False)) == (
        f"Dataset MNIST\n    Number of datapoints: 4\n    Root location: {root}\n    Split: Test")
    assert repr(datasets.MNIST(root, transform=TF)) == (
        "Dataset MNIST\n"
        "    Number of datapoints: 10\n"
        f"    Root location: {root}\n"
        "    Split: Train\n"
        "    StandardTransform\n"
        "Transform: Compose(\n"
        "               ToTensor()\n"
        "               Normalize(mean=(0.1307,), std=(0.3081,))\n"
        "           )")


@pytest.mark.parametrize("tf", [TF, transforms.Compose([transforms.ToTensor()]),
                                transforms.ToTensor(), None],
                         ids=["norm", "tensor", "bare", "none"])
def test_batch_fast_path_equals_per_sample(tmp_path, tiny, tf):
    write_raw(tmp_path / "MNIST" / "raw", tiny)
    ds = datasets.MNIST(tmp_path, transform=tf)
    idx = [9, 0, 4, 4, 7]
    if tf is None:                                        # PIL images: neither path can collate
        with pytest.raises(TypeError, match="default_collate: batch must contain"):
            ds.get_batch(idx)
        return
    fast, slow = ds.get_batch(idx), default_collate([ds[i] for i in idx])
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.array, b.array)
    loader = DataLoader(Subset(ds, [1, 3, 5, 7, 9]), batch_size=2)
    x, y = next(iter(loader))
    assert x.shape == (2, 1, 28, 28) and y.tolist() == [int(tiny[NAMES[1]][i]) for i in (1, 3)]


def test_non_batchable_transform_falls_back(tmp_path, tiny):
    write_raw(tmp_path / "MNIST" / "raw", tiny)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x * 2)])
    ds = datasets.MNIST(tmp_path, transform=tf, target_transform=lambda y: -y)
    x, y = ds.get_batch([1, 2])
    np.testing.assert_array_equal(x.array[:, 0], tiny[NAMES[0]][1:3] / np.float32(255) * 2)
    assert y.tolist() == [-int(v) for v in tiny[NAMES[1]][1:3]]


# ----- broken and missing files

def test_bad_magic(tmp_path, tiny):
    raw = tmp_path / "MNIST" / "raw"
    write_raw(raw, tiny)
    (raw / NAMES[1]).write_bytes(idx_bytes(tiny[NAMES[0]]))          # images where labels go
    with pytest.raises(RuntimeError, match=r"train-labels-idx1-ubyte: bad IDX magic number 2051 "
                                           r"\(0x00000803\); expected 2049"):
        datasets.MNIST(tmp_path)


@pytest.mark.parametrize("cut, what", [(-5, "truncated"), (4, "truncated"), (None, "trailing")])
def test_truncated_or_padded(tmp_path, tiny, cut, what):
    raw = tmp_path / "MNIST" / "raw"
    write_raw(raw, tiny)
    data = idx_bytes(tiny[NAMES[0]])
    (raw / NAMES[0]).write_bytes(data + b"\0" if cut is None else data[:cut])
    with pytest.raises(RuntimeError, match=f"train-images-idx3-ubyte: .*{what}|too short"):
        datasets.MNIST(tmp_path)


def test_corrupt_gzip_and_count_mismatch(tmp_path, tiny):
    raw = tmp_path / "MNIST" / "raw"
    write_raw(raw, tiny, gz=True)
    good = (raw / f"{NAMES[0]}.gz").read_bytes()
    (raw / f"{NAMES[0]}.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.gz: not a readable gzip"):
        datasets.MNIST(tmp_path)
    (raw / f"{NAMES[0]}.gz").write_bytes(good)
    (raw / f"{NAMES[1]}.gz").write_bytes(gzip.compress(idx_bytes(tiny[NAMES[1]][:7])))
    with pytest.raises(RuntimeError, match="holds 10 images but .* holds 7 labels"):
        datasets.MNIST(tmp_path)


def test_missing_files_name_every_path(tmp_path, tiny, monkeypatch):
    env = tmp_path / "elsewhere"
    monkeypatch.setenv("TATAMIKOMI_DATA", str(env))
    write_raw(tmp_path / "MNIST" / "raw", tiny, names=NAMES[:1])    # labels missing
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path)
    msg = str(info.value)
    assert msg.startswith("Dataset not found.") and "download=True" in msg
    assert "TATAMIKOMI_DATA" in msg
    for folder in (tmp_path / "MNIST" / "raw", env / "MNIST" / "raw", env):
        for name in (NAMES[1], f"{NAMES[1]}.gz"):
            assert f"\n    {folder / name}" in msg
    assert f"{NAMES[0]}.gz" not in msg                    # the images were found


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_a_changed_byte_fails_the_md5_check_naming_the_file(tmp_path, tiny, monkeypatch, gz):
    with_md5s_of(monkeypatch, tiny)
    raw = tmp_path / "MNIST" / "raw"
    write_raw(raw, tiny, gz=gz)
    datasets.MNIST(tmp_path)                                # intact: loads
    changed = dict(tiny)
    changed[NAMES[0]] = tiny[NAMES[0]].copy()
    changed[NAMES[0]][3, 4, 5] ^= 1                         # one pixel, one bit
    write_raw(raw, changed, gz=gz, names=NAMES[:1])        # a new file: checked again
    name = NAMES[0] + (".gz" if gz else "")
    with pytest.raises(RuntimeError, match=f"{name}: md5 .* is not MNIST's .*TATAMIKOMI_CHECK"):
        datasets.MNIST(tmp_path)
    datasets.MNIST(tmp_path, train=False)                   # the test split is untouched
    monkeypatch.setenv(datasets.CHECK_MD5, "0")             # changed on purpose: the opt-out
    np.testing.assert_array_equal(datasets.MNIST(tmp_path).data.array, changed[NAMES[0]])


def test_a_label_out_of_range_fails_at_load_naming_the_file(tmp_path, tiny):
    tiny[NAMES[1]][6] = 200
    write_raw(tmp_path / "MNIST" / "raw", tiny)
    with pytest.raises(RuntimeError, match=f"{NAMES[1]}: label 200 at index 6 is not a class 0-9"):
        datasets.MNIST(tmp_path)
    datasets.MNIST(tmp_path, train=False)


def gzip_of(header, n_zeros, chunk=1 << 22):
    """header followed by n_zeros zero bytes, gzipped a chunk at a time."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)             # 31: the gzip container
    parts, zeros = [z.compress(header)], bytes(chunk)
    for start in range(0, n_zeros, chunk):
        parts.append(z.compress(zeros[:min(chunk, n_zeros - start)]))
    return b"".join(parts + [z.flush()])


@pytest.mark.parametrize("dims, n_zeros, why", [
    ((250_000, 28, 28), 250_000 * 784, "holds at most 60000 x 28 x 28"),
    ((10, 28, 28), 200 * 2 ** 20, "has trailing bytes"),
    ((60000, 28, 28), 10 * 784, "truncated"),
])
def test_a_gzip_bomb_is_refused_before_it_inflates(tmp_path, tiny, dims, n_zeros, why):
    raw = tmp_path / "MNIST" / "raw"
    write_raw(raw, tiny, gz=True)
    header = bytes([0, 0, 8, 3]) + np.array(dims, ">u4").tobytes()
    (raw / f"{NAMES[0]}.gz").write_bytes(gzip_of(header, n_zeros))
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=f"{NAMES[0]}.gz: .*{why}"):
            datasets.MNIST(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2 ** 20               # at most one real train-images file, never 200 MB


def test_tatamikomi_data_fallback(tmp_path, tiny, monkeypatch):
    write_raw(tmp_path / "shared", tiny, gz=True)
    monkeypatch.setenv("TATAMIKOMI_DATA", str(tmp_path / "shared"))
    ds = datasets.MNIST(tmp_path / "root", train=False)
    np.testing.assert_array_equal(ds.data.array, tiny[NAMES[2]])


# ----- downloads from a local server

class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the folder the server names; /short/* promises more bytes than it sends."""

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server, directory=server.folder)

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b only the start")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> a mirror URL on 127.0.0.1 for that folder; servers stop after the test."""
    servers = []

    def start(folder):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.folder, server.requests = str(folder), []
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def dead_mirror():
    """A URL on a port that was just free: nothing listens there, so connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def mirror_files(tmp_path, tiny):
    """A folder of the four tiny .gz files, a folder of corrupted ones, and their resources."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    write_raw(good, tiny, gz=True)
    bad.mkdir()
    resources = []
    for name in NAMES:
        data = (good / f"{name}.gz").read_bytes()
        resources.append((f"{name}.gz", hashlib.md5(data).hexdigest()))
        (bad / f"{name}.gz").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    return good, bad, resources


def assert_downloaded(root, tiny):
    raw = root / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(NAMES + tuple(f"{n}.gz" for n in NAMES))
    for name in NAMES:
        assert (raw / name).read_bytes() == idx_bytes(tiny[name])


def test_download_from_good_mirror(tmp_path, tiny, serve, mirror_files):
    good, _, resources = mirror_files
    url, server = serve(good)
    root = tmp_path / "root"
    ds = datasets.MNIST(root, download=True, mirrors=[url], resources=resources)
    np.testing.assert_array_equal(ds.data.array, tiny[NAMES[0]])
    assert_downloaded(root, tiny)
    assert len(server.requests) == 4
    # everything present and valid: nothing is fetched again, even from a dead mirror
    datasets.MNIST(root, train=False, download=True, mirrors=[dead_mirror()], resources=resources)
    assert len(server.requests) == 4


def test_download_skips_valid_raw_files(tmp_path, tiny, mirror_files):
    _, _, resources = mirror_files
    write_raw(tmp_path / "MNIST" / "raw", tiny)             # raw only, no .gz to check
    ds = datasets.MNIST(tmp_path, download=True, mirrors=[dead_mirror()], resources=resources)
    np.testing.assert_array_equal(ds.targets.array, tiny[NAMES[1]])


def test_dead_mirror_then_good(tmp_path, tiny, serve, mirror_files):
    good, _, resources = mirror_files
    url, _ = serve(good)
    datasets.MNIST(tmp_path / "root", download=True, mirrors=[dead_mirror(), url],
                   resources=resources)
    assert_downloaded(tmp_path / "root", tiny)


@pytest.mark.parametrize("first", ["corrupt", "missing", "short"])
def test_bad_first_mirror_then_good(tmp_path, tiny, serve, mirror_files, first):
    good, bad, resources = mirror_files
    bad_url, _ = serve(bad if first == "corrupt" else tmp_path / "empty")
    if first == "short":
        bad_url += "short/"
    (tmp_path / "empty").mkdir()
    url, _ = serve(good)
    datasets.MNIST(tmp_path / "root", download=True, mirrors=[bad_url, url], resources=resources)
    assert_downloaded(tmp_path / "root", tiny)


def test_class_attribute_override(tmp_path, tiny, serve, mirror_files, monkeypatch):
    good, _, resources = mirror_files
    url, _ = serve(good)
    monkeypatch.setattr(datasets.MNIST, "mirrors", [url])
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    datasets.MNIST(tmp_path / "root", download=True)
    assert_downloaded(tmp_path / "root", tiny)


def test_raw_file_failing_its_md5_is_downloaded_again(tmp_path, tiny, serve, mirror_files,
                                                      monkeypatch):
    with_md5s_of(monkeypatch, tiny)
    good, _, resources = mirror_files
    url, server = serve(good)
    raw = tmp_path / "root" / "MNIST" / "raw"
    changed = dict(tiny, **{NAMES[1]: (tiny[NAMES[1]] + 1) % 10})    # valid labels, wrong md5
    write_raw(raw, changed)
    ds = datasets.MNIST(tmp_path / "root", download=True, mirrors=[url], resources=resources)
    np.testing.assert_array_equal(ds.targets.array, tiny[NAMES[1]])
    assert server.requests == [f"/{NAMES[1]}.gz"]


def test_corrupt_raw_file_is_replaced(tmp_path, tiny, serve, mirror_files):
    good, _, resources = mirror_files
    url, _ = serve(good)
    raw = tmp_path / "root" / "MNIST" / "raw"
    write_raw(raw, tiny)
    (raw / NAMES[0]).write_bytes(b"junk")
    ds = datasets.MNIST(tmp_path / "root", download=True, mirrors=[url], resources=resources)
    np.testing.assert_array_equal(ds.data.array, tiny[NAMES[0]])


def test_all_mirrors_bad(tmp_path, serve, mirror_files):
    _, bad, resources = mirror_files
    (tmp_path / "empty").mkdir()
    mirrors = [dead_mirror(), serve(tmp_path / "empty")[0], serve(bad)[0],
               serve(tmp_path / "empty")[0] + "short/"]
    root = tmp_path / "root"
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(root, download=True, mirrors=mirrors, resources=resources)
    msg = str(info.value)
    for name in NAMES:
        for m in mirrors:
            assert f"{m}{name}.gz: " in msg
        assert str(root / "MNIST" / "raw" / name) in msg
    assert "Connection refused" in msg or "urlopen error" in msg
    assert "404" in msg and "md5" in msg and "TATAMIKOMI_DATA" in msg
    assert os.listdir(root / "MNIST" / "raw") == []       # no partial or temporary file


def test_write_atomic_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "f.gz"
    dest.write_bytes(b"old")
    with pytest.raises(TypeError):
        datasets._write_atomic(dest, "not bytes")         # fails inside the write
    assert os.listdir(tmp_path) == ["f.gz"] and dest.read_bytes() == b"old"
    datasets._write_atomic(dest, b"new")
    assert os.listdir(tmp_path) == ["f.gz"] and dest.read_bytes() == b"new"


# ----- the real MNIST, when a copy sits beside the repository

REAL = Path(os.environ.get("TATAMIKOMI_MNIST_RAW")
            or Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist")


@pytest.mark.skipif(not REAL.is_dir(), reason=f"no MNIST copy at {REAL}")
def test_real_mnist(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.CHECK_MD5)                # the real files pass their md5s
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES:
        src = REAL / name if (REAL / name).exists() else REAL / f"{name}.gz"
        (raw / src.name).symlink_to(src.resolve())
    train, test = datasets.MNIST(tmp_path), datasets.MNIST(tmp_path, train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert train.data.shape == (60000, 28, 28) and train.targets[0].item() == 5
    assert test.targets[0].item() == 7
    assert abs(train.data.array.mean() / 255 - 0.1307) < 5e-4
    assert np.bincount(train.targets.array).tolist()[:2] == [5923, 6742]
    for name in NAMES:
        path = raw / name
        if path.exists():
            assert datasets.check_md5(path, datasets.RAW_MD5S[name])
    train.transform = TF                                  # a whole-batch transform: fast path
    x, y = next(iter(DataLoader(train, batch_size=1000)))
    assert x.shape == (1000, 1, 28, 28) and y[:3].tolist() == [5, 0, 4]
    np.testing.assert_array_equal(x.array[999], train[999][0].array)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"no MNIST copy at {REAL}")
def test_real_labels_with_one_label_changed_fail_their_md5(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.CHECK_MD5)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / NAMES[2]).symlink_to((REAL / NAMES[2]).resolve())
    labels = bytearray((REAL / NAMES[3]).read_bytes())
    labels[8 + 17] = (labels[8 + 17] + 1) % 10              # still a digit, now the wrong one
    (raw / NAMES[3]).write_bytes(bytes(labels))             # a copy: never write through a link
    with pytest.raises(RuntimeError, match=f"{NAMES[3]}: md5 .* is not MNIST's "
                                           f"{datasets.RAW_MD5S[NAMES[3]]}"):
        datasets.MNIST(tmp_path, train=False)
