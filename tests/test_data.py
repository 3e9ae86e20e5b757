"""utils.data and vision.transforms against torch.utils.data and hand-derived oracles."""
import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from helpers import assert_same_error

import tatamikomi as tm
from tatamikomi.utils import data as tmd
from tatamikomi.vision import transforms as T

Point = collections.namedtuple("Point", "x y")


def assert_same_batch(ours, theirs):
    """Same nesting, container types, dtypes, shapes and values (ours tatamikomi, theirs torch)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tm.Tensor), type(ours)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.array, theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            assert_same_batch(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_batch(a, b)
    else:
        assert ours == theirs


def both(sample_fn, n=3):
    """The same samples built for tatamikomi (tm=True) and for torch (tm=False)."""
    return [sample_fn(i, True) for i in range(n)], [sample_fn(i, False) for i in range(n)]


def _t(array, ours):
    return tm.tensor(array) if ours else torch.tensor(array)


SAMPLES = {
    "tensor": lambda i, o: _t(np.arange(6, dtype=np.float32).reshape(2, 3) + i, o),
    "int": lambda i, o: i * 7,
    "float": lambda i, o: i / 3,
    "bool": lambda i, o: i % 2 == 0,
    "ndarray": lambda i, o: np.full((2, 2), i, dtype=np.int16),
    "np_float32": lambda i, o: np.float32(i) / 4,
    "np_int32": lambda i, o: np.int32(i),
    "str": lambda i, o: f"s{i}",
    "tuple": lambda i, o: (_t([i, i + 1], o), i, float(i)),
    "list": lambda i, o: [i, float(i)],
    "dict": lambda i, o: {"img": _t(np.eye(2) * i, o), "label": i, "name": str(i)},
    "namedtuple": lambda i, o: Point(i, float(i)),
    "nested": lambda i, o: {"pair": (i, [np.int64(i)]), "t": _t([[i]], o)},
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_default_collate_matches_torch(kind):
    ours, theirs = both(SAMPLES[kind])
    assert_same_batch(tmd.default_collate(ours), tud.default_collate(theirs))


@pytest.mark.parametrize("batch", [
    [None, None],
    [(1, 2), (3,)],
    [np.array(["a"]), np.array(["b"])],
    [object(), object()],
])
def test_default_collate_errors_match_torch(batch):
    assert_same_error(lambda: tmd.default_collate(batch), lambda: tud.default_collate(batch))


def test_default_collate_stack_size_error():
    assert_same_error(lambda: tmd.default_collate([tm.zeros(2), tm.zeros(3)]),
                      lambda: tud.default_collate([torch.zeros(2), torch.zeros(3)]))


def test_collate_keeps_autograd():
    a = tm.ones(2, requires_grad=True)
    out = tmd.default_collate([a, a * 2])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.array, [3.0, 3.0])


# ----- datasets

def pair_dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n) % 4
    return (tmd.TensorDataset(tm.tensor(x), tm.tensor(y)),
            tud.TensorDataset(torch.tensor(x), torch.tensor(y)))


def test_tensor_dataset():
    ours, theirs = pair_dataset()
    assert len(ours) == len(theirs) == 10
    assert_same_batch(list(ours[3]), list(theirs[3]))
    assert_same_error(lambda: tmd.TensorDataset(tm.zeros(3), tm.zeros(4)),
                      lambda: tud.TensorDataset(torch.zeros(3), torch.zeros(4)))


def test_subset_and_concat():
    ours, theirs = pair_dataset()
    idx = [7, 2, 5]
    sub, tsub = tmd.Subset(ours, idx), tud.Subset(theirs, idx)
    assert len(sub) == 3
    assert_same_batch(list(sub[1]), list(tsub[1]))
    assert_same_batch([list(s) for s in sub.__getitems__([0, 2])],
                      [list(s) for s in tsub.__getitems__([0, 2])])
    cat, tcat = ours + sub, theirs + tsub
    assert isinstance(cat, tmd.ConcatDataset) and len(cat) == len(tcat) == 13
    for i in (0, 9, 10, 12, -1, -13):
        assert_same_batch(list(cat[i]), list(tcat[i]))
    assert_same_error(lambda: cat[-14], lambda: tcat[-14])
    assert_same_error(lambda: tmd.ConcatDataset([]), lambda: tud.ConcatDataset([]))


@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (30, [0.3, 0.3, 0.4]), (10, [0.5, 0.5]), (7, [0.33, 0.33, 0.34]),
    (11, [0.1, 0.2, 0.7]), (5, [1.0]),
])
def test_random_split_lengths_match_torch(n, lengths):
    ours = tmd.random_split(range(n), lengths, generator=tm.Generator().manual_seed(0))
    theirs = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    flat = sorted(i for s in ours for i in s)
    assert flat == list(range(n))                         # disjoint and covering


def test_random_split_reproducible_and_random():
    def split(seed):
        parts = tmd.random_split(range(100), [50, 50], generator=tm.Generator().manual_seed(seed))
        return [list(p) for p in parts]
    assert split(1) == split(1)
    assert split(1) != split(2)
    assert split(1)[0] != list(range(50))
    tm.manual_seed(5)
    a = [list(p) for p in tmd.random_split(range(20), [10, 10])]
    tm.manual_seed(5)
    assert a == [list(p) for p in tmd.random_split(range(20), [10, 10])]


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.6], [1.5, -0.5], [11]])
def test_random_split_errors_match_torch(lengths):
    assert_same_error(lambda: tmd.random_split(range(10), lengths),
                      lambda: tud.random_split(range(10), lengths))


def test_random_split_warns_on_empty_split_as_torch():
    def messages(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(range(2), [0.9, 0.05, 0.05])
        return [str(w.message) for w in caught]
    ours = messages(tmd.random_split)
    assert ours == messages(tud.random_split)
    assert len(ours) == 2 and "Length of split at index 1 is 0" in ours[0]


# ----- DataLoader

@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (10, True),
                                                   (4, False), (16, False), (16, True)])
def test_loader_batches_match_torch(batch_size, drop_last):
    ours, theirs = pair_dataset()
    a = tmd.DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    b = tud.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(a) == len(b)
    got, want = list(a), list(b)
    assert len(got) == len(want) == len(a)
    for x, y in zip(got, want):
        assert_same_batch(x, y)


def test_loader_batch_size_none_matches_torch():
    data = [np.arange(3) + i for i in range(4)]
    a, b = tmd.DataLoader(data, batch_size=None), tud.DataLoader(data, batch_size=None)
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert_same_batch(x, y)


def epoch_orders(loader):
    return [np.concatenate([x.array for x, _ in loader]).tolist() for _ in range(3)]


def test_shuffle_seeded_generator_reproducible_and_varies_by_epoch():
    ds = tmd.TensorDataset(tm.arange(50), tm.arange(50))
    first = epoch_orders(tmd.DataLoader(ds, batch_size=8, shuffle=True,
                                        generator=tm.Generator().manual_seed(3)))
    again = epoch_orders(tmd.DataLoader(ds, batch_size=8, shuffle=True,
                                        generator=tm.Generator().manual_seed(3)))
    assert first == again
    assert first[0] != first[1] != first[2]               # a new permutation each epoch
    assert all(sorted(order) == list(range(50)) for order in first)
    assert first[0] != list(range(50))


def test_shuffle_uses_default_generator():
    ds = tmd.TensorDataset(tm.arange(30), tm.arange(30))
    tm.manual_seed(11)
    a = epoch_orders(tmd.DataLoader(ds, batch_size=4, shuffle=True))
    tm.manual_seed(11)
    b = epoch_orders(tmd.DataLoader(ds, batch_size=4, shuffle=True))
    tm.manual_seed(12)
    c = epoch_orders(tmd.DataLoader(ds, batch_size=4, shuffle=True))
    assert a == b and a != c


@pytest.mark.parametrize("kwargs", [
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_sampler=[[0, 1]], batch_size=2),
    dict(batch_sampler=[[0, 1]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(batch_size=0),
    dict(num_workers=-1),
])
def test_loader_argument_errors_match_torch(kwargs):
    assert_same_error(lambda: tmd.DataLoader(list(range(4)), **kwargs),
                      lambda: tud.DataLoader(list(range(4)), **kwargs))


def test_loader_sampler_batch_sampler_and_collate_fn():
    ours, theirs = pair_dataset()
    for kw in (dict(sampler=[9, 0, 4], batch_size=2), dict(batch_sampler=[[1, 2], [8]])):
        for x, y in zip(tmd.DataLoader(ours, **kw), tud.DataLoader(theirs, **kw)):
            assert_same_batch(x, y)
    seen = []
    loader = tmd.DataLoader(ours, batch_size=4, collate_fn=lambda b: seen.append(b) or len(b))
    assert list(loader) == [4, 4, 2]
    assert isinstance(seen[0], list) and isinstance(seen[0][0], tuple)   # samples, not a batch


class CountingDataset(tmd.TensorDataset):
    """Counts per-sample reads, to tell which path a loader took."""

    calls = 0

    def __getitem__(self, index):
        CountingDataset.calls += 1
        return super().__getitem__(index)


class PlainDataset(tmd.Dataset):
    """Per-sample access only: the slow path's reference."""

    def __init__(self, inner):
        self.inner = inner

    def __getitem__(self, i):
        return self.inner[i]

    def __len__(self):
        return len(self.inner)


