"""nn.Module's bookkeeping against torch.nn.Module: the same class is built in both libraries."""
import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_error, raised, to_numpy

import tatamikomi as tm

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


# ----- re-assignment keeps a child's place (torchvision's fine-tuning recipes)

def resnet_like(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(4, 10)
            self.scale = nn.Parameter(lib.ones(1))
            self.tail = nn.Identity()

        def forward(self, x):
            x = self.avgpool(self.relu(self.bn1(self.conv1(x)))).flatten(1)
            return self.tail(self.fc(x) * self.scale)

    return Net()


def test_reassigned_child_keeps_its_place():
    """`model.fc = nn.Linear(...)`, then children, state_dict keys and children()[:-1] as
    torch; this failed before: the new fc moved to the end of _modules."""
    built = {}
    for name, lib in LIBS.items():
        m = resnet_like(lib)
        m.fc = lib.nn.Linear(4, 2)                             # the fine-tuning head
        m.scale = lib.nn.Parameter(lib.ones(1) * 2)            # a parameter re-assigned
        body = lib.nn.Sequential(*list(m.children())[:-1])     # drops `tail`, not the new fc
        built[name] = ([n for n, _ in m.named_children()], list(m.state_dict()),
                       names(m.named_parameters()), repr(body), repr(m))
    assert built["ours"] == built["torch"]
    assert built["ours"][0] == ["conv1", "bn1", "relu", "avgpool", "fc", "tail"]


def test_assigning_across_kinds_moves_as_torch():
    """A name that changes kind (module over parameter, parameter over buffer) goes last."""
    def build(lib):
        m = lib.nn.Module()
        m.a = lib.nn.Linear(1, 1)
        m.b = lib.nn.Parameter(lib.ones(1))
        m.register_buffer("c", lib.zeros(1))
        m.d = lib.nn.Linear(1, 1)
        m.c = lib.nn.Parameter(lib.ones(1))            # a buffer's name becomes a parameter
        m.b = None
        m.a = None
        return list(m._modules), list(m._parameters), list(m._buffers), list(m.state_dict())
    assert build(tm) == build(torch)


# ----- containers

def test_module_dict_matches_torch():
    from collections import OrderedDict

    def build(lib):
        nn = lib.nn
        d = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "pool": nn.MaxPool2d(2)})
        d.update([("act", nn.ReLU()), ("fc", nn.Linear(2, 2))])
        d.update(OrderedDict([("z", nn.Tanh()), ("a", nn.Sigmoid())]))
        d["extra"] = nn.Identity()
        popped = d.pop("pool")
        del d["z"]
        return (list(d.keys()), [type(m).__name__ for m in d.values()], len(d), "act" in d,
                "pool" in d, type(popped).__name__, names(d.named_parameters()),
                list(d.state_dict()), repr(d), [k for k, _ in d.items()], list(iter(d)))
    assert build(tm) == build(torch)


def test_parameter_list_and_dict_match_torch():
    def build(lib):
        nn = lib.nn
        pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3)])   # tensors converted
        pl.append(lib.ones(1, 2))
        pl.extend([nn.Parameter(lib.ones(4))])
        pl += [lib.ones(5)]
        pl[0] = lib.zeros(2)
        sliced = pl[1:3]
        pd = nn.ParameterDict({"b": lib.ones(2), "a": nn.Parameter(lib.zeros(1))})  # sorted
        pd["c"] = lib.ones(3)
        pd.update([("e", lib.ones(1)), ("d", lib.ones(1))])
        popped = pd.pop("a")
        k, _ = pd.popitem()
        default = pd.setdefault("f", lib.ones(2))
        merged = pd | nn.ParameterDict({"g": lib.ones(1)})
        return ([tuple(p.shape) for p in pl], len(pl), type(pl[1]).__name__,
                [tuple(p.shape) for p in sliced], type(sliced).__name__,
                names(pl.named_parameters()), list(pl.state_dict()), list(pd.keys()),
                list(pd), tuple(popped.shape), k, type(default).__name__, list(merged.keys()),
                pd.get("zz") is None, "b" in pd, names(pd.named_parameters()),
                list(reversed(pd)), list(pd.copy().keys()))
    assert build(tm) == build(torch)


