"""The IDX datasets in torchvision's layout (root/NAME/raw, raw or .gz files): MNIST,
FashionMNIST, KMNIST and EMNIST share one reader; each is downloadable from its mirrors."""
import gzip
import hashlib
import math
import os
import string
import time
import zlib
from pathlib import Path

import numpy as np

from ...tensor import Tensor
from ...utils.data import default_collate
from ..transforms import batch_transform
from .utils import (
    CHECK_MD5,
    _write_atomic,
    check_md5,
    checking_md5,
    extract_archive,
    fetch,
    verify_str_arg,
)
from .vision import VisionDataset

# Public mirrors of the four .gz files, tried in order (torchvision uses the same two).
MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
# (file, md5 of the .gz file)
RESOURCES = [
    ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
]
# md5 of the uncompressed files: a file of one of these names is checked when loaded, unless
# $TATAMIKOMI_CHECK_MD5 is "0" (for data changed on purpose, e.g. a subset or relabelled copy)
RAW_MD5S = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# The most each file may hold: a header promising more is refused before anything is inflated.
RAW_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
GZIP_RATIO = 1032          # deflate inflates at most ~1032x: bounds what a .gz can honestly hold
_verified = set()          # (path, device, inode, size, mtime) of files whose md5 matched


# ----- IDX files

def _open(path):
    """A binary stream of the file's bytes, gunzipped as they are read when it ends in .gz."""
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def _read_exactly(f, out):
    """Fill the writable buffer out from f; the count read (less at the end of the data)."""
    view, n = memoryview(out).cast("B"), 0
    while n < len(view):
        got = f.readinto(view[n:])
        if not got:
            break
        n += got
    return n


def read_idx(path, ndim, max_dims=None, md5=None, dataset="MNIST"):
    """The uint8 array in an IDX file (raw or .gz), with its header checked first.

    max_dims: the largest dims allowed (checked before the data is read, so a .gz claiming more
    is never inflated); md5: the md5 the file's bytes must have (once per file per process).
    Shapes: the dims the header gives, e.g. (N, 28, 28) for images, (N,) for labels.
    """
    gz = str(path).endswith(".gz")
    try:
        with _open(path) as f:
            info = os.fstat(f.fileno())
            header = f.read(4 + 4 * ndim)
            dims = _check_header(path, header, ndim, max_dims)
            need = math.prod(dims)
            room = info.st_size * GZIP_RATIO if gz else info.st_size - len(header)
            if need > room:
                raise RuntimeError(f"{path}: truncated: its header promises "
                                   f"{' x '.join(map(str, dims))} = {need} bytes of data, but "
                                   f"the file is {info.st_size} bytes")
            array = np.empty(need, np.uint8)
            got = _read_exactly(f, array)
            extra = len(f.read(1)) if got == need else 0
    except (OSError, EOFError, zlib.error) as e:
        if not gz:
            raise
        raise RuntimeError(f"{path}: not a readable gzip file ({e})") from e
    if got != need or extra:
        what, held = ("truncated", got) if got < need else ("has trailing bytes", "more")
        raise RuntimeError(f"{path}: {what}: its header promises {' x '.join(map(str, dims))} "
                           f"= {need} bytes of data, but it holds {held}")
    if md5 is not None:
        _check_md5(path, info, header, array, md5, dataset)
    return array.reshape(dims)


