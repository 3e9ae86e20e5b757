"""MNIST in torchvision's layout (root/MNIST/raw), read from raw or .gz IDX files; downloadable."""
import contextlib
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
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
# md5 of the uncompressed files, for users who want to verify a copy (see check_md5)
RAW_MD5S = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


# ----- IDX files and downloads

def _read_bytes(path):
    """A file's bytes as a writable uint8 array, gunzipped when the name ends in .gz."""
    if str(path).endswith(".gz"):
        try:
            with gzip.open(path, "rb") as f:
                return np.frombuffer(bytearray(f.read()), np.uint8)
        except (OSError, EOFError) as e:              # BadGzipFile, or a gzip cut short
            raise RuntimeError(f"{path}: not a readable gzip file ({e})") from e
    return np.fromfile(path, dtype=np.uint8)


def read_idx(path, ndim):
    """The uint8 array in an IDX file (raw or .gz), with its header checked.

    Shapes: the dims the header gives, e.g. (N, 28, 28) for images, (N,) for labels.
    """
    buf = _read_bytes(path)
    head = 4 + 4 * ndim
    expect = 0x0800 | ndim                            # 0x08: unsigned bytes; low byte: the rank
    if buf.size < head:
        raise RuntimeError(f"{path}: too short for an IDX header ({buf.size} bytes)")
    magic = int.from_bytes(buf[:4].tobytes(), "big")
    if magic != expect:
        raise RuntimeError(f"{path}: bad IDX magic number {magic} (0x{magic:08x}); expected "
                           f"{expect} (0x{expect:08x}: unsigned bytes, {ndim} dims)")
    dims = tuple(int(d) for d in buf[4:head].view(">u4"))
    body = buf[head:]
    need = int(np.prod(dims, dtype=np.int64))
    if body.size != need:
        what = "truncated" if body.size < need else "has trailing bytes"
        raise RuntimeError(f"{path}: {what}: its header promises {' x '.join(map(str, dims))} = "
                           f"{need} bytes of data, but it holds {body.size}")
    return body.reshape(dims)


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
        images, labels = read_idx(found[0], 3), read_idx(found[1], 1)
        if len(images) != len(labels):
            raise RuntimeError(f"{found[0]} holds {len(images)} images but {found[1]} holds "
                               f"{len(labels)} labels")
        return Tensor._make(images), Tensor._make(labels.astype(np.int64))

    def _valid(self, path, gz_md5):
        """Whether an existing file can be used: a .gz by its md5, a raw file by its header."""
        if str(path).endswith(".gz"):
            return check_md5(path, gz_md5)
        try:
            read_idx(path, int(path.name.split("-idx")[1][0]))
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
