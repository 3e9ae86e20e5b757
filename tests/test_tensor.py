"""Tensor core against PyTorch in the same process: dtypes, factories, Size, views, indexing,
arithmetic, promotion, reductions, in-place ops, repr and error messages."""
import math

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_error, pair, to_numpy

import tatamikomi as tm

MOD = tm.__name__  # printed where torch prints "torch"
LIBS = [tm, torch]


def dname(dtype):
    """'float32' from tatamikomi.float32 or torch.float32."""
    return str(dtype).rsplit(".", 1)[-1]


def ours_text(theirs):
    """torch's text with our module name."""
    return theirs.replace("torch.", f"{MOD}.")


def assert_same(ours, theirs):
    """Same dtype name, shape and values (exact for int64/bool, else the dtype's tolerance)."""
    assert dname(ours.dtype) == dname(theirs.dtype), f"{ours.dtype} vs {theirs.dtype}"
    assert tuple(ours.shape) == tuple(theirs.shape)
    if theirs.dtype in (torch.bool, torch.int64):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))
    else:
        assert_close(ours, theirs, dtype=dname(theirs.dtype))


def both(fn, *arrays):
    """fn(lib, *tensors) run on each library with the same data."""
    pairs = [pair(a) for a in arrays]
    ours = fn(tm, *(p[0] for p in pairs))
    theirs = fn(torch, *(p[1] for p in pairs))
    return ours, theirs


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("name", ["float32", "float64", "int64", "bool"])
def test_dtype_names_and_repr(name):
    dtype = getattr(tm, name)
    assert repr(dtype) == f"{MOD}.{name}"
    assert str(dtype) == f"{MOD}.{name}"
    assert dtype == getattr(tm, name)
    assert tm.zeros(2, dtype=dtype).dtype == dtype


def test_dtypes_are_distinct():
    dtypes = [tm.float32, tm.float64, tm.int64, tm.bool]
    for i, a in enumerate(dtypes):
        for j, b in enumerate(dtypes):
            assert (a == b) == (i == j)


def test_default_dtype_is_float32():
    for t in [tm.zeros(2), tm.ones(2, 3), tm.empty(3), tm.randn(2), tm.rand(2), tm.full((2,), 1.5)]:
        assert t.dtype == tm.float32


# ---------------------------------------------------------------- factories

TENSOR_DATA = [
    [1.0, 2.0],
    [1, 2, 3],
    [True, False],
    [[1.0, -2.0], [3.5, 4.0]],
    [[[1, 2]], [[3, 4]]],
    [1, 2.5],
    [True, 2],
    3.5,
    7,
    True,
    -0.0,
    [],
    np.array([1.0, 2.0]),
    np.array([1.0, 2.0], dtype=np.float32),
    np.array([[1, 2], [3, 4]]),
    np.array([True, False]),
    np.array(2.0),
    np.float64(2.0),
    [np.float64(1.0), np.float64(2.0)],
]


@pytest.mark.parametrize("data", TENSOR_DATA, ids=repr)
def test_tensor_dtype_inference(data):
    ours, theirs = tm.tensor(data), torch.tensor(data)
    assert_same(ours, theirs)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("data", [[1, 0, 2], [1.5, -2.0], 3, [[0.0, 1.0]]], ids=repr)
def test_tensor_explicit_dtype(data, dtype):
    ours = tm.tensor(data, dtype=getattr(tm, dtype))
    theirs = torch.tensor(data, dtype=getattr(torch, dtype))
    assert_same(ours, theirs)


def test_tensor_copies_its_input():
    a = np.array([1.0, 2.0])
    t = tm.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


def test_from_numpy_shares_memory():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = tm.from_numpy(a)
    assert t.dtype == tm.float64 and tuple(t.shape) == (2, 2)
    a[0, 0] = 10.0
    assert t[0, 0].item() == 10.0
    t.add_(1.0)
    assert a[1, 1] == 5.0


@pytest.mark.parametrize("array", [np.zeros(3, np.float32), np.arange(4), np.array([True])],
                         ids=["float32", "int64", "bool"])
def test_from_numpy_keeps_dtype(array):
    assert dname(tm.from_numpy(array).dtype) == dname(torch.from_numpy(array).dtype)


def test_as_tensor():
    a = np.array([1.0, 2.0])
    t = tm.as_tensor(a)
    a[1] = 7.0
    assert t.tolist() == [1.0, 7.0]  # an ndarray of the same dtype is shared, as in torch
    assert_same(tm.as_tensor([1, 2]), torch.as_tensor([1, 2]))
    assert_same(tm.as_tensor([1.0, 2.0], dtype=tm.float64),
                torch.as_tensor([1.0, 2.0], dtype=torch.float64))
    x = tm.tensor([1.0, 2.0])
    assert tm.as_tensor(x) is x