def test_tensor_dataset_fast_path_equals_per_sample_path():
    x = tm.tensor(np.random.default_rng(0).random((23, 2, 3), dtype=np.float32))
    ds = CountingDataset(x, tm.arange(23), tm.tensor(np.arange(23) % 2 == 0))
    for wrap in (lambda d: d, lambda d: tmd.Subset(d, list(range(3, 20)))):
        fast = list(tmd.DataLoader(wrap(ds), batch_size=5, shuffle=True,
                                   generator=tm.Generator().manual_seed(1)))
        CountingDataset.calls = 0
        slow = list(tmd.DataLoader(PlainDataset(wrap(ds)), batch_size=5, shuffle=True,
                                   generator=tm.Generator().manual_seed(1)))
        assert CountingDataset.calls == len(wrap(ds))    # the reference did go sample by sample
        assert len(fast) == len(slow)
        for a, b in zip(fast, slow):
            assert type(a) is type(b) is list
            for u, v in zip(a, b):
                assert u.dtype == v.dtype and u.shape == v.shape
                np.testing.assert_array_equal(u.array, v.array)
    CountingDataset.calls = 0
    list(tmd.DataLoader(ds, batch_size=5))
    assert CountingDataset.calls == 0                     # the fast path read no single sample


def test_getitems_is_used_when_present():
    class Batched(PlainDataset):
        def __getitems__(self, indices):
            return [(i * 10,) for i in indices]
    out = list(tmd.DataLoader(Batched(list(range(4))), batch_size=3))
    assert [b[0].tolist() for b in out] == [[0, 10, 20], [30]]


