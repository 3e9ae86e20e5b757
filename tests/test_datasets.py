"""vision.datasets beyond MNIST: the IDX family, CIFAR (files in its exact format, served locally),
safe extraction, FakeData against torch's draws, and the folder datasets."""
import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import tatamikomi as tm
from tatamikomi.utils.data import DataLoader, default_collate
from tatamikomi.vision import datasets, transforms

Image = pytest.importorskip("PIL.Image")

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture(autouse=True)
def no_data_env(monkeypatch):
    monkeypatch.delenv("TATAMIKOMI_DATA", raising=False)
    monkeypatch.delenv(datasets.CHECK_MD5, raising=False)


# ----- the IDX family

FASHION = Path(os.environ.get("TATAMIKOMI_FASHION_MNIST")
               or Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion-mnist")


def link_fashion(root):
    """root/FashionMNIST/raw with links to the four read-only .gz files (never written)."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES:
        (raw / f"{name}.gz").symlink_to((FASHION / "FashionMNIST" / "raw" / f"{name}.gz")
                                        .resolve())
    return raw


@pytest.mark.skipif(not FASHION.is_dir(), reason=f"no Fashion-MNIST copy at {FASHION}")
def test_real_fashion_mnist(tmp_path):
    link_fashion(tmp_path)
    train = datasets.FashionMNIST(tmp_path)
    test = datasets.FashionMNIST(tmp_path, train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert train.targets[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]   # its README's facts
    assert np.bincount(train.targets.array).tolist() == [6000] * 10
    assert np.bincount(test.targets.array).tolist() == [1000] * 10
    assert abs(train.data.array.mean() / 255 - 0.2860) < 5e-5
    # the bytes the dataset holds are the file's: decoded here by hand from the gzip
    raw = gzip.decompress((tmp_path / "FashionMNIST" / "raw" / f"{NAMES[2]}.gz").read_bytes())
    np.testing.assert_array_equal(test.data.array[123],
                                  np.frombuffer(raw, np.uint8, 784, 16 + 123 * 784)
                                  .reshape(28, 28))
    img, y = test[123]
    assert img.mode == "L" and y == int(test.targets[123]) and test.classes[9] == "Ankle boot"
    assert repr(test).startswith("Dataset FashionMNIST\n    Number of datapoints: 10000")


@pytest.mark.skipif(not FASHION.is_dir(), reason=f"no Fashion-MNIST copy at {FASHION}")
def test_fashion_mnist_with_one_label_changed_fails_its_md5(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / f"{NAMES[2]}.gz").symlink_to((FASHION / "FashionMNIST" / "raw" / f"{NAMES[2]}.gz")
                                        .resolve())
    labels = bytearray(gzip.decompress(
        (FASHION / "FashionMNIST" / "raw" / f"{NAMES[3]}.gz").read_bytes()))
    labels[8 + 5] = (labels[8 + 5] + 1) % 10               # a copy, changed in tmp_path
    (raw / NAMES[3]).write_bytes(bytes(labels))
    with pytest.raises(RuntimeError, match=f"md5 .* is not FashionMNIST's "
                                           f"{datasets.FashionMNIST.raw_md5s[NAMES[3]]}"):
        datasets.FashionMNIST(tmp_path, train=False)


def tiny_idx(folder, names, n=6, classes=10):
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name in names:
        a = (rng.integers(0, 256, (n, 28, 28)) if "images" in name
             else rng.integers(0, classes, n)).astype(np.uint8)
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(a)))
        arrays[name] = a
    return arrays


def test_kmnist_reads_its_own_folder(tmp_path):
    arrays = tiny_idx(tmp_path / "KMNIST" / "raw", NAMES)
    ds = datasets.KMNIST(tmp_path, train=False)
    np.testing.assert_array_equal(ds.data.array, arrays[NAMES[2]])
    assert ds.classes == ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
    with pytest.raises(RuntimeError, match="Dataset not found. MNIST needs"):
        datasets.MNIST(tmp_path)                           # KMNIST's files are not MNIST's


@pytest.mark.parametrize("split,train", [("letters", True), ("balanced", False)])
def test_emnist_split_files_and_classes(tmp_path, split, train):
    part = "train" if train else "test"
    names = [f"emnist-{split}-{part}-images-idx3-ubyte", f"emnist-{split}-{part}-labels-idx1-ubyte"]
    n_classes = {"letters": 27, "balanced": 47}[split]
    arrays = tiny_idx(tmp_path / "EMNIST" / "raw", names, classes=n_classes)
    ds = datasets.EMNIST(tmp_path, split=split, train=train)
    np.testing.assert_array_equal(ds.data.array, arrays[names[0]])
    assert ds.targets.tolist() == arrays[names[1]].tolist()
    assert len(ds.classes) == n_classes and ds.images_file.endswith(names[0])
    if split == "letters":
        assert ds.classes[:3] == ["N/A", "a", "b"]


def test_emnist_unknown_split_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError) as info:
        datasets.EMNIST(tmp_path, split="lowercase")
    for name in datasets.EMNIST.splits:
        assert f"'{name}'" in str(info.value)
    assert "'lowercase'" in str(info.value) and "split" in str(info.value)


# ----- CIFAR in its exact format: Python 2 cPickle protocol 2, as the published batches are

def py2_pickle(obj):
    """The bytes Python 2's cPickle.dump(obj, f, 2) writes for a CIFAR batch (no memo)."""
    out = bytearray(b"\x80\x02")

    def emit(x):
        if isinstance(x, dict):
            out.extend(b"}(")
            for k, v in x.items():
                emit(k)
                emit(v)
            out.extend(b"u")
        elif isinstance(x, list):
            out.extend(b"](")
            for v in x:
                emit(v)
            out.extend(b"e")
        elif isinstance(x, str):                          # a Python 2 str: bytes on disk
            raw = x.encode("latin-1")
            out.extend(b"U" + bytes([len(raw)]) + raw if len(raw) < 256
                       else b"T" + struct.pack("<i", len(raw)) + raw)
        elif isinstance(x, bool) or x is None:
            raise TypeError(x)
        elif isinstance(x, int):
            out.extend(b"K" + bytes([x]) if 0 <= x < 256 else
                       b"M" + struct.pack("<H", x) if 0 <= x < 65536 else
                       b"J" + struct.pack("<i", x))
        elif isinstance(x, np.ndarray):
            # _reconstruct(ndarray, (0,), 'b'), then BUILD with (1, shape, dtype, False, raw)
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b"
                       b"\x87R(K\x01")
            out.extend(b"(")
            for d in x.shape:
                emit(d)
            out.extend(b"t")
            out.extend(b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xff"
                       b"J\xff\xff\xff\xffK\x00tbI00\n")
            raw = x.tobytes()
            out.extend(b"T" + struct.pack("<i", len(raw)) + raw)
            out.extend(b"tb")
        else:
            raise TypeError(type(x))

    emit(obj)
    out.extend(b".")
    return bytes(out)