FACTORIES = [
    lambda lib: lib.zeros(2, 3),
    lambda lib: lib.zeros((2, 3)),
    lambda lib: lib.zeros([4]),
    lambda lib: lib.zeros(()),
    lambda lib: lib.zeros(2, dtype=lib.int64),
    lambda lib: lib.ones(3, 1),
    lambda lib: lib.ones((2,), dtype=lib.float64),
    lambda lib: lib.ones(2, dtype=lib.bool),
    lambda lib: lib.full((2, 2), 2.5),
    lambda lib: lib.full((3,), 3),
    lambda lib: lib.full((3,), True),
    lambda lib: lib.full([2], -1.0, dtype=lib.float64),
    lambda lib: lib.arange(5),
    lambda lib: lib.arange(1, 5),
    lambda lib: lib.arange(0, 5, 2),
    lambda lib: lib.arange(10, 0, -3),
    lambda lib: lib.arange(5.0),
    lambda lib: lib.arange(0, 1, 0.25),
    lambda lib: lib.arange(-1.0, 1.0, 0.5),
    lambda lib: lib.arange(5, dtype=lib.float64),
    lambda lib: lib.arange(0, 3, dtype=lib.float32),
]


@pytest.mark.parametrize("make", FACTORIES, ids=range(len(FACTORIES)))
def test_factories(make):
    assert_same(make(tm), make(torch))


@pytest.mark.parametrize("args", [(2, 3), ((2, 3),), ((4,),), ((),)], ids=repr)
def test_empty_shape(args):
    assert tuple(tm.empty(*args).shape) == tuple(torch.empty(*args).shape)
    assert tm.empty(*args).dtype == tm.float32
    assert tm.empty(2, dtype=tm.int64).dtype == tm.int64


def test_random_factories_shapes_and_ranges():
    tm.manual_seed(0)
    x = tm.randn(200, 50)
    assert tuple(x.shape) == (200, 50) and x.dtype == tm.float32
    assert abs(x.mean().item()) < 0.05 and abs(x.numpy().std() - 1) < 0.05
    u = tm.rand(1000)
    assert u.dtype == tm.float32 and 0 <= u.min().item() and u.max().item() < 1
    assert tm.randn((3, 2)).shape == (3, 2) and tm.rand((4,)).shape == (4,)
    assert tm.randn(2, dtype=tm.float64).dtype == tm.float64
    r = tm.randint(3, 7, (500,))
    assert r.dtype == tm.int64 and r.shape == (500,)
    assert set(r.tolist()) == {3, 4, 5, 6}
    r = tm.randint(4, (2, 3))
    assert r.shape == (2, 3) and r.dtype == tm.int64 and 0 <= r.min().item() and r.max().item() < 4


def test_manual_seed_reproduces_draws():
    def draws():
        return [tm.randn(5).tolist(), tm.rand(3).tolist(), tm.randint(0, 100, (4,)).tolist(),
                tm.randn_like(tm.zeros(2)).tolist(), tm.empty(3).uniform_(0, 1).tolist()]

    tm.manual_seed(123)
    first = draws()
    tm.manual_seed(123)
    assert draws() == first
    tm.manual_seed(124)
    assert draws() != first


LIKES = [
    lambda lib, x: lib.zeros_like(x),
    lambda lib, x: lib.ones_like(x),
    lambda lib, x: lib.full_like(x, 7),
    lambda lib, x: lib.full_like(x, 1.5, dtype=lib.float32),
    lambda lib, x: lib.zeros_like(x, dtype=lib.int64),
    lambda lib, x: lib.ones_like(x, dtype=lib.bool),
]


@pytest.mark.parametrize("make", LIKES, ids=range(len(LIKES)))
@pytest.mark.parametrize("array", [np.ones((2, 3)), np.arange(4).reshape(2, 2)],
                         ids=["float64", "int64"])
def test_like_factories(make, array):
    ours, theirs = both(make, array)
    assert_same(ours, theirs)


def test_random_like_factories():
    x = tm.zeros(3, 4, dtype=tm.float64)
    for t in [tm.empty_like(x), tm.rand_like(x), tm.randn_like(x)]:
        assert t.shape == (3, 4) and t.dtype == tm.float64
    u = tm.rand_like(tm.zeros(1000))
    assert 0 <= u.min().item() and u.max().item() < 1
    assert tm.randn_like(x, dtype=tm.float32).dtype == tm.float32


# ---------------------------------------------------------------- Size and attributes


def test_size_is_a_tuple():
    x = tm.zeros(1, 8, 5, 5)
    assert isinstance(x.shape, tuple) and isinstance(x.shape, tm.Size)
    assert x.shape == (1, 8, 5, 5) and x.size() == x.shape and x.size() == (1, 8, 5, 5)
    assert str(x.shape) == f"{MOD}.Size([1, 8, 5, 5])"
    assert repr(x.size()) == f"{MOD}.Size([1, 8, 5, 5])"
    assert str(tm.tensor(1.0).shape) == f"{MOD}.Size([])"
    assert x.size(1) == 8 and x.size(-1) == 5 and x.size(-4) == 1
    assert isinstance(x.size(1), int)
    assert x.shape[1:] == (8, 5, 5) and isinstance(x.shape[1:], tm.Size)
    n, c, h, w = x.shape
    assert (n, c, h, w) == (1, 8, 5, 5)
    assert tm.Size([2, 3]) == (2, 3)
    assert tm.zeros(tm.Size([2, 3])).shape == (2, 3)


def test_size_dim_out_of_range():
    assert_same_error(lambda: tm.zeros(2, 3).size(5), lambda: torch.zeros(2, 3).size(5))
    assert_same_error(lambda: tm.zeros(2, 3).size(-3), lambda: torch.zeros(2, 3).size(-3))


