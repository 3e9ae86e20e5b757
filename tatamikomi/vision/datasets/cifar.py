"""CIFAR-10 and CIFAR-100: the python-pickle batches, read without running anything they name.

The batches are Python 2 pickles of a dict: b'data' (N x 3072 uint8, channel planes of 32x32),
b'labels' (or b'fine_labels' and b'coarse_labels'), b'filenames', b'batch_label'. They are read
by serialization's own pickle machine with CIFAR's allowlist (a NumPy array and its dtype, nothing
else), so a tampered batch can build no object and call no function.
"""
import os
import pickle

import numpy as np

from ...serialization._allowlist import cifar_allowed
from ...serialization._unpickle import Unpickler
from ...tensor import Tensor
from ...utils.data import default_collate
from ..transforms import batch_transform
from .mnist import _to_pil
from .utils import check_integrity, download_and_extract_archive
from .vision import VisionDataset


class _BatchUnpickler(Unpickler):
    """The restricted Unpickler with CIFAR's allowlist instead of torch files' (no user globals)."""

    table = None

    def find(self, module, name):
        if _BatchUnpickler.table is None:
            _BatchUnpickler.table = cifar_allowed()
        full = f"{module}.{name}"
        if full not in self.table:
            raise pickle.UnpicklingError(f"{full} is not allowed in a CIFAR batch: only NumPy "
                                         "arrays, lists, strings and numbers are")
        return self.table[full][0]

    def entry(self, obj):
        for value, call, new in (self.table or {}).values():
            if value is obj:
                return call, new
        return None

    def is_user(self, obj):
        return False


def load_batch(path):
    """The dict in a CIFAR batch file, its keys as str (Python 2 strings read as latin-1)."""
    with open(path, "rb") as f:
        try:
            entry = _BatchUnpickler(f, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError) as e:
            raise RuntimeError(f"{path}: not a readable CIFAR batch: {e}") from None
    if type(entry) is not dict:
        raise RuntimeError(f"{path}: not a CIFAR batch: it holds a {type(entry).__name__}, not "
                           "a dict")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


class CIFAR10(VisionDataset):
    """CIFAR-10: 32x32 colour images in 10 classes. `.data` uint8 (N, 32, 32, 3), `.targets`
    a list of ints, as torchvision's; root holds cifar-10-batches-py."""

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        data, self.targets = [], []
        for name, _ in self.train_list if self.train else self.test_list:
            path = os.path.join(self.root, self.base_folder, name)
            images, labels = self._check_batch(path, load_batch(path))
            data.append(images)
            self.targets.extend(labels)
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)   # to HWC
        self._load_meta()

    @staticmethod
    def _check_batch(path, entry):
        images = entry.get("data")
        labels = entry.get("labels", entry.get("fine_labels"))
        if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 2
                and images.shape[1] == 3072):
            raise RuntimeError(f"{path}: 'data' is not an N x 3072 uint8 array")
        if type(labels) is not list or not all(type(y) is int for y in labels) \
                or len(labels) != len(images):
            raise RuntimeError(f"{path}: the labels are not a list of {len(images)} ints")
        return images, labels

    def _load_meta(self):
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path, self.meta["md5"]):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                               "download=True to download it")
        names = load_batch(path).get(self.meta["key"])
        if type(names) is not list or not all(type(n) is str for n in names):
            raise RuntimeError(f"{path}: {self.meta['key']!r} is not a list of class names")
        self.classes = names
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        if self.targets and not 0 <= min(self.targets) <= max(self.targets) < len(names):
            raise RuntimeError(f"{self.base_folder}: a label lies outside 0-{len(names) - 1}")

    def _check_integrity(self):
        return all(check_integrity(os.path.join(self.root, self.base_folder, name), md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self):
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def __getitem__(self, index):
        img, target = _to_pil(self.data[index]), self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def get_batch(self, indices):
        """The collated [images, labels] at once when the transform has a batch form.

        Shapes: images (B, 3, 32, 32) after ToTensor, labels (B,) int64.
        """
        apply = batch_transform(self.transform) if self.transform is not None else None
        if apply is None or self.target_transform is not None:
            return default_collate([self[i] for i in indices])
        idx = np.asarray(indices, dtype=np.intp)
        labels = np.array([self.targets[i] for i in idx], np.int64)
        return [apply(self.data[idx]), Tensor._make(labels)]

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: as CIFAR-10 with 100 fine classes (targets are the fine labels)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
