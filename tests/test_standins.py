"""Stand-ins that let CPU programs run as written: each answers as PyTorch 2.13's CPU build does
(values, warnings, exception types and messages), checked against torch in this process."""
import os
import time
import typing
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint
from helpers import assert_same_error, raised

import tatamikomi as tm
import tatamikomi.utils.checkpoint


def answer(fn):
    """('ok', value) or ('error', type name, first line of the message)."""
    e = raised(fn)
    if e is None:
        return "ok", fn()
    return "error", type(e).__name__, str(e).split("\n")[0]


def caught(fn):
    """The warnings fn gives: (category name, message)."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        fn()
    return [(w.category.__name__, str(w.message)) for w in ws]


# ----- torch.accelerator, torch.cuda, torch.backends

ACCELERATOR = ["is_available()", "device_count()", "current_accelerator()",
               "current_accelerator(check_available=True)", "current_device_index()",
               "set_device_index(0)", "synchronize()", "synchronize(0)", "empty_cache()",
               "memory_allocated()", "max_memory_allocated(0)", "memory_reserved()",
               "get_memory_info()", "memory_stats()", "reset_peak_memory_stats()",
               "current_stream()", "get_device_capability()"]


@pytest.mark.parametrize("call", ACCELERATOR)
def test_accelerator_answers_as_torch(call):
    assert answer(lambda: eval("tm.accelerator." + call)) == \
        answer(lambda: eval("torch.accelerator." + call))


def test_accelerator_deprecated_names_and_device_index():
    for name in ("current_device_idx", "set_device_idx"):
        args = () if name == "current_device_idx" else (0,)
        def call(lib, name=name, args=args):
            return caught(lambda: raised(lambda: getattr(lib.accelerator, name)(*args)))
        ours = call(tm)
        assert ours == call(torch)
        assert ours[0][0] == "FutureWarning"
    with tm.accelerator.device_index(None):                 # None selects nothing: fine
        pass

    def enter(lib):
        with lib.accelerator.device_index(0):
            pass
    assert_same_error(lambda: enter(tm), lambda: enter(torch))


CUDA = ["is_available()", "device_count()", "is_initialized()", "manual_seed(3)",
        "manual_seed_all(3)", "manual_seed('x')", "seed()", "seed_all()", "empty_cache()",
        "memory_allocated()", "max_memory_allocated(0)", "memory_reserved()",
        "max_memory_reserved()", "is_bf16_supported()", "get_arch_list()",
        "get_rng_state_all()", "synchronize()", "current_device()", "get_device_name()",
        "get_device_name(0)", "get_device_properties(0)", "get_device_capability()",
        "initial_seed()", "get_rng_state()", "ipc_collect()", "mem_get_info()",
        "current_stream()", "set_device(0)", "reset_peak_memory_stats()"]


@pytest.mark.parametrize("call", CUDA)
def test_cuda_answers_as_torch(call):
    assert answer(lambda: eval("tm.cuda." + call)) == answer(lambda: eval("torch.cuda." + call))


def test_cuda_amp_is_deprecated_and_disabled_as_torch():
    theirs = caught(lambda: torch.cuda.amp.autocast())
    assert [c for c, _ in theirs] == ["FutureWarning", "UserWarning"]
    assert caught(lambda: tm.cuda.amp.autocast()) == theirs
    theirs = caught(lambda: torch.cuda.amp.GradScaler())
    assert [c for c, _ in theirs] == ["FutureWarning", "UserWarning"]
    assert caught(lambda: tm.cuda.amp.GradScaler()) == theirs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = tm.cuda.amp.GradScaler(), torch.cuda.amp.GradScaler()
    assert (ours.is_enabled(), ours.get_scale(), ours.state_dict()) == \
        (theirs.is_enabled(), theirs.get_scale(), theirs.state_dict())
    loss = tm.ones(1)
    assert ours.scale(loss) is loss


def test_backends_flags_match_torch():
    for lib in (tm, torch):
        cudnn = lib.backends.cudnn
        assert (cudnn.is_available(), cudnn.version()) == (False, None)
    names = ("enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit")
    assert [getattr(tm.backends.cudnn, n) for n in names] == \
        [getattr(torch.backends.cudnn, n) for n in names]
    assert (tm.backends.mps.is_available(), tm.backends.mps.is_built()) == \
        (torch.backends.mps.is_available(), torch.backends.mps.is_built())
    matmul = ("allow_tf32", "allow_fp16_reduced_precision_reduction",
              "allow_bf16_reduced_precision_reduction")
    assert [getattr(tm.backends.cuda.matmul, n) for n in matmul] == \
        [getattr(torch.backends.cuda.matmul, n) for n in matmul]
    assert tm.backends.cuda.is_built() == torch.backends.cuda.is_built()


def test_cudnn_flags_are_settable_and_restored():
    cudnn = tm.backends.cudnn
    cudnn.benchmark, cudnn.deterministic = True, True
    try:
        with cudnn.flags(enabled=False, deterministic=False):
            assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (False, False, False)
        assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, True, True)
        assert tm.backends.conv.benchmark is False         # the CPU autotuner is separate
    finally:
        cudnn.benchmark, cudnn.deterministic = False, False


# ----- process-wide settings

SETTINGS = ["set_num_threads(0)", "set_num_threads(-2)", "set_num_threads('2')",
            "set_num_threads(2.5)", "set_num_interop_threads(0)",
            "use_deterministic_algorithms('yes')", "set_default_dtype(int32)",
            "set_default_dtype('float64')", "set_default_dtype(float32)",
            "are_deterministic_algorithms_enabled()",
            "is_deterministic_algorithms_warn_only_enabled()", "get_float32_matmul_precision()"]


@pytest.mark.parametrize("call", SETTINGS)
def test_settings_answer_as_torch(call):
    names = ("int32", "float32", "float64")
    assert answer(lambda: eval("tm." + call, {"tm": tm, **{n: getattr(tm, n) for n in names}})) \
        == answer(lambda: eval("torch." + call, {"torch": torch,
                                                 **{n: getattr(torch, n) for n in names}}))


def test_set_num_threads_sets_the_kernels_pool():
    import numba
    before = tm.get_num_threads()
    try:
        tm.set_num_threads(1)
        assert tm.get_num_threads() == 1 and numba.get_num_threads() == 1
        tm.set_num_threads(64)                     # more than the pool has: reported, capped
        assert tm.get_num_threads() == 64
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    finally:
        tm.set_num_threads(before)
    tm.set_num_interop_threads(3)
    assert tm.get_num_interop_threads() == 3


def test_deterministic_and_matmul_precision_are_recorded():
    try:
        tm.use_deterministic_algorithms(True, warn_only=True)
        assert tm.are_deterministic_algorithms_enabled()
        assert tm.is_deterministic_algorithms_warn_only_enabled()
    finally:
        tm.use_deterministic_algorithms(False)
    assert not tm.are_deterministic_algorithms_enabled()
    try:
        tm.set_float32_matmul_precision("high")
        assert tm.get_float32_matmul_precision() == "high"
        ours = caught(lambda: tm.set_float32_matmul_precision("x"))
        theirs = caught(lambda: torch.set_float32_matmul_precision("x"))
        assert [(c, m.split(" (Triggered")[0]) for c, m in theirs] == ours
        assert tm.get_float32_matmul_precision() == "high"
    finally:
        tm.set_float32_matmul_precision("highest")


def test_set_default_dtype_reaches_every_factory_and_layer():
    made = {}
    for L in (torch, tm):
        L.set_default_dtype(L.float64)
        try:
            made[L] = [L.tensor([1.5]), L.zeros(2), L.randn(2), L.nn.Linear(2, 3).weight,
                       L.arange(0.0, 1.0), L.tensor(1).float(), L.tensor([1, 2]) / 2,
                       L.linspace(0, 1, 3), L.nn.Conv2d(1, 1, 3).weight, L.full((2,), 1.5),
                       L.nn.BatchNorm2d(2).running_mean, L.rand(2), L.eye(2)]
        finally:
            L.set_default_dtype(L.float32)
        assert L.get_default_dtype() == L.float32
    for ours, theirs in zip(made[tm], made[torch]):
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]


def test_compile_returns_the_model_itself():
    model = tm.nn.Linear(2, 3)
    assert tm.compile(model) is model
    assert tm.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model

    @tm.compile(backend="eager")
    def f(x):
        return x * 2
    assert f(tm.ones(2)).tolist() == [2.0, 2.0]


# ----- torch.jit

class Net(tm.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = tm.nn.Linear(2, 2)

    @tm.jit.unused
    def helper(self, x):
        return x + 1

    @tm.jit.ignore
    def other(self, x):
        return x * 2

    @tm.jit.export
    def exported(self, x):
        return x - 1

    def forward(self, x):
        if tm.jit.is_scripting() or tm.jit.is_tracing():
            raise AssertionError("never scripted or traced here")
        return self.other(self.helper(self.exported(self.fc(x))))


def _f(x):
    return x * 2


def test_jit_hands_back_what_it_got_with_torchs_warnings():
    net, x = Net(), tm.ones(1, 2)
    ws = caught(lambda: tm.jit.script(net))
    assert ws == caught(lambda: torch.jit.script(_f))         # word for word
    assert tm.jit.script(net) is net and tm.jit.script(_f) is _f
    traced = caught(lambda: tm.jit.trace(net, x))
    assert traced[:1] == caught(lambda: torch.jit.trace(_f, torch.ones(2)))[:1]
    assert tm.jit.trace(net, x) is net
    np.testing.assert_allclose(net(x).detach().numpy(), (net.fc(x) * 2).detach().numpy(),
                               rtol=1e-6)
    assert tm.jit.Final is typing.Final and tm.jit.annotate(int, 3) == 3
    assert not tm.jit.is_scripting() and not tm.jit.is_tracing()
    assert caught(lambda: tm.jit.ignore(drop=True)) == caught(lambda: torch.jit.ignore(drop=True))
    assert tm.jit.ignore(drop=True)(_f) is _f


def test_jit_fork_and_wait():
    ours = caught(lambda: tm.jit.wait(tm.jit.fork(_f, tm.ones(2))))
    theirs = caught(lambda: torch.jit.wait(torch.jit.fork(_f, torch.ones(2))))
    assert ours == theirs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tm.jit.wait(tm.jit.fork(_f, tm.ones(2))).tolist() == [2.0, 2.0]



def overloaded_layer(L):
    """torchvision's DenseNet layer declares forward's two signatures for TorchScript with
    jit._overload_method, then defines the one Python calls."""
    class Layer(L.nn.Module):
        @L.jit._overload_method
        def forward(self, input: list) -> L.Tensor:
            pass

        @L.jit._overload_method
        def forward(self, input: L.Tensor) -> L.Tensor:  # noqa: F811
            pass

        def forward(self, input):  # noqa: F811
            prev = [input] if isinstance(input, L.Tensor) else input
            return L.cat(prev, 1) * 2

    @L.jit._overload
    def double(x: int) -> int:
        pass

    def double(x):  # noqa: F811
        return x * 2
    return Layer(), double


def test_jit_overload_declarations_leave_the_last_definition():
    (ours, ours_f), (theirs, theirs_f) = overloaded_layer(tm), overloaded_layer(torch)
    x = np.arange(6.0).reshape(1, 2, 3)
    for arg in (x, [x, x]):
        a = ours(tm.tensor(x) if arg is x else [tm.tensor(v) for v in arg])
        b = theirs(torch.tensor(x) if arg is x else [torch.tensor(v) for v in arg])
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert ours_f(3) == theirs_f(3) == 6

# ----- torch.autocast, torch.amp.GradScaler

def test_autocast_on_cpu_changes_nothing_and_warns_as_torch():
    assert tm.autocast is tm.amp.autocast
    a = tm.ones(2, 3)
    with tm.autocast("cpu"):
        assert (a @ a.T).dtype == tm.float32          # PyTorch: bfloat16 (none here)

    @tm.autocast(device_type="cpu", dtype=tm.float16)
    def f(x):
        return x @ x.T
    assert f(a).dtype == tm.float32
    def build(lib, args):
        return caught(lambda: lib.autocast(args[0], *(getattr(lib, d) for d in args[1:])))
    for args in [("cuda",), ("cpu", "float32"), ("cpu", "float64"), ("mps",)]:
        assert build(tm, args) == build(torch, args), args
    assert_same_error(lambda: tm.autocast("gpu"), lambda: torch.autocast("gpu"))
    assert_same_error(lambda: tm.autocast(3), lambda: torch.autocast(3))


def scaled_training(lib):
    """A few GradScaler steps on cpu; step 2's gradient overflows and must be skipped."""
    rng = np.random.default_rng(0)
    w = (tm.nn.Parameter if lib is tm else torch.nn.Parameter)(
        lib.tensor(rng.standard_normal(3).astype(np.float32)))
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    out = []
    for step in range(6):
        opt.zero_grad()
        x = lib.tensor(rng.standard_normal(3).astype(np.float32))
        loss = (w * x).sum() ** 2 * (1e38 if step == 2 else 1.0)
        scaler.scale(loss).backward()
        if step == 4:
            scaler.unscale_(opt)                    # e.g. to clip, before step
        scaler.step(opt)
        scaler.update()
        out.append((scaler.get_scale(), w.detach().numpy().tolist(), scaler.state_dict()))
    return out