def test_basic_attributes():
    x = tm.zeros(2, 3, 4)
    assert x.dim() == 3 and x.ndim == 3 and x.numel() == 24
    assert tm.tensor(5.0).dim() == 0 and tm.tensor(5.0).numel() == 1
    assert str(x.device) == "cpu" and x.device.type == "cpu"
    assert isinstance(x, tm.Tensor)


@pytest.mark.parametrize("value,kind", [(2.5, float), (3, int), (True, bool), (-1.0, float)])
def test_item(value, kind):
    for t in [tm.tensor(value), tm.tensor([value]), tm.tensor([[value]])]:
        item = t.item()
        assert type(item) is kind and item == value


@pytest.mark.parametrize("data", [2.5, [1, 2], [[1.5, 2.0], [3.0, 4.0]], [True, False], []],
                         ids=repr)
def test_tolist(data):
    ours, theirs = tm.tensor(data).tolist(), torch.tensor(data).tolist()
    assert ours == theirs
    assert type(ours) is type(theirs)


def test_tolist_element_types():
    assert type(tm.tensor([1, 2]).tolist()[0]) is int
    assert type(tm.tensor([1.0]).tolist()[0]) is float
    assert type(tm.tensor([[True]]).tolist()[0][0]) is bool


@pytest.mark.parametrize("name,np_dtype", [("float32", np.float32), ("float64", np.float64),
                                           ("int64", np.int64), ("bool", np.bool_)])
def test_numpy(name, np_dtype):
    x = tm.ones(2, 3, dtype=getattr(tm, name))
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np_dtype and a.shape == (2, 3)
    assert to_numpy(x).dtype == np_dtype


def test_numpy_shares_memory():
    x = tm.zeros(3)
    x.numpy()[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]


def test_detach_clone_data_cpu():
    x = tm.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.tolist() == [1.0, 2.0]
    d.zero_()  # detach shares storage
    assert x.tolist() == [0.0, 0.0]
    c = x.clone()
    assert c.requires_grad  # clone stays in the graph
    with tm.no_grad():
        c.fill_(3.0)
    assert x.tolist() == [0.0, 0.0]
    data = x.data
    assert isinstance(data, tm.Tensor) and not data.requires_grad
    data.fill_(4.0)  # .data shares storage and is not checked by autograd
    assert x.tolist() == [4.0, 4.0]
    assert x.cpu().tolist() == [4.0, 4.0]
    y = tm.ones(2)
    assert y.cpu() is y


CASTS = [
    lambda x: x.to(torch.float64 if isinstance(x, torch.Tensor) else tm.float64),
    lambda x: x.to(torch.int64 if isinstance(x, torch.Tensor) else tm.int64),
    lambda x: x.to(torch.bool if isinstance(x, torch.Tensor) else tm.bool),
    lambda x: x.to("cpu"),
    lambda x: x.to(dtype=torch.float32 if isinstance(x, torch.Tensor) else tm.float32),
    lambda x: x.float(),
    lambda x: x.double(),
    lambda x: x.long(),
]


@pytest.mark.parametrize("cast", CASTS, ids=range(len(CASTS)))
@pytest.mark.parametrize("array", [np.array([1.7, -2.5, 0.0]), np.array([3, 0, -1])],
                         ids=["float", "int"])
def test_casts(cast, array):
    ours, theirs = both(lambda lib, x: cast(x), array)
    assert_same(ours, theirs)


def test_to_same_dtype_returns_self():
    x = tm.ones(2)
    assert x.to(tm.float32) is x and x.to("cpu") is x and x.float() is x
    assert x.to(tm.float64) is not x


# ---------------------------------------------------------------- movement

MOVES = [
    lambda x: x.view(4, 6),
    lambda x: x.view(-1),
    lambda x: x.view(2, -1, 3),
    lambda x: x.view((6, 4)),
    lambda x: x.reshape(3, 8),
    lambda x: x.reshape(-1, 2),
    lambda x: x.reshape((24,)),
    lambda x: x.flatten(),
    lambda x: x.flatten(1),
    lambda x: x.flatten(0, 1),
    lambda x: x.flatten(start_dim=1, end_dim=-1),
    lambda x: x.flatten(-2),
    lambda x: x.permute(2, 0, 1),
    lambda x: x.permute((1, 2, 0)),
    lambda x: x.permute(0, -1, 1),
    lambda x: x.transpose(0, 2),
    lambda x: x.transpose(-1, -2),
    lambda x: x.transpose(1, 1),
    lambda x: x.unsqueeze(0),
    lambda x: x.unsqueeze(-1),
    lambda x: x.unsqueeze(2),
    lambda x: x.unsqueeze(1).squeeze(1),
    lambda x: x.view(1, 2, 1, 3, 4).squeeze(),
    lambda x: x.view(1, 2, 1, 3, 4).squeeze(0),
    lambda x: x.view(1, 2, 1, 3, 4).squeeze(2),
    lambda x: x.view(1, 2, 1, 3, 4).squeeze(-3),
    lambda x: x.squeeze(1),  # not size 1: unchanged
    lambda x: x.transpose(0, 1).contiguous(),
    lambda x: x.transpose(0, 1).reshape(-1),
    lambda x: x.permute(2, 1, 0).flatten(),
    lambda x: x[1].view(-1),
    lambda x: x[:, 1].view(2, 2, 2),  # strided, yet viewable: only the last dim splits
    lambda x: x.view_as(x.reshape(6, 4)),
]