def _check_header(path, header, ndim, max_dims):
    expect = 0x0800 | ndim                            # 0x08: unsigned bytes; low byte: the rank
    if len(header) < 4 + 4 * ndim:
        raise RuntimeError(f"{path}: too short for an IDX header ({len(header)} bytes)")
    magic = int.from_bytes(header[:4], "big")
    if magic != expect:
        raise RuntimeError(f"{path}: bad IDX magic number {magic} (0x{magic:08x}); expected "
                           f"{expect} (0x{expect:08x}: unsigned bytes, {ndim} dims)")
    dims = tuple(int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if max_dims is not None and (dims[1:] != tuple(max_dims[1:]) or dims[0] > max_dims[0]):
        raise RuntimeError(f"{path}: its header promises {' x '.join(map(str, dims))} bytes; "
                           f"a file of that name holds at most "
                           f"{' x '.join(map(str, max_dims))}")
    return dims


def _check_md5(path, info, header, array, md5, dataset):
    """The bytes read must have md5; a file that matched once is not hashed again (~70 ms)."""
    key = (os.fspath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _verified:
        return
    digest = hashlib.md5(header, usedforsecurity=False)
    digest.update(array)
    if digest.hexdigest() != md5:
        raise RuntimeError(f"{path}: md5 {digest.hexdigest()} is not {dataset}'s {md5}: the "
                           "file is damaged or was changed. Replace it with an intact copy, or "
                           f"set {CHECK_MD5}=0 to use changed data on purpose.")
    # File times tick coarsely (a few ms): a file written within the last seconds could change
    # again without changing its mtime, so only an older file's verdict is kept (as git does).
    if time.time_ns() - info.st_mtime_ns > 2_000_000_000:
        _verified.add(key)


def _to_pil(array, mode="L"):
    """A PIL image of an (H, W[, C]) uint8 array when Pillow is installed (as torchvision)."""
    try:
        from PIL import Image
    except ImportError:
        return array.copy()
    return Image.fromarray(array)                     # 2-D uint8 -> "L"; (H, W, 3) -> "RGB"


# ----- datasets

class MNIST(VisionDataset):
    """The MNIST digits: `.data` uint8 (N, 28, 28), `.targets` int64 (N,).

    Files are looked for in root/NAME/raw (NAME: the class's name), then (if set) in
    $TATAMIKOMI_DATA/NAME/raw and $TATAMIKOMI_DATA, each as the raw IDX file or its .gz.
    `mirrors` and `resources` override the class attributes (tests point them at a local server).
    """

    mirrors = MIRRORS
    resources = RESOURCES
    raw_md5s = RAW_MD5S                               # checked on load: the data's own md5s
    raw_shapes = RAW_SHAPES
    timeout = 30                                      # seconds per request
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False,
                 *, mirrors=None, resources=None):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if mirrors is not None:
            self.mirrors = list(mirrors)
        if resources is not None:
            self.resources = list(resources)
        if download:
            self.download()
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}

    def _names(self):
        """The (images, labels) raw file names of this split."""
        split = "train" if self.train else "t10k"
        return f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"

    def _search_dirs(self):
        dirs = [Path(self.raw_folder)]
        env = os.environ.get("TATAMIKOMI_DATA")
        if env:
            dirs += [Path(env) / type(self).__name__ / "raw", Path(env)]
        return dirs

    def _candidates(self, name):
        return [p for d in self._search_dirs() for p in (d / name, d / f"{name}.gz")]

    def _find(self, name):
        return next((p for p in self._candidates(name) if p.is_file()), None)

    def _load_data(self):
        names = self._names()
        found = [self._find(n) for n in names]
        missing = [n for n, p in zip(names, found) if p is None]
        if missing:
            me = type(self).__name__
            tried = "".join(f"\n    {p}" for n in missing for p in self._candidates(n))
            raise RuntimeError(
                f"Dataset not found. {me} needs {' and '.join(missing)} (raw or .gz); looked "
                f"for:{tried}\nYou can use download=True to download it, or set TATAMIKOMI_DATA "
                f"to a folder that holds the raw files (directly or in {me}/raw).")
        images, labels = (self._read(p, n) for p, n in zip(found, names))
        if len(images) != len(labels):
            raise RuntimeError(f"{found[0]} holds {len(images)} images but {found[1]} holds "
                               f"{len(labels)} labels")
        if labels.size and labels.max() >= len(self.classes):
            i = int(np.argmax(labels >= len(self.classes)))
            raise RuntimeError(f"{found[1]}: label {labels[i]} at index {i} is not a class "
                               f"0-{len(self.classes) - 1}")
        return Tensor._make(images), Tensor._make(labels.astype(np.int64))

    def _read(self, path, name):
        """read_idx with the class's limits and (unless $TATAMIKOMI_CHECK_MD5=0) md5s."""
        md5 = self.raw_md5s.get(name) if checking_md5() else None
        ndim = int(name.split("-idx")[1][0])
        return read_idx(path, ndim, self.raw_shapes.get(name), md5, type(self).__name__)

    def _valid(self, path, gz_md5):
        """Whether an existing file can be used: a .gz by its md5, a raw file by its contents."""
        if str(path).endswith(".gz"):
            return check_md5(path, gz_md5)
        try:
            self._read(path, path.name)
        except RuntimeError:
            return False
        return True

    def _fetch(self, filename, md5, dest):
        """Download filename from the first mirror that serves it intact; the errors otherwise."""
        urls = [m + filename if m.endswith("/") else f"{m}/{filename}" for m in self.mirrors]
        return fetch(urls, md5, dest, self.timeout)

    def download(self):
        """Fetch each file not already present and valid, check its md5, and decompress it."""
        raw = Path(self.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        failures = []
        for filename, md5 in self.resources:
            name = filename.removesuffix(".gz")
            found = self._find(name)
            if found is not None and self._valid(found, md5):
                continue
            gz = raw / filename
            if not (gz.is_file() and check_md5(gz, md5)):
                errors = self._fetch(filename, md5, gz)
                if errors:
                    failures.append((filename, name, errors))
                    continue
            _write_atomic(raw / name, gzip.decompress(gz.read_bytes()))
        if failures:
            raise RuntimeError(self._download_error(failures))

    def _download_error(self, failures):
        lines = [f"Could not download {type(self).__name__}:"]
        for filename, name, errors in failures:
            lines.append(f"  {filename}: every mirror failed")
            lines += [f"    {e}" for e in errors or ["(no mirrors configured)"]]
            lines.append("    and no usable copy at any of:")
            lines += [f"    {p}" for p in self._candidates(name)]
        lines.append(f"Copy the raw files to {self.raw_folder}, or set TATAMIKOMI_DATA to a "
                     "folder that holds them.")
        return "\n".join(lines)

    def __getitem__(self, index):
        img, target = self.data.array[index], int(self.targets.array[index])
        img = _to_pil(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def get_batch(self, indices):
        """The collated [images, labels] at once when the transform has a batch form.

        Shapes: images (B, 1, 28, 28) after ToTensor, labels (B,) int64.
        """
        apply = batch_transform(self.transform) if self.transform is not None else None
        if apply is None or self.target_transform is not None:
            return default_collate([self[i] for i in indices])
        idx = np.asarray(indices, dtype=np.intp)
        return [apply(self.data.array[idx]), Tensor._make(self.targets.array[idx])]

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, MNIST's format."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    raw_md5s = {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 grey images of 10 cursive Japanese characters, MNIST's format."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    raw_md5s = {}                                     # the .gz md5s are checked on download
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """NIST's handwritten digits and letters in MNIST's format, in six splits.

    The images are stored transposed (column-major), and torchvision returns them as stored.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # merged: the letters whose upper and lower case look alike
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }
    raw_md5s = {}
    raw_shapes = {}

    def __init__(self, root, split, **kwargs):
        self.split = verify_str_arg(split, "split", self.splits)
        self.classes = self.classes_split_dict[self.split]
        super().__init__(root, **kwargs)

    @property
    def _file_prefix(self):
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    def _names(self):
        return f"{self._file_prefix}-images-idx3-ubyte", f"{self._file_prefix}-labels-idx1-ubyte"

    @property
    def images_file(self):
        return os.path.join(self.raw_folder, self._names()[0])

    @property
    def labels_file(self):
        return os.path.join(self.raw_folder, self._names()[1])

    def download(self):
        """Fetch gzip.zip (md5-checked) unless this split's files are there; unpack its .gz."""
        if all(self._find(n) is not None for n in self._names()):
            return
        raw = Path(self.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        archive = raw / "gzip.zip"
        if not (archive.is_file() and check_md5(archive, self.md5)):
            errors = fetch([self.url], self.md5, archive, self.timeout)
            if errors:
                raise RuntimeError("Could not download EMNIST:\n  " + "\n  ".join(errors))
        extract_archive(archive, raw)
        for gz in sorted((raw / "gzip").glob("*.gz")):
            _write_atomic(raw / gz.name[:-3], gzip.decompress(gz.read_bytes()))
