"""nn.Module's bookkeeping against torch.nn.Module: the same class is built in both libraries."""
import numpy as np
import pytest
import torch

import tatamikomi as tm
from helpers import assert_close, assert_same_error, raised, to_numpy

LIBS = {"ours": tm, "torch": torch}


def make_net(lib):
    """A nested model with a buffer, a direct parameter, a tied weight and a shared child."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)
            self.bn = nn.BatchNorm2d(c)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x))) + x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 2, 3)
            self.blocks = nn.Sequential(Block(2), Block(2))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.heads = nn.ModuleList([nn.Linear(2, 3), nn.Linear(2, 3, bias=False)])
            self.heads[1].weight = self.heads[0].weight                    # tied
            self.alias = self.pool                                          # shared child
            self.temperature = nn.Parameter(lib.ones(1))
            self.register_buffer("offset", lib.zeros(3))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)
            self.note = "plain attribute"

        def forward(self, x):
            h = self.pool(self.blocks(self.stem(x))).flatten(1)
            return (self.heads[0](h) + self.heads[1](h)) * self.temperature + self.offset

    return Net()


def both(factory=make_net):
    return factory(tm), factory(torch)


def names(pairs):
    return [name for name, _ in pairs]


def shapes(pairs):
    return [(name, tuple(t.shape)) for name, t in pairs]


# ----- registration and traversal

def test_attribute_assignment_registers():
    for lib in LIBS.values():
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.zeros(2))
        m.child = lib.nn.Linear(2, 2)
        m.t = lib.zeros(3)                                    # a plain tensor: not registered
        m.n = 4
        assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
        assert m.w is m._parameters["w"] and m.child is m._modules["child"]
        assert names(m.named_parameters()) == ["w", "child.weight", "child.bias"]
        m.w = None
        assert names(m.named_parameters()) == ["child.weight", "child.bias"]
        del m.child
        assert list(m.children()) == []
        with pytest.raises(AttributeError):
            _ = m.child


def assign_tensor_to_param(lib):
    m = lib.nn.Linear(2, 2)
    m.weight = lib.zeros(2, 2)


def assign_before_init(lib):
    class Bad(lib.nn.Module):
        def __init__(self):
            self.fc = lib.nn.Linear(1, 1)
    Bad()


def missing_attribute(lib):
    return lib.nn.Linear(2, 2).nope


def assign_int_to_child(lib):
    s = lib.nn.Sequential(lib.nn.ReLU())
    setattr(s, "0", 3)


@pytest.mark.parametrize("fn", [assign_tensor_to_param, assign_before_init, missing_attribute,
                                assign_int_to_child], ids=lambda f: f.__name__)
def test_registration_errors_match_torch(fn):
    assert_same_error(lambda: fn(tm), named_as_ours(lambda: fn(torch)))


def named_as_ours(fn):
    """fn, with torch's type names in its exception's message (torch.FloatTensor) as ours."""
    def run():
        try:
            fn()
        except Exception as e:
            e.args = (str(e).replace("'torch.", "'tatamikomi."),) + e.args[1:]
            raise
    return run


def test_named_parameters_order_and_tied_dedup():
    a, b = both()
    assert shapes(a.named_parameters()) == shapes(b.named_parameters())
    assert "heads.1.weight" not in names(b.named_parameters())             # the tie, once
    assert len(list(a.parameters())) == len(list(b.parameters()))
    assert (shapes(a.named_parameters(remove_duplicate=False))
            == shapes(b.named_parameters(remove_duplicate=False)))
    assert (shapes(a.named_parameters(prefix="net", recurse=False))
            == shapes(b.named_parameters(prefix="net", recurse=False)))
    assert a.heads[1].weight is a.heads[0].weight
    assert all(isinstance(p, tm.nn.Parameter) and p.requires_grad for p in a.parameters())


def test_buffers():
    a, b = both()
    assert shapes(a.named_buffers()) == shapes(b.named_buffers())
    assert len(list(a.buffers())) == len(list(b.buffers()))
    assert shapes(a.named_buffers(recurse=False)) == shapes(b.named_buffers(recurse=False))
    assert not any(t.requires_grad for t in a.buffers())
    assert str(dict(a.named_buffers())["blocks.0.bn.num_batches_tracked"].dtype) == \
        "tatamikomi.int64"


def test_children_and_modules():
    a, b = both()
    assert names(a.named_children()) == names(b.named_children())
    assert [type(m).__name__ for m in a.children()] == [type(m).__name__ for m in b.children()]
    assert names(a.named_modules()) == names(b.named_modules())
    assert [type(m).__name__ for m in a.modules()] == [type(m).__name__ for m in b.modules()]
    assert (names(a.named_modules(remove_duplicate=False))
            == names(b.named_modules(remove_duplicate=False)))
    assert names(a.named_modules(prefix="m")) == names(b.named_modules(prefix="m"))
    assert a.alias is a.pool
    assert next(iter(a.modules())) is a


def test_train_eval_propagate():
    a, b = both()
    for m in (a, b):
        assert all(x.training for x in m.modules())
        assert m.eval() is m
        assert not any(x.training for x in m.modules())
        m.blocks.train()
        assert m.blocks[1].bn.training and not m.training and not m.stem.training
        assert m.train() is m and all(x.training for x in m.modules())
        m.train(False)
        assert not any(x.training for x in m.modules())
    assert_same_error(lambda: a.train("yes"), lambda: b.train("yes"))


def _backward(m, lib):
    x = lib.tensor(np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32))
    m(x).sum().backward()


def test_zero_grad():
    for lib, m in zip(LIBS.values(), both()):
        _backward(m, lib)
        params = list(m.parameters())
        assert all(p.grad is not None for p in params)
        m.zero_grad(set_to_none=False)
        assert all(p.grad is not None and not to_numpy(p.grad).any() for p in params)
        _backward(m, lib)
        m.zero_grad()                                          # set_to_none=True by default
        assert all(p.grad is None for p in params)


def test_gradients_accumulate_like_torch():
    a, b = both()
    a.load_state_dict({k: tm.tensor(v.numpy().copy()) for k, v in b.state_dict().items()})
    for _ in range(2):
        _backward(a, tm)
        _backward(b, torch)
    for (ka, pa), (kb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert ka == kb
        assert_close(pa.grad, pb.grad, "float32")


@pytest.mark.parametrize("convert", [lambda m, lib: m.double(), lambda m, lib: m.float(),
                                     lambda m, lib: m.to(lib.float64),
                                     lambda m, lib: m.to(dtype=lib.float64),
                                     lambda m, lib: m.to("cpu"),
                                     lambda m, lib: m.to(lib.float64).to(lib.float32)],
                         ids=["double", "float", "to", "to_kw", "to_cpu", "roundtrip"])
def test_dtype_conversion_keeps_identity(convert):
    dtypes = {}
    for name, (lib, m) in zip(LIBS, zip(LIBS.values(), both())):
        _backward(m, lib)
        before = dict(m.named_parameters())
        assert convert(m, lib) is m                  # buffers may be replaced, as torch does
        after = dict(m.named_parameters())
        assert all(after[k] is before[k] for k in before)
        assert all(isinstance(p, lib.nn.Parameter) and p.requires_grad for p in after.values())
        dtypes[name] = [str(t.dtype).split(".")[-1] for t in m.state_dict().values()]
        dtypes[name] += [str(p.grad.dtype).split(".")[-1] for p in m.parameters()]
    assert dtypes["ours"] == dtypes["torch"]


def test_apply_order_and_return():
    seen = {}
    for name, m in zip(LIBS, both()):
        order = []
        assert m.apply(lambda mod, order=order: order.append(type(mod).__name__)) is m
        seen[name] = order
    assert seen["ours"] == seen["torch"]
    assert seen["ours"][-1] == "Net"


def test_apply_initializes_like_a_user_would():
    def init(mod, lib):
        if isinstance(mod, lib.nn.Linear):
            lib.nn.init.ones_(mod.weight)
    for lib, m in zip(LIBS.values(), both()):
        m.apply(lambda mod, lib=lib: init(mod, lib))
        assert to_numpy(m.heads[0].weight).min() == 1.0


def test_requires_grad_():
    for m in both():
        assert m.requires_grad_(False) is m
        assert not any(p.requires_grad for p in m.parameters())
        m.blocks.requires_grad_()
        assert [p.requires_grad for p in m.parameters()] == \
            [n.startswith("blocks.") for n, _ in m.named_parameters()]


# ----- state_dict

def test_state_dict_keys_order_and_values():
    a, b = both()
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    assert "scratch" not in sa and "offset" in sa
    assert "heads.1.weight" in sb and not any(k.startswith("alias") for k in sb)
    assert all(not v.requires_grad for v in sa.values())
    assert [tuple(v.shape) for v in sa.values()] == [tuple(v.shape) for v in sb.values()]
    assert list(a.state_dict(prefix="model.")) == list(b.state_dict(prefix="model."))
    kept = a.state_dict(keep_vars=True)
    assert kept["stem.weight"] is a.stem.weight


def test_state_dict_batchnorm_keys():
    keys = {name: list(lib.nn.BatchNorm2d(3).state_dict()) for name, lib in LIBS.items()}
    assert keys["ours"] == keys["torch"] == ["weight", "bias", "running_mean", "running_var",
                                             "num_batches_tracked"]


def test_load_state_dict_round_trip_from_torch():
    a, b = both()
    _backward(b, torch)                             # train-mode forward moves running stats
    result = a.load_state_dict({k: tm.tensor(v.numpy().copy()) for k, v in b.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == repr(b.load_state_dict(b.state_dict()))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        assert_close(va, vb, "float32")
    assert a.heads[1].weight is a.heads[0].weight


def _state(lib, net, edit):
    sd = dict(net.state_dict())
    edit(sd, lib)
    return sd


EDITS = {
    "missing": lambda sd, lib: (sd.pop("stem.bias"), sd.pop("blocks.1.bn.running_var")),
    "unexpected": lambda sd, lib: sd.update({"extra.weight": lib.zeros(1), "zz": lib.ones(2)}),
    "size": lambda sd, lib: sd.update({"stem.weight": lib.zeros(2, 1, 5, 5)}),
    "all": lambda sd, lib: (sd.pop("offset"), sd.update({"head.weight": lib.zeros(1),
                                                         "stem.bias": lib.zeros(3)})),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_load_state_dict_strict_errors(kind):
    a, b = both()
    ea = raised(lambda: a.load_state_dict(_state(tm, a, EDITS[kind])))
    eb = raised(lambda: b.load_state_dict(_state(torch, b, EDITS[kind])))
    assert type(ea) is type(eb) is RuntimeError
    ta, tb = str(ea), str(eb)
    assert ta.split("\n")[0] == tb.split("\n")[0]
    for key in ["stem.bias", "blocks.1.bn.running_var", "extra.weight", "zz", "stem.weight",
                "offset", "head.weight"]:
        assert (f'"{key}"' in ta or f"for {key}:" in ta) == \
            (f'"{key}"' in tb or f"for {key}:" in tb), key
    assert ta == tb.replace("torch.Size(", "tatamikomi.Size(")


@pytest.mark.parametrize("kind", ["missing", "unexpected"])
def test_load_state_dict_non_strict(kind):
    a, b = both()
    ra = a.load_state_dict(_state(tm, a, EDITS[kind]), strict=False)
    rb = b.load_state_dict(_state(torch, b, EDITS[kind]), strict=False)
    assert ra.missing_keys == rb.missing_keys
    assert ra.unexpected_keys == rb.unexpected_keys
    assert tuple(ra) == (ra.missing_keys, ra.unexpected_keys)
    assert repr(ra) == repr(rb)


def test_load_state_dict_non_strict_size_mismatch_still_raises():
    a, b = both()
    assert_same_error(lambda: a.load_state_dict(_state(tm, a, EDITS["size"]), strict=False),
                      lambda: b.load_state_dict(_state(torch, b, EDITS["size"]), strict=False))


def test_load_state_dict_copies_values_not_objects():
    a, _ = both()
    src = {k: v.clone() for k, v in a.state_dict().items()}
    src["stem.bias"] = tm.tensor([5.0, 6.0])
    w = a.stem.bias
    a.load_state_dict(src)
    assert a.stem.bias is w and a.stem.bias.tolist() == [5.0, 6.0]
    src["stem.bias"][0] = 0.0
    assert a.stem.bias.tolist() == [5.0, 6.0]


# ----- hooks

def test_forward_hook_args_and_remove():
    for lib in LIBS.values():
        lin = lib.nn.Linear(3, 2)
        calls = []

        def hook(module, inputs, output, calls=calls):
            calls.append((module, inputs, output))

        handle = lin.register_forward_hook(hook)
        x = lib.ones(4, 3)
        y = lin(x)
        assert len(calls) == 1
        module, inputs, output = calls[0]
        assert module is lin and isinstance(inputs, tuple) and inputs[0] is x and output is y
        handle.remove()
        lin(x)
        assert len(calls) == 1
        handle.remove()                                           # a second remove is harmless


def test_forward_hook_return_replaces_output_and_order():
    for lib in LIBS.values():
        seq = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU())
        order = []
        seq[0].register_forward_hook(lambda m, i, o, order=order: order.append("first"))
        h = seq[0].register_forward_hook(lambda m, i, o: o * 0 - 1)
        seq[0].register_forward_hook(
            lambda m, i, o, order=order: order.append(float(o.detach().sum())))
        y = seq(lib.ones(4, 3))
        assert order == ["first", -8.0]
        assert to_numpy(y).max() == 0                                 # relu(-1) downstream
        h.remove()
        assert to_numpy(seq[0](lib.ones(1, 3))).min() != -1


def test_forward_hooks_see_every_layer_in_order():
    shapes_seen = {}
    for name, (lib, m) in zip(LIBS, zip(LIBS.values(), both())):
        seen = []
        for mod_name, mod in m.named_modules():
            if mod_name:
                mod.register_forward_hook(
                    lambda mod, i, o, n=mod_name, seen=seen: seen.append((n, tuple(o.shape))))
        _backward(m, lib)
        shapes_seen[name] = seen
    assert shapes_seen["ours"] == shapes_seen["torch"]


# ----- repr

def test_nested_repr_identical():
    a, b = both()
    assert repr(a) == repr(b)
    assert str(a.blocks) == str(b.blocks)


def test_custom_extra_repr():
    def factory(lib):
        class Scale(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.factor = 2.0
                self.inner = lib.nn.Linear(1, 1)

            def extra_repr(self):
                return f"factor={self.factor}\nsecond line"

        class Empty(lib.nn.Module):
            pass

        outer = lib.nn.Sequential(Scale(), Empty(), lib.nn.Sequential())
        outer.add_module("named", lib.nn.Identity())
        return outer
    a, b = both(factory)
    assert repr(a) == repr(b)


def test_missing_forward_error():
    def call(lib):
        class NoForward(lib.nn.Module):
            pass
        NoForward()(lib.ones(1))
    assert_same_error(lambda: call(tm), lambda: call(torch))