@pytest.mark.parametrize("move", MOVES, ids=range(len(MOVES)))
def test_movement(move):
    ours, theirs = both(lambda lib, x: move(x), np.arange(24.0).reshape(2, 3, 4))
    assert_same(ours, theirs)


def test_movement_of_scalars():
    for lib in LIBS:
        s = lib.tensor(3.0)
        assert s.view(1).shape == (1,) and s.reshape(-1).shape == (1,)
        assert s.flatten().shape == (1,) and s.unsqueeze(0).shape == (1,)
        assert lib.ones(1).squeeze().shape == () and lib.ones(1, 1).view(()).shape == ()


def test_is_contiguous():
    x = tm.zeros(2, 3)
    assert x.is_contiguous()
    assert not x.transpose(0, 1).is_contiguous()
    assert x.transpose(0, 1).contiguous().is_contiguous()
    assert not x.permute(1, 0).is_contiguous()


def test_views_share_memory():
    x = tm.zeros(2, 3)
    x.view(6)[0] = 1.0
    x.transpose(0, 1)[2, 1] = 2.0
    x[0][1:2].fill_(4.0)
    assert x.tolist() == [[1.0, 4.0, 0.0], [0.0, 0.0, 2.0]]
    x.unsqueeze(0).squeeze(0).reshape(3, 2).zero_()
    assert x.tolist() == [[0.0] * 3] * 2


MOVE_ERRORS = [
    lambda lib: lib.zeros(2, 3).transpose(0, 1).view(6),
    lambda lib: lib.zeros(2, 3, 4)[:, 1].view(-1),
    lambda lib: lib.zeros(8).view(3, 3),
    lambda lib: lib.zeros(2, 3).reshape(4, -1),
    lambda lib: lib.zeros(2, 3).view(-1, -1),
    lambda lib: lib.zeros(2, 3).transpose(0, 2),
    lambda lib: lib.zeros(2, 3).unsqueeze(3),
    lambda lib: lib.zeros(2, 3).squeeze(2),
    lambda lib: lib.zeros(2, 3).flatten(2),
    lambda lib: lib.zeros(2, 3).permute(0, 2),
]


@pytest.mark.parametrize("make", MOVE_ERRORS, ids=range(len(MOVE_ERRORS)))
def test_movement_errors(make):
    assert_same_error(lambda: make(tm), lambda: make(torch))


# ---------------------------------------------------------------- indexing

INDICES = [
    1,
    -1,
    (0, 2),
    (1, -1, 3),
    slice(None),
    slice(1, None),
    slice(None, None, 2),
    (slice(None), slice(1, 3)),
    (slice(None), slice(None, None, 2), slice(1, None, 3)),
    (Ellipsis, 1),
    (Ellipsis, slice(1, 3)),
    (0, Ellipsis),
    (None,),
    (slice(None), None),
    (None, Ellipsis, None),
    (0, None, slice(None), 1),
    (slice(-2, None), -1),
    (slice(5, 10),),
    (slice(None), slice(2, 1)),
    [0, 2],
    ([[0, 1], [2, 0]],),  # a 2-D integer index (a bare nested list is deprecated in torch)
    (slice(None), [0, 0, 2]),
    ([0, 1], [1, 2]),
    ([0, 1], slice(None), [3, 4]),
    (slice(None), [1], [0, 2]),
    (1, [0, 2], slice(None)),
    (Ellipsis, [4, 0]),
    ([-1, 0], 1),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem(index):
    ours, theirs = both(lambda lib, x: x[index], np.arange(60.0).reshape(3, 4, 5))
    assert_same(ours, theirs)


@pytest.mark.parametrize("index", [[0, 2], [[1, 1], [0, 2]], [-1, 0, -1]], ids=repr)
def test_getitem_with_int_tensor(index):
    ours, theirs = both(lambda lib, x: x[lib.tensor(index)], np.arange(12.0).reshape(3, 4))
    assert_same(ours, theirs)
    ours, theirs = both(lambda lib, x: x[:, lib.tensor(index)], np.arange(12.0).reshape(3, 4))
    assert_same(ours, theirs)


def test_getitem_with_bool_mask():
    a = np.arange(12.0).reshape(3, 4) - 5
    assert_same(*both(lambda lib, x: x[x > 0], a))
    assert_same(*both(lambda lib, x: x[lib.tensor([True, False, True])], a))
    assert_same(*both(lambda lib, x: x[:, lib.tensor([True, False, True, True])], a))
    assert_same(*both(lambda lib, x: x[x.sum(1) > 0], a))


def test_getitem_scalar_results_are_tensors():
    x = tm.arange(6).view(2, 3)
    assert isinstance(x[1, 2], tm.Tensor) and x[1, 2].shape == () and x[1, 2].item() == 5


GETITEM_ERRORS = [
    lambda x: x[5],
    lambda x: x[:, -6],
    lambda x: x[::-1],
    lambda x: x[0, 0, 0, 0],
]


@pytest.mark.parametrize("index", GETITEM_ERRORS, ids=range(len(GETITEM_ERRORS)))
def test_getitem_errors(index):
    ours, theirs = pair(np.zeros((3, 4, 5)))
    assert_same_error(lambda: index(ours), lambda: index(theirs))


def test_getitem_bad_mask_error():
    assert_same_error(lambda: tm.ones(3)[tm.tensor([True, False])],
                      lambda: torch.ones(3)[torch.tensor([True, False])])


SETITEMS = [
    lambda lib, x: x.__setitem__(0, 1.5),
    lambda lib, x: x.__setitem__((1, 2), -3),
    lambda lib, x: x.__setitem__(slice(None, None, 2), 7.0),
    lambda lib, x: x.__setitem__((slice(None), 1), lib.tensor([9.0, 8.0, 7.0], dtype=x.dtype)),
    lambda lib, x: x.__setitem__((Ellipsis, slice(-1, None)),
                                 lib.arange(3.0, dtype=x.dtype).view(3, 1)),
    lambda lib, x: x.__setitem__(1, lib.tensor(5.0, dtype=x.dtype)),
    lambda lib, x: x.__setitem__(x > 5, 0.0),
    lambda lib, x: x.__setitem__(x > 5, lib.tensor(-1.0, dtype=x.dtype)),
    lambda lib, x: x.__setitem__([0, 2], 4.0),
    lambda lib, x: x.__setitem__((lib.tensor([0, 2]), lib.tensor([1, 3])), 6.0),
    lambda lib, x: x.__setitem__((slice(None), [0, 3]), lib.ones(3, 2, dtype=x.dtype)),
    lambda lib, x: x.__setitem__((None, 1), 2),
    lambda lib, x: x.__setitem__(Ellipsis, 1.0),
]


@pytest.mark.parametrize("assign", SETITEMS, ids=range(len(SETITEMS)))
def test_setitem(assign):
    pairs = pair(np.arange(12.0).reshape(3, 4))
    assign(tm, pairs[0])
    assign(torch, pairs[1])
    assert_same(*pairs)


def test_setitem_on_int_tensor_casts_value():
    ours, theirs = pair(np.arange(6).reshape(2, 3))
    ours[0] = 2.7
    theirs[0] = 2.7
    assert_same(ours, theirs)


# ---------------------------------------------------------------- arithmetic

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((4,), (2, 3, 4)),
               ((), (2, 3)), ((2, 1, 4), (3, 1)), ((1,), ())]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_broadcasting(op, shapes):
    g = rng(1)
    a = g.uniform(0.5, 2.0, shapes[0])
    b = g.uniform(0.5, 2.0, shapes[1]) * g.choice([-1, 1], shapes[1])
    assert_same(*both(lambda lib, x, y: BINARY[op](x, y), a, b))
    assert_same(*both(lambda lib, x, y: BINARY[op](x.float(), y.float()), a, b))