# ----- transforms

def test_to_tensor_scales_uint8_and_moves_channels():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    gray[0, :2] = (0, 255)
    rgb = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    g = T.ToTensor()(gray)
    assert g.shape == (1, 5, 4) and g.dtype == tm.float32
    assert g.array[0, 0, 0] == 0.0 and g.array[0, 0, 1] == 1.0
    np.testing.assert_array_equal(g.array[0], gray.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(g.array, torch.from_numpy(gray)[None].float().div(255).numpy())
    c = T.ToTensor()(rgb)
    assert c.shape == (3, 5, 4)
    np.testing.assert_array_equal(c.array[2], rgb[:, :, 2] / np.float32(255))
    f = T.ToTensor()(rgb.astype(np.float64))              # only uint8 is rescaled
    assert f.dtype == tm.float64 and f.array.max() == rgb.max()


def test_to_tensor_accepts_pil_images():
    Image = pytest.importorskip("PIL.Image")
    a = np.random.default_rng(1).integers(0, 256, (6, 7), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(a)).array, T.ToTensor()(a).array)
    rgb = np.random.default_rng(2).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(rgb)).array,
                                  T.ToTensor()(rgb).array)


def test_to_tensor_errors():
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToTensor()(np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        T.ToTensor()([[1]])


def test_normalize_math_and_torch():
    x = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 2.0)
    out = T.Normalize(mean, std)(tm.tensor(x))
    want = (x - np.float32(mean).reshape(3, 1, 1)) / np.float32(std).reshape(3, 1, 1)
    np.testing.assert_array_equal(out.array, want)
    ref = (torch.tensor(x) - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    np.testing.assert_allclose(out.array, ref.numpy(), rtol=1e-6)
    assert out.dtype == tm.float32
    t = tm.tensor(x)
    assert T.Normalize(mean, std, inplace=True)(t) is t
    np.testing.assert_array_equal(t.array, want)


def test_normalize_is_differentiable():
    x = tm.ones(1, 2, 2, requires_grad=True)
    T.Normalize((0.5,), (0.25,))(x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, np.full((1, 2, 2), 4.0))


def test_normalize_errors():
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to "
                                         ".*float32, leading to division by zero."):
        T.Normalize((0.5,), (0.0,))(tm.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        T.Normalize((0.5,), (1.0,))(tm.zeros(1, 2, 2, dtype=tm.uint8))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size "
                                         r"\(\.\.\., C, H, W\)"):
        T.Normalize((0.5,), (1.0,))(tm.zeros(2, 2))
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize((0.5,), (1.0,))(np.zeros((1, 2, 2)))