def cifar_files(n_per_batch=4, n_classes=10, hundred=False):
    """{file name: bytes} of a tiny CIFAR-10 (or -100) folder, and the arrays they hold."""
    rng = np.random.default_rng(2)
    files, arrays = {}, {}
    names = ["train", "test"] if hundred else [f"data_batch_{i}" for i in range(1, 6)] + \
        ["test_batch"]
    for name in names:
        data = rng.integers(0, 256, (n_per_batch, 3072)).astype(np.uint8)
        labels = [int(v) for v in rng.integers(0, n_classes, n_per_batch)]
        entry = {"batch_label": f"{name} of 5", "data": data,
                 "filenames": [f"img_{i}.png" for i in range(n_per_batch)]}
        if hundred:
            entry.update(fine_labels=labels, coarse_labels=[y // 5 for y in labels])
        else:
            entry["labels"] = labels
        files[name], arrays[name] = py2_pickle(entry), (data, labels)
    if hundred:
        files["meta"] = py2_pickle({"fine_label_names": [f"fine{i}" for i in range(n_classes)],
                                    "coarse_label_names": [f"coarse{i}" for i in range(20)]})
    else:
        files["batches.meta"] = py2_pickle({"label_names": [f"class{i}" for i in range(10)],
                                            "num_cases_per_batch": n_per_batch,
                                            "num_vis": 3072})
    return files, arrays


def tiny_cifar_class(base, files, tgz=None, url=None):
    """A CIFAR class whose md5s are the tiny files' (everything else is the real class's)."""
    meta_name = base.meta["filename"]
    attrs = {"train_list": [[n, md5(files[n])] for n, _ in base.train_list],
             "test_list": [[n, md5(files[n])] for n, _ in base.test_list],
             "meta": dict(base.meta, md5=md5(files[meta_name]))}
    if tgz is not None:
        attrs.update(tgz_md5=md5(tgz), url=url)
    return type(base.__name__, (base,), attrs)


def write_folder(root, folder, files):
    d = root / folder
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data)


def test_py2_pickle_writer_is_what_pickle_reads():
    files, arrays = cifar_files()
    entry = pickle.loads(files["data_batch_2"], encoding="latin1")     # the oracle reader
    np.testing.assert_array_equal(entry["data"], arrays["data_batch_2"][0])
    assert entry["labels"] == arrays["data_batch_2"][1] and entry["batch_label"] == \
        "data_batch_2 of 5"


@pytest.mark.parametrize("train", [True, False])
def test_cifar10_reads_the_batches_as_torchvision(tmp_path, train):
    files, arrays = cifar_files()
    write_folder(tmp_path, "cifar-10-batches-py", files)
    ds = tiny_cifar_class(datasets.CIFAR10, files)(tmp_path, train=train)
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    # torchvision's own steps, with Python's pickle: vstack, (N, 3, 32, 32), to HWC
    want = np.vstack([pickle.loads(files[n], encoding="latin1")["data"] for n in names])
    want = want.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(ds.data, want)
    assert ds.targets == [y for n in names for y in arrays[n][1]]
    assert ds.classes[3] == "class3" and ds.class_to_idx["class7"] == 7
    img, y = ds[1]
    assert img.mode == "RGB" and img.size == (32, 32) and y == ds.targets[1]
    np.testing.assert_array_equal(np.asarray(img), want[1])
    ds.transform = transforms.Compose([transforms.ToTensor(),
                                       transforms.Normalize((0.5,) * 3, (0.25,) * 3)])
    fast, slow = ds.get_batch([3, 0, 2]), default_collate([ds[i] for i in (3, 0, 2)])
    np.testing.assert_array_equal(fast[0].array, slow[0].array)
    assert fast[1].tolist() == slow[1].tolist() and fast[0].shape == (3, 3, 32, 32)
    assert repr(ds).splitlines()[:4] == [
        "Dataset CIFAR10", f"    Number of datapoints: {len(want)}",
        f"    Root location: {tmp_path}", f"    Split: {'Train' if train else 'Test'}"]


def test_cifar100_fine_labels(tmp_path):
    files, arrays = cifar_files(n_classes=100, hundred=True)
    write_folder(tmp_path, "cifar-100-python", files)
    ds = tiny_cifar_class(datasets.CIFAR100, files)(tmp_path, train=False)
    assert ds.targets == arrays["test"][1] and len(ds.classes) == 100
    assert ds.classes[42] == "fine42"


def test_cifar_missing_or_changed_files(tmp_path):
    files, _ = cifar_files()
    cls = tiny_cifar_class(datasets.CIFAR10, files)
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use "
                                           "download=True to download it"):
        cls(tmp_path)
    write_folder(tmp_path, "cifar-10-batches-py", files)
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:-2] + b"\x00.")    # one pixel changed
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        cls(tmp_path)


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_cifar_batch_naming_code_is_refused_and_never_runs(tmp_path, monkeypatch):
    files, _ = cifar_files()
    evil = pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [Boom()]}, protocol=4)
    files["test_batch"] = evil
    write_folder(tmp_path, "cifar-10-batches-py", files)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match=r"test_batch: not a readable CIFAR batch: "
                                           r"posix\.system is not allowed"):
        tiny_cifar_class(datasets.CIFAR10, files)(tmp_path, train=False)
    assert not (tmp_path / "pwned").exists()