SCALAR_OPS = [
    lambda x: x + 2, lambda x: 2 + x, lambda x: x - 2.5, lambda x: 2 - x, lambda x: x * 3,
    lambda x: 3 * x, lambda x: x / 4, lambda x: 2 / x, lambda x: x ** 2, lambda x: 2 ** x,
    lambda x: x ** 0.5, lambda x: 0.5 ** x, lambda x: -x, lambda x: x ** -1, lambda x: +x,
    lambda x: x + True, lambda x: x * False,
]


@pytest.mark.parametrize("op", SCALAR_OPS, ids=range(len(SCALAR_OPS)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ops_with_python_scalars(op, dtype):
    ours, theirs = both(lambda lib, x: op(x.to(getattr(lib, dtype))), np.array([0.5, 1.0, 3.0]))
    assert_same(ours, theirs)


@pytest.mark.parametrize("op", [lambda x: x + 2, lambda x: 2 - x, lambda x: x * 3,
                                lambda x: 2 ** x, lambda x: x ** 2, lambda x: -x,
                                lambda x: x / 2, lambda x: 7 / x], ids=range(8))
def test_int_tensor_with_python_ints(op):
    assert_same(*both(lambda lib, x: op(x), np.array([1, 2, 3])))


COMPARISONS = {
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "eq_method": lambda a, b: a.eq(b),
}


@pytest.mark.parametrize("op", COMPARISONS)
def test_comparisons(op):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    fn = COMPARISONS[op]
    assert_same(*both(lambda lib, x, y: fn(x, y), a, b))
    assert_same(*both(lambda lib, x: fn(x, 2), a))
    assert_same(*both(lambda lib, x: fn(x, 2.5), a))
    assert_same(*both(lambda lib, x, y: fn(x.long(), y), a, b))


def test_comparison_reflected_with_scalar():
    assert_same(*both(lambda lib, x: 2 < x, np.array([1.0, 3.0])))
    assert_same(*both(lambda lib, x: 2 == x, np.array([2, 3])))


# ---------------------------------------------------------------- dtype promotion

PROMOTIONS = [
    (lambda lib: lib.tensor([1, 2]) * 2.5),
    (lambda lib: lib.tensor([1, 2]) + 1),
    (lambda lib: lib.tensor([1, 2]) / 2),
    (lambda lib: lib.tensor([1, 2]) / lib.tensor([2, 4])),
    (lambda lib: 1 / lib.tensor([1, 2])),
    (lambda lib: lib.tensor([1, 2]) * lib.tensor([0.5, 1.5])),
    (lambda lib: lib.tensor([1.0, 2.0]) + lib.tensor([1.0, 2.0], dtype=lib.float64)),
    (lambda lib: lib.tensor([1, 2]) + lib.tensor([1.0, 2.0], dtype=lib.float64)),
    (lambda lib: lib.tensor([1.0, 2.0]) + lib.tensor(1.0, dtype=lib.float64)),
    (lambda lib: lib.tensor([1, 2]) + lib.tensor(1.5, dtype=lib.float64)),
    (lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64) * 2.5),
    (lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64) + lib.tensor([1, 2])),
    (lambda lib: lib.tensor(2.0) * lib.tensor([1, 2])),
    (lambda lib: lib.tensor([True, False]) + 1),
    (lambda lib: lib.tensor([True, False]) + 1.5),
    (lambda lib: lib.tensor([True, False]) + lib.tensor([1, 2])),
    (lambda lib: lib.tensor([True, False]) * lib.tensor([True, True])),
    (lambda lib: 2 ** lib.tensor([1, 2])),
    (lambda lib: 2.0 ** lib.tensor([1, 2])),
    (lambda lib: lib.tensor([1, 2]) ** 2),
    (lambda lib: lib.tensor([1, 2]) ** 0.5),
    (lambda lib: lib.tensor([1, 2]) @ lib.tensor([3, 4])),
    (lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64) @ lib.tensor([3.0, 4.0],
                                                                          dtype=lib.float64)),
    (lambda lib: lib.tensor([1, 2]) < 1.5),
    (lambda lib: lib.tensor([1, 2]) == lib.tensor([1.0, 3.0])),
]