def test_transform_reprs():
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,)), T.Lambda(abs)])
    assert repr(tf) == ("Compose(\n    ToTensor()\n    Normalize(mean=(0.1307,), std=(0.3081,))"
                        "\n    Lambda()\n)")
    assert repr(T.Normalize([0.5, 0.5], [0.2, 0.2])) == "Normalize(mean=[0.5, 0.5], std=[0.2, 0.2])"
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_batch_transforms_equal_per_sample():
    images = np.random.default_rng(3).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    apply = T.batch_transform(tf)
    per_sample = np.stack([tf(im).array for im in images])
    np.testing.assert_array_equal(apply(images).array, per_sample)
    assert apply(images).shape == (6, 1, 5, 4)
    rgb = np.random.default_rng(4).integers(0, 256, (2, 5, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.ToTensor().apply_batch(rgb).array,
                                  np.stack([T.ToTensor()(im).array for im in rgb]))
    assert T.batch_transform(T.Compose([T.ToTensor(), T.Lambda(abs)])) is None
    assert T.batch_transform(T.Compose([T.Compose([T.ToTensor()])])) is not None


# ----- the package: PyTorch's submodules, samplers and iterable datasets

def test_submodule_import_paths_are_torchs():
    from tatamikomi.utils.data.dataloader import DataLoader, default_collate, get_worker_info
    from tatamikomi.utils.data.dataset import ChainDataset, IterableDataset, StackDataset
    from tatamikomi.utils.data.sampler import SubsetRandomSampler, WeightedRandomSampler
    assert DataLoader is tmd.DataLoader and SubsetRandomSampler is tmd.SubsetRandomSampler
    assert default_collate is tmd.default_collate and IterableDataset is tmd.IterableDataset
    assert (ChainDataset, StackDataset, WeightedRandomSampler, get_worker_info) == \
        (tmd.ChainDataset, tmd.StackDataset, tmd.WeightedRandomSampler, tmd.get_worker_info)
    for module in ("dataset", "sampler", "dataloader"):
        ours, theirs = getattr(tmd, module), getattr(tud, module)
        shared = [n for n in tmd.__all__ if getattr(getattr(ours, n, None), "__module__",
                                                    None) == ours.__name__]
        assert shared and all(hasattr(theirs, n) for n in shared), module
    assert set(tmd.__all__) <= set(tud.__all__)
    assert tmd.get_worker_info() is tud.get_worker_info() is None


@pytest.mark.parametrize("use_generator", [True, False], ids=["generator", "global"])
def test_subset_random_sampler_draws_torchs_order(use_generator):
    def orders(lib, mod):
        lib.manual_seed(11)
        g = lib.Generator().manual_seed(4) if use_generator else None
        sampler = mod.SubsetRandomSampler([3, 9, 4, 12, 7, 20, 1], generator=g)
        return [list(sampler) for _ in range(3)], len(sampler)
    assert orders(tm, tmd) == orders(torch, tud)


WEIGHTED = [
    dict(weights=[0.1, 0.9, 0.4, 0.7, 3.0], num_samples=40),
    dict(weights=[0.5, 0.0, 2.0, 1.0, 0.25, 0.25], num_samples=4, replacement=False),
    dict(weights=[1, 2, 3], num_samples=1),
    dict(weights=np.linspace(0.1, 2, 300), num_samples=64, replacement=False),
]


def _weighted_id(kw):
    return f"{len(kw['weights'])}-{kw.get('replacement', True)}-{kw['num_samples']}"


@pytest.mark.parametrize("kw", WEIGHTED, ids=_weighted_id)
@pytest.mark.parametrize("use_generator", [True, False], ids=["generator", "global"])
def test_weighted_random_sampler_draws_torchs_indices(kw, use_generator):
    def draws(lib, mod):
        lib.manual_seed(2)
        g = lib.Generator().manual_seed(9) if use_generator else None
        sampler = mod.WeightedRandomSampler(**kw, generator=g)
        return [list(sampler) for _ in range(3)], len(sampler), lib.rand(2).tolist()
    assert draws(tm, tmd) == draws(torch, tud)


WEIGHTED_ERRORS = [
    dict(weights=[1.0, 2.0], num_samples=0), dict(weights=[1.0, 2.0], num_samples=True),
    dict(weights=[1.0, 2.0], num_samples=2, replacement=1),
    dict(weights=[[1.0, 2.0]], num_samples=2),
    dict(weights=[0.0, 0.0], num_samples=3), dict(weights=[1.0, -1.0], num_samples=3),
    dict(weights=[np.inf, -1.0], num_samples=3), dict(weights=[1.0, np.nan], num_samples=3),
    dict(weights=[1.0, np.inf], num_samples=2, replacement=False),
    dict(weights=[0.0, 0.0], num_samples=1), dict(weights=[1.0, 1.0], num_samples=3,
                                                   replacement=False),
    dict(weights=[], num_samples=2),
]


@pytest.mark.parametrize("kw", WEIGHTED_ERRORS, ids=str)
def test_weighted_random_sampler_errors_match_torch(kw):
    assert_same_error(lambda: list(tmd.WeightedRandomSampler(**kw)),
                      lambda: list(tud.WeightedRandomSampler(**kw)))


def stream(lib_data, n=11, with_len=True):
    """An IterableDataset yielding (x, i) pairs, for either library."""
    base = lib_data.IterableDataset

    class Stream(base):
        def __iter__(self):
            for i in range(n):
                yield np.full(2, i, dtype=np.float32), i

    if with_len:
        Stream.__len__ = lambda self: n
    return Stream()


@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (1, False),
                                                  (11, True), (None, False)])