def test_grad_scaler_on_cpu_matches_torch():
    ours, theirs = scaled_training(tm), scaled_training(torch)
    for (s1, w1, d1), (s2, w2, d2) in zip(ours, theirs):
        assert (s1, d1) == (s2, d2)
        np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-7)
    assert ours[2][1] == ours[1][1]                 # the overflowing step was skipped


GRAD_SCALER_ERRORS = {
    "growth": lambda lib: lib.amp.GradScaler("cpu", growth_factor=1.0),
    "backoff": lambda lib: lib.amp.GradScaler("cpu", backoff_factor=1.0),
    "unscale-before-scale": lambda lib: lib.amp.GradScaler("cpu").unscale_(_sgd(lib)),
    "unscale-twice": lambda lib: _scaled(lib, "unscale_", "unscale_"),
    "unscale-after-step": lambda lib: _scaled(lib, "step", "unscale_"),
    "step-twice": lambda lib: _scaled(lib, "step", "step"),
    "load-empty": lambda lib: lib.amp.GradScaler("cpu").load_state_dict({}),
}


def _sgd(lib):
    p = (tm.nn.Parameter if lib is tm else torch.nn.Parameter)(lib.ones(2))
    return lib.optim.SGD([p], lr=0.1)


def _scaled(lib, *calls):
    opt, scaler = _sgd(lib), lib.amp.GradScaler("cpu")
    scaler.scale((opt.param_groups[0]["params"][0] * 2).sum()).backward()
    for c in calls:
        getattr(scaler, c)(opt)