@pytest.mark.parametrize("make", PROMOTIONS, ids=range(len(PROMOTIONS)))
def test_dtype_promotion(make):
    assert_same(make(tm), make(torch))


def test_broadcast_shape_mismatch_errors():
    for fn in [lambda lib: lib.ones(2, 3) + lib.ones(2, 4),
               lambda lib: lib.ones(3) * lib.ones(4),
               lambda lib: lib.ones(2, 3, 4) - lib.ones(5, 1),
               lambda lib: lib.ones(2, 3) == lib.ones(3, 2)]:
        assert_same_error(lambda: fn(tm), lambda: fn(torch))  # noqa: B023 - called at once


# ---------------------------------------------------------------- reductions

REDUCTIONS = [
    lambda x: x.sum(),
    lambda x: x.sum(0),
    lambda x: x.sum(-1),
    lambda x: x.sum(1, keepdim=True),
    lambda x: x.sum(dim=(0, 2)),
    lambda x: x.sum((0, -1), keepdim=True),
    lambda x: x.mean(),
    lambda x: x.mean(1),
    lambda x: x.mean(-2, keepdim=True),
    lambda x: x.mean(dim=(1, 2)),
    lambda x: x.max(),
    lambda x: x.min(),
    lambda x: x.max(0).values,
    lambda x: x.max(-1).indices,
    lambda x: x.max(1, keepdim=True)[0],
    lambda x: x.max(dim=2, keepdim=True)[1],
    lambda x: x.min(2).values,
    lambda x: x.min(-3, keepdim=True).indices,
    lambda x: x.argmax(),
    lambda x: x.argmax(1),
    lambda x: x.argmax(-1, keepdim=True),
    lambda x: x.argmax(dim=0),
]


@pytest.mark.parametrize("reduce", REDUCTIONS, ids=range(len(REDUCTIONS)))
def test_reductions(reduce):
    a = rng(2).permutation(24).reshape(2, 3, 4) - 11.5  # distinct values: no argmax ties
    assert_same(*both(lambda lib, x: reduce(x), a))
    assert_same(*both(lambda lib, x: reduce(x.float()), a))


@pytest.mark.parametrize("reduce", [lambda lib, x: lib.sum(x), lambda lib, x: lib.sum(x, 1),
                                    lambda lib, x: lib.mean(x, 0), lambda lib, x: lib.max(x),
                                    lambda lib, x: lib.max(x, 1).values,
                                    lambda lib, x: lib.argmax(x, 1),
                                    lambda lib, x: lib.min(x, dim=0)[0]],
                         ids=range(7))
def test_reduction_functions(reduce):
    assert_same(*both(reduce, rng(3).permutation(12).reshape(3, 4) * 1.0))


def test_integer_and_bool_reductions():
    for make in [lambda lib: lib.tensor([[1, 2], [3, 4]]).sum(),
                 lambda lib: lib.tensor([[1, 2], [3, 4]]).sum(0),
                 lambda lib: lib.tensor([True, True, False]).sum(),
                 lambda lib: lib.tensor([[1, 5], [3, 4]]).max(),
                 lambda lib: lib.tensor([[1, 5], [3, 4]]).max(1).values,
                 lambda lib: lib.tensor([[1, 5], [3, 4]]).argmax()]:
        assert_same(make(tm), make(torch))
    assert_same_error(lambda: tm.tensor([1, 2]).mean(), lambda: torch.tensor([1, 2]).mean())


def test_max_with_dim_returns_a_pair():
    x = tm.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    out = x.max(1)
    values, indices = out
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert out.values.tolist() == [5.0, 7.0] and out.indices.dtype == tm.int64
    assert out[0].tolist() == [5.0, 7.0] and out[1].tolist() == [1, 0]
    values, indices = x.min(dim=0, keepdim=True)
    assert values.tolist() == [[1.0, 0.0, 2.0]] and indices.tolist() == [[0, 1, 0]]
    assert x.max().shape == () and x.max().item() == 7.0


