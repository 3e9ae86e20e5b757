"""MNIST in torchvision's layout (root/MNIST/raw), read from raw or .gz IDX files; downloadable."""
import contextlib
import gzip
import hashlib
import http.client
import math
import os
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset, default_collate
from .transforms import batch_transform

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
CHECK_MD5 = "TATAMIKOMI_CHECK_MD5"
GZIP_RATIO = 1032          # deflate inflates at most ~1032x: bounds what a .gz can honestly hold
_verified = set()          # (path, device, inode, size, mtime) of files whose md5 matched


# ----- IDX files and downloads

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


def _checking_md5():
    return os.environ.get(CHECK_MD5, "1") != "0"


def read_idx(path, ndim, max_dims=None, md5=None):
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
        _check_md5(path, info, header, array, md5)
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


def _check_md5(path, info, header, array, md5):
    """The bytes read must have md5; a file that matched once is not hashed again (~70 ms)."""
    key = (os.fspath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _verified:
        return
    digest = hashlib.md5(header, usedforsecurity=False)
    digest.update(array)
    if digest.hexdigest() != md5:
        raise RuntimeError(f"{path}: md5 {digest.hexdigest()} is not MNIST's {md5}: the file is "
                           f"damaged or was changed. Replace it with an intact copy, or set "
                           f"{CHECK_MD5}=0 to use changed data on purpose.")
    # File times tick coarsely (a few ms): a file written within the last seconds could change
    # again without changing its mtime, so only an older file's verdict is kept (as git does).
    if time.time_ns() - info.st_mtime_ns > 2_000_000_000:
        _verified.add(key)


def _md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def check_md5(path, md5):
    """Whether the file's md5 is md5."""
    return _md5(Path(path).read_bytes()) == md5


def _write_atomic(dest, data):
    """Write dest so that readers see the old file or the whole new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _http_get(url, timeout):
    request = urllib.request.Request(url, headers={"User-Agent": "tatamikomi"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


# ----- datasets

class StandardTransform:
    """transform on the input and target_transform on the target, as torchvision's."""

    def __init__(self, transform=None, target_transform=None):
        self.transform, self.target_transform = transform, target_transform

    def __call__(self, input, target):
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    @staticmethod
    def _format(transform, head):
        lines = repr(transform).splitlines()
        return [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self):
        body = [type(self).__name__]
        if self.transform is not None:
            body += self._format(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format(self.target_transform, "Target transform: ")
        return "\n".join(body)


class VisionDataset(Dataset):
    """A dataset under root with optional transforms; prints as torchvision's."""

    _repr_indent = 4

    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        separate = transform is not None or target_transform is not None
        if transforms is not None and separate:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform, self.target_transform = transform, target_transform
        self.transforms = StandardTransform(transform, target_transform) if separate else \
            transforms

    def extra_repr(self):
        return ""

    def __repr__(self):
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transforms is not None:
            body.append(repr(self.transforms))
        pad = " " * self._repr_indent
        return "\n".join([f"Dataset {type(self).__name__}"] + [pad + line for line in body])


def _to_pil(array):
    """A PIL image of a (H, W) uint8 array when Pillow is installed (as torchvision returns)."""
    try:
        from PIL import Image
    except ImportError:
        return array.copy()
    return Image.fromarray(array)                     # a 2-D uint8 array becomes mode "L"


class MNIST(VisionDataset):
    """The MNIST digits: `.data` uint8 (N, 28, 28), `.targets` int64 (N,).

    Files are looked for in root/MNIST/raw, then (if set) in $TATAMIKOMI_DATA/MNIST/raw and
    $TATAMIKOMI_DATA, each as the raw IDX file or its .gz. `mirrors` and `resources` override the
    class attributes (tests point them at a local server).
    """

    mirrors = MIRRORS
    resources = RESOURCES
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
        split = "train" if self.train else "t10k"
        names = (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
        found = [self._find(n) for n in names]
        missing = [n for n, p in zip(names, found) if p is None]
        if missing:
            tried = "".join(f"\n    {p}" for n in missing for p in self._candidates(n))
            raise RuntimeError(
                f"Dataset not found. MNIST needs {' and '.join(missing)} (raw or .gz); looked "
                f"for:{tried}\nYou can use download=True to download it, or set TATAMIKOMI_DATA "
                "to a folder that holds the raw files (directly or in MNIST/raw).")
        images, labels = (self._read(p, n) for p, n in zip(found, names))
        if len(images) != len(labels):
            raise RuntimeError(f"{found[0]} holds {len(images)} images but {found[1]} holds "
                               f"{len(labels)} labels")
        if labels.size and labels.max() >= len(self.classes):
            i = int(np.argmax(labels >= len(self.classes)))
            raise RuntimeError(f"{found[1]}: label {labels[i]} at index {i} is not a class "
                               f"0-{len(self.classes) - 1}")
        return Tensor._make(images), Tensor._make(labels.astype(np.int64))

    @staticmethod
    def _read(path, name):
        """read_idx with the limits and (unless $TATAMIKOMI_CHECK_MD5=0) md5 of MNIST's file."""
        md5 = RAW_MD5S.get(name) if _checking_md5() else None
        return read_idx(path, int(name.split("-idx")[1][0]), RAW_SHAPES.get(name), md5)

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
        errors = []
        for mirror in self.mirrors:
            url = mirror + filename if mirror.endswith("/") else f"{mirror}/{filename}"
            print(f"Downloading {url}", file=sys.stderr)
            try:
                data = _http_get(url, self.timeout)
            except (OSError, ValueError, http.client.HTTPException) as e:   # dead, HTTP error
                errors.append(f"{url}: {e}")
                continue
            if _md5(data) != md5:
                errors.append(f"{url}: md5 {_md5(data)} does not match {md5}")
                continue
            _write_atomic(dest, data)
            return []
        return errors

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
        lines = ["Could not download MNIST:"]
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