def test_cifar_batch_read_as_plain_python3_pickle(tmp_path):
    """A copy re-saved by Python 3 (bytes keys, protocols 2 and 4) reads the same."""
    files, arrays = cifar_files()
    entry = pickle.loads(files["test_batch"], encoding="bytes")
    files["test_batch"] = pickle.dumps(entry, protocol=4)
    files["data_batch_1"] = pickle.dumps(entry, protocol=2)
    write_folder(tmp_path, "cifar-10-batches-py", files)
    cls = tiny_cifar_class(datasets.CIFAR10, files)
    assert cls(tmp_path, train=False).targets == arrays["test_batch"][1]
    assert cls(tmp_path).targets[:4] == arrays["test_batch"][1]


# ----- downloads and extraction

class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server, directory=server.folder)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(folder):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.folder = str(folder)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def tar_gz(members):
    """A .tar.gz of (name, bytes or a TarInfo-customizing function) members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if callable(data):
                data(info)
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cifar10_download_checks_md5_and_extracts(tmp_path, serve):
    files, arrays = cifar_files()
    tgz = tar_gz([(f"cifar-10-batches-py/{n}", d) for n, d in files.items()])
    site = tmp_path / "site"
    site.mkdir()
    (site / "cifar-10-python.tar.gz").write_bytes(tgz)
    url = serve(site) + "cifar-10-python.tar.gz"
    cls = tiny_cifar_class(datasets.CIFAR10, files, tgz=tgz, url=url)
    root = tmp_path / "root"
    ds = cls(root, train=False, download=True)
    assert ds.targets == arrays["test_batch"][1]
    assert sorted(os.listdir(root / "cifar-10-batches-py")) == sorted(files)
    assert (root / "cifar-10-python.tar.gz").read_bytes() == tgz
    (site / "cifar-10-python.tar.gz").unlink()             # present and intact: no request
    cls(root, train=True, download=True)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "cifar-10-python.tar.gz").write_bytes(tgz[:-1] + bytes([tgz[-1] ^ 1]))
    other = type("CIFAR10", (cls,), {"url": serve(bad) + "cifar-10-python.tar.gz"})
    with pytest.raises(RuntimeError, match="md5 .* does not match"):
        other(tmp_path / "root2", download=True)
    assert not (tmp_path / "root2" / "cifar-10-python.tar.gz").exists()


def _symlink(target):
    def make(info):
        info.type, info.linkname = tarfile.SYMTYPE, target
    return make


def _device(info):
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3


@pytest.mark.parametrize("member", [
    ("../escape.txt", b"x"), ("/tmp/absolute.txt", b"x"), ("a/../../escape.txt", b"x"),
    ("cifar-10-batches-py/link", _symlink("/etc/passwd")),
    ("cifar-10-batches-py/dev", _device)], ids=["dotdot", "absolute", "inner-dotdot",
                                               "symlink", "device"])
def test_unsafe_archive_members_are_refused(tmp_path, member):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz([("cifar-10-batches-py/ok", b"fine"), member]))
    dest = tmp_path / "dest"
    with pytest.raises(RuntimeError, match="refusing to extract"):
        datasets.utils.extract_archive(archive, dest)
    assert not (tmp_path / "escape.txt").exists()
    written = {str(p.relative_to(dest)) for p in dest.rglob("*")}
    assert written <= {"cifar-10-batches-py", "cifar-10-batches-py/ok"}
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_extraction_through_a_linked_folder_is_refused(tmp_path):
    outside, dest = tmp_path / "outside", tmp_path / "dest"
    outside.mkdir()
    dest.mkdir()
    (dest / "cifar-10-batches-py").symlink_to(outside)        # planted before extraction
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz([("cifar-10-batches-py/data_batch_1", b"x")]))
    with pytest.raises(RuntimeError, match="resolves outside"):
        datasets.utils.extract_archive(archive, dest)
    assert os.listdir(outside) == []


# ----- FakeData: torch's draws

def test_fakedata_images_and_targets_are_torchs():
    ds = datasets.FakeData(size=5, image_size=(3, 6, 7), num_classes=4, random_offset=10)
    tm.manual_seed(99)
    before = tm.random.get_rng_state()
    for index in (0, 3):
        img, target = ds[index]
        torch.manual_seed(index + 10)                        # FakeData's recipe, in torch
        pixels = torch.randn(3, 6, 7)
        want_target = torch.randint(0, 4, size=(1,), dtype=torch.long)[0].item()
        want = pixels.mul(255).byte().permute(1, 2, 0).numpy()
        assert img.mode == "RGB" and img.size == (7, 6)
        np.testing.assert_array_equal(np.asarray(img), want)
        assert target == want_target and type(target) is int
    assert np.array_equal(tm.random.get_rng_state().numpy(), before.numpy())   # restored
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[5]
    x, y = next(iter(DataLoader(datasets.FakeData(4, (1, 8, 8), transform=transforms.ToTensor()),
                                batch_size=4)))
    assert x.shape == (4, 1, 8, 8) and y.dtype == tm.int64


# ----- folders

def write_images(root):
    rng = np.random.default_rng(3)
    made = {}
    for cls, names in (("dog", ["b.png", "a.png"]), ("cat", ["z.bmp", "sub/y.png"]),
                       ("zebra", ["x.jpg.txt"])):
        for name in names:
            path = root / cls / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".txt"):
                path.write_text("not an image")
                continue
            pixels = rng.integers(0, 256, (5, 4, 3)).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(path)
            made[str(path)] = pixels
    return made


def test_image_folder_order_classes_and_pixels(tmp_path):
    made = write_images(tmp_path)
    ds = datasets.ImageFolder(tmp_path, allow_empty=True)
    assert ds.classes == ["cat", "dog", "zebra"] and ds.class_to_idx["dog"] == 1
    # sorted(os.walk): a folder's own files before its subfolders
    assert [(Path(p).relative_to(tmp_path).as_posix(), y) for p, y in ds.samples] == [
        ("cat/z.bmp", 0), ("cat/sub/y.png", 0), ("dog/a.png", 1), ("dog/b.png", 1)]
    assert ds.targets == [0, 0, 1, 1] and ds.imgs == ds.samples
    img, y = ds[2]
    assert img.mode == "RGB" and y == 1
    np.testing.assert_array_equal(np.asarray(img), made[ds.samples[2][0]])
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes zebra"):
        datasets.ImageFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path / "cat" / "sub")


def test_dataset_folder_with_own_loader_and_validator(tmp_path):
    write_images(tmp_path)
    ds = datasets.DatasetFolder(tmp_path, loader=lambda p: Path(p).suffix,
                                is_valid_file=lambda p: p.endswith(".txt"), allow_empty=True)
    assert [ds[i] for i in range(len(ds))] == [(".txt", 2)]
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None"):
        datasets.DatasetFolder(tmp_path, loader=print)