def test_max_ties_pick_the_first_index():
    assert_same(*both(lambda lib, x: x.max(0).indices, np.array([3.0, 1.0, 3.0])))
    assert_same(*both(lambda lib, x: x.argmax(), np.array([1.0, 3.0, 3.0])))


REDUCTION_ERRORS = [
    lambda lib: lib.zeros(2, 3).sum(2),
    lambda lib: lib.zeros(2, 3).mean(-3),
    lambda lib: lib.zeros(3).max(1),
    lambda lib: lib.zeros(2, 3).argmax(5),
    lambda lib: lib.zeros(0).max(),
]


@pytest.mark.parametrize("make", REDUCTION_ERRORS, ids=range(len(REDUCTION_ERRORS)))
def test_reduction_errors(make):
    assert_same_error(lambda: make(tm), lambda: make(torch))


# ---------------------------------------------------------------- math and matmul

UNARY = [
    lambda lib, x: x.exp(), lambda lib, x: lib.exp(x), lambda lib, x: (x + 3).log(),
    lambda lib, x: lib.log(x * x + 1), lambda lib, x: x.relu(), lambda lib, x: lib.relu(x),
]


@pytest.mark.parametrize("fn", UNARY, ids=range(len(UNARY)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_math(fn, dtype):
    a = np.array([[-2.0, -0.5, 0.0], [0.25, 1.0, 3.0]])
    ours, theirs = both(lambda lib, x: fn(lib, x.to(getattr(lib, dtype))), a)
    assert_same(ours, theirs)


def test_log_of_zero_and_negative():
    ours, theirs = both(lambda lib, x: x.log(), np.array([0.0, -1.0, 1.0]))
    np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))  # -inf, nan, 0


def test_exp_of_int_is_float():
    assert_same(*both(lambda lib, x: x.exp(), np.array([0, 1, 2])))


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                 ((2, 1, 2, 3), (4, 3, 2)), ((5, 2, 3), (3,)), ((3,), (5, 3, 4))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    g = rng(4)
    a, b = g.normal(size=shapes[0]), g.normal(size=shapes[1])
    assert_same(*both(lambda lib, x, y: x @ y, a, b))
    assert_same(*both(lambda lib, x, y: lib.matmul(x, y), a, b))
    assert_same(*both(lambda lib, x, y: x.float().matmul(y.float()), a, b))


MATMUL_ERRORS = [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((3,), (4, 2)),
                 ((2, 2, 3), (2, 4, 5))]


@pytest.mark.parametrize("shapes", MATMUL_ERRORS, ids=str)
def test_matmul_errors(shapes):
    a, b = shapes
    assert_same_error(lambda: tm.ones(*a) @ tm.ones(*b), lambda: torch.ones(*a) @ torch.ones(*b))


# ---------------------------------------------------------------- in-place

INPLACE = [
    lambda lib, x: x.zero_(),
    lambda lib, x: x.fill_(2.5),
    lambda lib, x: x.fill_(lib.tensor(-1.0)),
    lambda lib, x: x.add_(1.5),
    lambda lib, x: x.add_(lib.ones(3, dtype=x.dtype)),
    lambda lib, x: x.add_(lib.ones(3, dtype=x.dtype), alpha=-2),
    lambda lib, x: x.add_(lib.ones(2, 1, dtype=x.dtype), alpha=0.5),
    lambda lib, x: x.mul_(3),
    lambda lib, x: x.mul_(lib.tensor([1.0, 0.0, -1.0], dtype=x.dtype)),
    lambda lib, x: x.copy_(lib.full((2, 3), 4.0, dtype=x.dtype)),
    lambda lib, x: x.copy_(lib.tensor([7.0, 8.0, 9.0], dtype=x.dtype)),
    lambda lib, x: x.copy_(lib.tensor([[1, 2, 3], [4, 5, 6]])),
    lambda lib, x: x.copy_(lib.tensor([1.0, 2.0, 3.0], dtype=lib.float32)),
]


@pytest.mark.parametrize("op", INPLACE, ids=range(len(INPLACE)))
def test_inplace(op):
    ours, theirs = pair(np.arange(6.0).reshape(2, 3))
    result = op(tm, ours)
    assert result is ours
    assert op(torch, theirs) is theirs
    assert_same(ours, theirs)


def test_inplace_keeps_int_dtype():
    ours, theirs = pair(np.arange(6).reshape(2, 3))
    for op in [lambda lib, x: x.add_(2), lambda lib, x: x.mul_(3), lambda lib, x: x.fill_(7),
               lambda lib, x: x.copy_(lib.tensor([[1.9, 2.1, 3.5]] * 2))]:
        op(tm, ours)
        op(torch, theirs)
        assert_same(ours, theirs)


def test_inplace_type_error():
    assert_same_error(lambda: tm.ones(3, dtype=tm.int64).add_(1.5),
                      lambda: torch.ones(3, dtype=torch.int64).add_(1.5))