def test_containers_in_a_model_train_together():
    """ModuleDict and ParameterList children: forward, backward and state_dict keys."""
    def factory(lib):
        nn = lib.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.branches = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Linear(3, 2)})
                self.scales = nn.ParameterList([nn.Parameter(lib.ones(2) * k) for k in (1, 2)])

            def forward(self, x):
                return sum(self.branches[k](x) * s for k, s in zip(("a", "b"), self.scales))
        return Net()

    a, b = both(factory)
    a.load_state_dict({k: tm.tensor(v.detach().numpy()) for k, v in b.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    ya, yb = a(tm.tensor(x)), b(torch.tensor(x))
    ya.sum().backward()
    yb.sum().backward()
    assert_close(ya, yb, "float32")
    for (ka, pa), (kb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert ka == kb
        assert_close(pa.grad, pb.grad, "float32")


# ----- traversal, lookup and modes

def test_named_modules_prefix_and_duplicates():
    for remove in (True, False):
        a, b = both()
        assert names(a.named_modules(prefix="net", remove_duplicate=remove)) == \
            names(b.named_modules(prefix="net", remove_duplicate=remove))
    a, b = both()
    assert [type(m).__name__ for m in a.modules()] == [type(m).__name__ for m in b.modules()]


def test_get_submodule_parameter_buffer_and_set_submodule():
    a, b = both()
    for target in ("blocks.0.conv", "heads.1", ""):
        assert type(a.get_submodule(target)).__name__ == type(b.get_submodule(target)).__name__
    assert a.get_parameter("blocks.1.bn.weight") is a.blocks[1].bn.weight
    assert a.get_buffer("blocks.0.bn.running_mean") is a.blocks[0].bn.running_mean
    assert tuple(a.get_parameter("temperature").shape) == (1,)
    a.set_submodule("blocks.0.act", tm.nn.Tanh())
    b.set_submodule("blocks.0.act", torch.nn.Tanh())
    assert repr(a) == repr(b)


def test_zero_grad_keeps_zeros_when_asked():
    for lib in LIBS.values():
        m = lib.nn.Linear(3, 2)
        m(lib.ones(1, 3)).sum().backward()
        m.zero_grad(set_to_none=False)
        assert to_numpy(m.weight.grad).tolist() == [[0.0] * 3] * 2
        m.zero_grad()
        assert m.weight.grad is None


def test_forward_pre_hooks_with_kwargs_and_prepend():
    out = {}
    for name, lib in LIBS.items():
        lin = lib.nn.Linear(2, 2)
        order = []
        lin.register_forward_pre_hook(lambda m, a, order=order: order.append("second"))
        lin.register_forward_pre_hook(lambda m, a, order=order: order.append("first"),
                                      prepend=True)
        lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 2,), kwargs),
                                      with_kwargs=True)
        lin.register_forward_hook(lambda m, args, kwargs, y, order=order: order.append(
            sorted(kwargs)), with_kwargs=True)
        y = lin(lib.ones(1, 2))
        expected = to_numpy(lin.weight.sum(1) * 2 + lin.bias).reshape(1, 2)
        out[name] = order, bool(np.allclose(to_numpy(y), expected))
    assert out["ours"] == out["torch"] == (["first", "second", []], True)


# ----- full backward hooks

def test_full_backward_hooks_see_torchs_gradients():
    """grad_input and grad_output as PyTorch passes them; a returned grad_input replaces the
    gradient flowing on, and a pre-hook's grad_output reaches the layer's backward."""
    x = np.random.default_rng(1).standard_normal((4, 3)).astype("float64")
    got = {}
    for name, lib in (("torch", torch), ("ours", tm)):     # ours copies torch's weights
        torch.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
        model = model.double()
        if name == "ours":
            src = got["torch"][-1]
            model.load_state_dict({k: tm.tensor(v) for k, v in src.items()})
        seen = []
        model[1].register_full_backward_hook(
            lambda m, gi, go, seen=seen: seen.append((to_numpy(gi[0]), to_numpy(go[0]))))
        model[2].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
        model[0].register_full_backward_pre_hook(lambda m, go: (go[0] + 1,))
        t = lib.tensor(x, requires_grad=True)
        y = model(t)
        y.backward(lib.ones_like(y))
        state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        got[name] = (seen, to_numpy(t.grad), to_numpy(model[0].weight.grad),
                     y.grad_fn.name(), state)
    (s1, gx1, gw1, n1, _), (s2, gx2, gw2, n2, _) = got["ours"], got["torch"]
    assert n1 == n2 == "BackwardHookFunctionBackward"
    assert len(s1) == len(s2) == 1
    for a, b in zip(s1[0], s2[0]):
        assert_close(a, b)
    assert_close(gx1, gx2)
    assert_close(gw1, gw2)


def test_full_backward_hook_without_input_grad_warns_as_torch():
    for lib in LIBS.values():
        lin = lib.nn.Linear(2, 2)
        calls = []
        lin.register_full_backward_hook(lambda m, gi, go, calls=calls: calls.append(gi))
        with pytest.warns(UserWarning, match="Full backward hook is firing"):
            lin(lib.ones(1, 2)).sum().backward()
        assert calls == [(None,)]


# ----- the lazy-module protocol

def test_lazy_linear_infers_in_features_and_becomes_linear():
    out = {}
    for name, lib in LIBS.items():
        m = lib.nn.Sequential(lib.nn.LazyLinear(4), lib.nn.ReLU(), lib.nn.LazyLinear(2))
        before = (repr(m), m[0].has_uninitialized_params(), repr(m[0].weight),
                  type(m[0].weight).__name__, list(m.state_dict()),
                  type(m.state_dict()["0.weight"]).__name__)
        m(lib.ones(3, 7))
        after = (repr(m), type(m[0]).__name__, tuple(m[0].weight.shape),
                 tuple(m[2].bias.shape), type(m[0].weight).__name__, m[0].in_features,
                 list(m.state_dict()), hasattr(m[0], "_initialize_hook"))
        out[name] = before, after
    assert out["ours"] == out["torch"]


def test_lazy_linear_trains_as_torch_and_loads_state():
    theirs = torch.nn.LazyLinear(3).double()
    theirs(torch.ones(1, 5, dtype=torch.float64))
    ours = tm.nn.LazyLinear(3, dtype=tm.float64)
    ours.load_state_dict({k: tm.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})            # materializes on load
    assert type(ours.weight).__name__ == "Parameter" and tuple(ours.weight.shape) == (3, 5)
    x = np.random.default_rng(0).standard_normal((2, 5))
    ya, yb = ours(tm.tensor(x)), theirs(torch.tensor(x))
    ya.sum().backward()
    yb.sum().backward()
    assert_close(ya, yb)
    assert_close(ours.weight.grad, theirs.weight.grad)
    assert type(ours).__name__ == "Linear"
    tm.manual_seed(0)
    fresh = tm.nn.LazyLinear(4)
    fresh(tm.ones(2, 50))
    bound = 1 / np.sqrt(50)                      # Linear's default init, once the shape is known
    w = fresh.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