def test_iterable_dataset_batches_match_torch(batch_size, drop_last):
    def run(lib, mod):
        lib.manual_seed(0)
        loader = mod.DataLoader(stream(mod), batch_size=batch_size, drop_last=drop_last)
        return list(loader), len(loader), lib.rand(2)       # the loader's seed draw, too
    (ours, n1, r1), (theirs, n2, r2) = run(tm, tmd), run(torch, tud)
    assert n1 == n2 and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert_same_batch(a, b)
    assert r1.tolist() == r2.tolist()


def test_chain_stack_and_concat_datasets_as_torch():
    def build(mod):
        chained = stream(mod, 3) + stream(mod, 2)
        stacked = mod.StackDataset(mod.TensorDataset(_t(np.arange(4), mod is tmd)), range(4))
        named = mod.StackDataset(a=range(3), b=["x", "y", "z"])
        return ([s[1] for s in chained], len(chained), type(chained).__name__, len(stacked),
                named[2], stacked[1][1])
    assert build(tmd) == build(tud)
    for make in [lambda mod: mod.ConcatDataset([stream(mod)]),
                 lambda mod: list(mod.ChainDataset([stream(mod), range(3)])),
                 lambda mod: mod.StackDataset(range(2), range(3)),
                 lambda mod: mod.StackDataset(range(2), b=range(2)),
                 lambda mod: mod.StackDataset(),
                 lambda mod: len(mod.DataLoader(stream(mod, with_len=False))),
                 lambda mod: mod.DataLoader(stream(mod), shuffle=True)]:
        assert_same_error(lambda make=make: make(tmd), lambda make=make: make(tud))


def test_num_workers_load_the_same_batches():
    ds, _ = pair_dataset(10)
    for shuffle in (False, True):
        tm.manual_seed(3)
        plain = [b[1].tolist() for b in tmd.DataLoader(ds, batch_size=3, shuffle=shuffle)]
        tm.manual_seed(3)
        workers = [b[1].tolist() for b in tmd.DataLoader(ds, batch_size=3, shuffle=shuffle,
                                                         num_workers=2, prefetch_factor=2,
                                                         persistent_workers=True)]
        assert workers == plain