def test_uniform_and_normal():
    tm.manual_seed(0)
    x = tm.empty(20000)
    assert x.uniform_(-2, 3) is x
    assert x.dtype == tm.float32 and -2 <= x.min().item() and x.max().item() < 3
    assert abs(x.mean().item() - 0.5) < 0.05
    x = tm.zeros(100, 200, dtype=tm.float64)
    assert x.normal_(1.5, 0.5) is x
    assert x.dtype == tm.float64 and x.shape == (100, 200)
    a = x.numpy()
    assert abs(a.mean() - 1.5) < 0.02 and abs(a.std() - 0.5) < 0.02
    u = tm.zeros(1000).uniform_()
    assert 0 <= u.min().item() and u.max().item() < 1 and u.numpy().std() > 0.2
    n = tm.zeros(10000).normal_()
    assert abs(n.mean().item()) < 0.05 and abs(n.numpy().std() - 1) < 0.05


# ---------------------------------------------------------------- repr

REPRS = [
    lambda lib: lib.tensor(3.0),
    lambda lib: lib.tensor(-7),
    lambda lib: lib.tensor(True),
    lambda lib: lib.tensor(0.5),
    lambda lib: lib.tensor(1e10),
    lambda lib: lib.tensor([1.0, 2.0]),
    lambda lib: lib.tensor([1, 2]),
    lambda lib: lib.tensor([-1, 20, 300]),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
    lambda lib: lib.tensor(2.5, dtype=lib.float64),
    lambda lib: lib.tensor([-1.5, 2.25, 3.0]),
    lambda lib: lib.tensor([0.1, 0.25]),
    lambda lib: lib.tensor([1 / 3]),
    lambda lib: lib.tensor([123456.0]),
    lambda lib: lib.tensor([0.0, 1000.0]),
    lambda lib: lib.tensor([-0.0, 0.0]),
    lambda lib: lib.tensor([1e-5, 1.0]),
    lambda lib: lib.tensor([1e8, 1.0]),
    lambda lib: lib.tensor([1e-4, 1e4]),
    lambda lib: lib.tensor([1.0, 1001.0]),
    lambda lib: lib.tensor([[1e-5]], dtype=lib.float64),
    lambda lib: lib.tensor([-1e-5, 2.0]),
    lambda lib: lib.tensor([[1.0, -2.0], [3.5, 4.0]]),
    lambda lib: lib.tensor([[1, -2], [30, 4]]),
    lambda lib: lib.tensor([[True], [False]]),
    lambda lib: lib.arange(8.0).reshape(2, 2, 2),
    lambda lib: lib.arange(12).reshape(2, 3, 2) - 5,
    lambda lib: lib.arange(6.0).reshape(1, 2, 3) / 7,
    lambda lib: lib.zeros(2, 3, dtype=lib.int64),
    lambda lib: lib.ones(2, 2, dtype=lib.float64),
    lambda lib: lib.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
    lambda lib: lib.tensor([]),
    lambda lib: lib.tensor([], dtype=lib.int64),
    lambda lib: lib.zeros(0, 3),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    lambda lib: lib.tensor(2.0, requires_grad=True),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True),
    lambda lib: lib.tensor([[0.5, -1.25]], requires_grad=True),
    lambda lib: lib.arange(30.0).reshape(3, 10) * 1.5,
    lambda lib: lib.arange(20.0) / 3,
    lambda lib: lib.arange(2000.0),
    lambda lib: lib.arange(2000),
    lambda lib: lib.arange(3000.0).reshape(3, 1000) / 10,
]


@pytest.mark.parametrize("make", REPRS, ids=range(len(REPRS)))
def test_repr(make):
    assert repr(make(tm)) == ours_text(repr(make(torch)))


def test_str_matches_repr():
    x = tm.tensor([[1.0, 2.5]])
    assert str(x) == repr(x) == "tensor([[1.0000, 2.5000]])"


def test_repr_of_non_leaf_mentions_grad_fn():
    x = tm.tensor([1.0, 2.0], requires_grad=True)
    for y in [x + 1, x * x, x.sum(), x.exp(), x[0], x.view(2, 1)]:
        text = repr(y)
        assert "grad_fn=<" in text and "requires_grad" not in text
    y = (x * 2).detach()
    assert repr(y) == "tensor([2., 4.])"
    with tm.no_grad():
        assert repr(x * 2) == "tensor([2., 4.])"


# ---------------------------------------------------------------- errors


def test_item_on_many_elements():
    assert_same_error(lambda: tm.ones(2).item(), lambda: torch.ones(2).item())
    assert_same_error(lambda: tm.ones(2, 3).item(), lambda: torch.ones(2, 3).item())


def test_int_tensor_cannot_require_grad():
    assert_same_error(lambda: tm.tensor([1, 2], requires_grad=True),
                      lambda: torch.tensor([1, 2], requires_grad=True))
    assert_same_error(lambda: tm.tensor([1, 2]).requires_grad_(),
                      lambda: torch.tensor([1, 2]).requires_grad_())


def test_python_number_conversions():
    assert float(tm.tensor([2.5])) == 2.5 and int(tm.tensor(3)) == 3
    assert bool(tm.tensor([True])) is True
    assert math.isclose(float(tm.tensor(0.1)), 0.1, rel_tol=1e-6)
    assert len(tm.zeros(4, 2)) == 4
    assert [t.item() for t in tm.tensor([1, 2, 3])] == [1, 2, 3]