@pytest.mark.parametrize("name", GRAD_SCALER_ERRORS)
def test_grad_scaler_errors_match_torch(name):
    assert_same_error(lambda: GRAD_SCALER_ERRORS[name](tm),
                      lambda: GRAD_SCALER_ERRORS[name](torch))


# ----- torch.utils.checkpoint

def segment_pair(dtype=np.float64):
    """The same conv -> relu -> linear segment in both libraries, and an input needing grad."""
    rng = np.random.default_rng(1)
    models = [lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3, padding=1), lib.nn.ReLU(),
                                lib.nn.Flatten(), lib.nn.Linear(48, 4)) for lib in (tm, torch)]
    for ps in zip(models[0].parameters(), models[1].parameters()):
        value = rng.standard_normal(tuple(ps[1].shape)).astype(dtype)
        ps[0].array = value.copy()
        with torch.no_grad():
            ps[1].data = torch.tensor(value)
    x = rng.standard_normal((2, 2, 4, 4)).astype(dtype)
    return models, [tm.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)]


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_gradients_equal_torchs(reentrant):
    models, xs = segment_pair()
    calls, names, results = [], [], []
    for lib, model, x in zip((tm, torch), models, xs):
        count = [0]

        def segment(inp, scale, model=model, count=count):
            count[0] += 1
            return model(inp) * scale
        y = lib.utils.checkpoint.checkpoint(segment, x, 3.0, use_reentrant=reentrant)
        names.append(type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name())
        (y ** 2).sum().backward()
        calls.append(count[0])
        results.append([y, x.grad] + [p.grad for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
    assert names[0] == names[1]             # CheckpointFunctionBackward, or the last op's
    if reentrant:
        assert calls == [2, 2]              # run again in backward: really recomputed
    else:
        assert calls[0] == 1                # run plainly, graph kept (PyTorch recomputes)


def test_checkpoint_recomputes_dropout_with_the_same_mask():
    """The backward run restores the random state, so its mask is the forward's."""
    def grads(use_checkpoint):
        tm.manual_seed(5)
        x = tm.ones(4, 8, requires_grad=True)
        drop = tm.nn.Dropout(0.5)
        tm.manual_seed(7)
        y = tm.utils.checkpoint.checkpoint(drop, x, use_reentrant=True) if use_checkpoint \
            else drop(x)
        after = tm.rand(3)                  # backward must leave the stream where forward did
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy(), after.numpy(), tm.rand(3).numpy()
    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(a, b)


CHECKPOINT_WARNINGS = {
    "no-use_reentrant": lambda lib, x: lib.utils.checkpoint.checkpoint(lambda t: t * 2, x),
    "no-input-needs-grad": lambda lib, x: lib.utils.checkpoint.checkpoint(
        lambda t: t * 2, x.detach(), use_reentrant=True),
    "sequential": lambda lib, x: lib.utils.checkpoint.checkpoint_sequential(
        [lambda t: t * 2, lambda t: t + 1], 2, x),
}


@pytest.mark.parametrize("name", CHECKPOINT_WARNINGS)
def test_checkpoint_warnings_match_torch(name):
    theirs = caught(lambda: CHECKPOINT_WARNINGS[name](torch, torch.ones(2, requires_grad=True)))
    assert theirs
    assert caught(lambda: CHECKPOINT_WARNINGS[name](tm, tm.ones(2, requires_grad=True))) == theirs


CHECKPOINT_ERRORS = {
    "kwargs-reentrant": lambda lib, x: lib.utils.checkpoint.checkpoint(
        lambda t, k=1: t * k, x, k=2, use_reentrant=True),
    "context_fn-reentrant": lambda lib, x: lib.utils.checkpoint.checkpoint(
        lambda t: t, x, use_reentrant=True, context_fn=lambda: (None, None)),
    "sequential-kwargs": lambda lib, x: lib.utils.checkpoint.checkpoint_sequential(
        [lambda t: t], 1, x, use_reentrant=True, extra=1),
}


@pytest.mark.parametrize("name", CHECKPOINT_ERRORS)
def test_checkpoint_errors_match_torch(name):
    assert_same_error(lambda: CHECKPOINT_ERRORS[name](tm, tm.ones(2, requires_grad=True)),
                      lambda: CHECKPOINT_ERRORS[name](torch, torch.ones(2, requires_grad=True)))


def test_checkpoint_kwargs_run_without_reentrant():
    x = tm.ones(2, requires_grad=True)
    y = tm.utils.checkpoint.checkpoint(lambda t, k=1: t * k, x, k=3, use_reentrant=False)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_equals_torch(segments):
    models, xs = segment_pair()
    out = []
    for lib, model, x in zip((tm, torch), models, xs):
        y = lib.utils.checkpoint.checkpoint_sequential(model, segments, x, use_reentrant=True)
        y.sum().backward()
        out.append([y, x.grad] + [p.grad for p in model.parameters()])
    for a, b in zip(*out):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)


# ----- torch.nn.parallel

def test_data_parallel_runs_the_module_as_torchs_cpu_build():
    models, xs = segment_pair(np.float32)
    ours, theirs = tm.nn.parallel.DataParallel(models[0]), \
        torch.nn.parallel.DataParallel(models[1], device_ids=[0])
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())     # module.0.weight, ...
    assert ours.device_ids == theirs.device_ids == [] and ours.module is models[0]
    np.testing.assert_allclose(ours(xs[0]).detach().numpy(), theirs(xs[1]).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    fresh = tm.nn.parallel.DataParallel(segment_pair(np.float32)[0][0])
    fresh.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(fresh(xs[0]).detach().numpy(), ours(xs[0]).detach().numpy())


def test_parallel_functional_and_distributed_fail_as_torch():
    models, xs = segment_pair(np.float32)
    assert_same_error(lambda: tm.nn.parallel.data_parallel(models[0], xs[0]),
                      lambda: torch.nn.parallel.data_parallel(models[1], xs[1]))
    assert_same_error(lambda: tm.nn.parallel.DistributedDataParallel(models[0]),
                      lambda: torch.nn.parallel.DistributedDataParallel(models[1]))


# ----- torch.multiprocessing

def _child(i, path):
    with open(f"{path}.{i}", "w") as f:
        f.write(str(i * 10))


def _fails(i):
    if i == 1:
        raise ValueError("child 1 failed")


def _exits(i):
    os._exit(3)


def test_multiprocessing_reexports_the_stdlib_and_torchs_names():
    import multiprocessing
    mp = tm.multiprocessing
    assert set(torch.multiprocessing.__all__) <= set(mp.__all__)
    assert mp.Process is multiprocessing.Process and mp.get_context is multiprocessing.get_context
    assert mp.Queue == multiprocessing.Queue and mp.set_start_method == \
        multiprocessing.set_start_method
    assert (mp.get_sharing_strategy(), mp.get_all_sharing_strategies()) == \
        (torch.multiprocessing.get_sharing_strategy(),
         torch.multiprocessing.get_all_sharing_strategies())
    assert_same_error(lambda: mp.set_sharing_strategy("shm"),
                      lambda: torch.multiprocessing.set_sharing_strategy("shm"))


def test_start_processes_runs_and_reports_failures_as_torch(tmp_path):
    mp = tm.multiprocessing
    mp.start_processes(_child, args=(str(tmp_path / "out"),), nprocs=2, start_method="fork")
    assert [(tmp_path / f"out.{i}").read_text() for i in range(2)] == ["0", "10"]
    e = raised(lambda: mp.start_processes(_fails, nprocs=2, start_method="fork"))
    assert isinstance(e, mp.ProcessRaisedException) and e.error_index == 1
    assert "-- Process 1 terminated with the following error:" in str(e)
    assert "ValueError: child 1 failed" in str(e)
    for lib in (tm, torch):
        e = raised(lambda mp=lib.multiprocessing: mp.start_processes(_exits, start_method="fork"))
        assert type(e).__name__ == "ProcessExitedException" and e.exit_code == 3
        assert str(e) == "process 0 terminated with exit code 3"
    context = mp.start_processes(_child, args=(str(tmp_path / "later"),), join=False,
                                 start_method="fork")
    while not context.join():
        pass
    assert (tmp_path / "later.0").read_text() == "0"


def test_spawn_starts_fresh_interpreters_and_warns_as_torch():
    ours = caught(lambda: tm.multiprocessing.spawn(time.sleep, nprocs=1, start_method="fork"))
    theirs = caught(lambda: torch.multiprocessing.spawn(time.sleep, nprocs=1,
                                                        start_method="fork"))
    assert ours == theirs and ours[0][0] == "FutureWarning"
