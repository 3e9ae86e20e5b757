"""vision.models: every builder's state_dict keys, shapes, order and parameter count; each
family's forward and backward against PyTorch (float64 and float32, train and eval); the
initialization schemes; the registry and the builders' errors.

The PyTorch side is tests/models_ref.py: functional forwards written from the architectures'
tables (torchvision itself cannot be installed beside torch 2.13 here).
"""
import contextlib
import warnings

import numpy as np
import pytest
import torch
from models_ref import BUILDERS, Ref, googlenet_key_order

import tatamikomi as tm
import tatamikomi.nn as nn
from tatamikomi.vision import models
from tatamikomi.vision.models.resnet import BasicBlock, Bottleneck

# num_params of each builder's ImageNet weights, as torchvision documents them: the table
# under "<Name>_Weights.IMAGENET1K_V1" on
# https://pytorch.org/vision/stable/models/generated/torchvision.models.<builder>.html
# (looked up there one by one; GoogLeNet's count is the pretrained model's, without the aux
# heads that its builder drops when it loads those weights).
DOCUMENTED_PARAMS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848, "vgg13_bn": 133_053_736, "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992, "vgg19": 143_667_240, "vgg19_bn": 143_678_248,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336, "resnext101_64x4d": 83_455_272,
    "wide_resnet50_2": 68_883_240, "wide_resnet101_2": 126_886_696,
    "squeezenet1_0": 1_248_424, "squeezenet1_1": 1_235_496, "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032, "mobilenet_v3_small": 2_542_856,
    "shufflenet_v2_x0_5": 1_366_792, "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624, "shufflenet_v2_x2_0": 7_393_996,
    "densenet121": 7_978_856, "densenet161": 28_681_000, "densenet169": 14_149_480,
    "densenet201": 20_013_928, "googlenet": 6_624_904, "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184, "efficientnet_b2": 9_109_994, "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616, "efficientnet_b5": 30_389_784, "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
}


def _zero(module):
    with tm.no_grad():
        for p in (module.weight, module.bias):
            if p is not None:
                p.zero_()


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """PyTorch's ops here are small: its second thread only spin-waits when the 2 cores are
    shared with other work (the reference forwards ran 20x slower that way)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@contextlib.contextmanager
def no_init():
    """Build without drawing initial values: a count or a key list needs shapes only, and the
    draws cost ~40 ns a parameter (2 billion over all builders). Conv and linear parameters
    hold zeros; constants (BatchNorm's ones and zeros) are set as usual."""
    saved = [(cls, cls.reset_parameters) for cls in (nn.Conv2d, nn.Linear)]
    names = ("kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "trunc_normal_")
    inits = {n: getattr(nn.init, n) for n in names if hasattr(nn.init, n)}
    try:
        for cls, _ in saved:
            cls.reset_parameters = _zero
        for n in names:
            setattr(nn.init, n, lambda *args, **kwargs: None)
        yield
    finally:
        for cls, method in saved:
            cls.reset_parameters = method
        for n in names:
            if n in inits:
                setattr(nn.init, n, inits[n])
            else:
                delattr(nn.init, n)


def quiet_build(name, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)        # googlenet's init_weights notice
        return models.get_model(name, **kwargs)


def meta_reference(name, size=224, training=True, **ref_kwargs):
    """The reference forward on meta tensors: (key, shape) in registration order, and MACs."""
    forward, kwargs = BUILDERS[name]
    ref, recorded = Ref({}, training), []

    def take(key, shape):                 # any name, in the shape the architecture asks for
        recorded.append((key, tuple(shape)))
        dtype = torch.long if key.endswith("num_batches_tracked") else torch.float32
        return torch.empty(shape, device="meta", dtype=dtype)

    ref.take = take
    forward(ref, torch.empty(2, 3, size, size, device="meta"), **{**kwargs, **ref_kwargs})
    return (googlenet_key_order(recorded) if name == "googlenet" else recorded), ref.macs


@pytest.mark.parametrize("name", sorted(DOCUMENTED_PARAMS))
def test_builder_keys_shapes_order_and_count(name):
    with no_init():
        model = quiet_build(name)
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    want, _ = meta_reference(name)
    assert ours == want
    count = sum(p.numel() for k, p in model.named_parameters() if not k.startswith("aux"))
    assert count == DOCUMENTED_PARAMS[name]


def test_registry_lists_every_builder():
    assert models.list_models() == sorted(DOCUMENTED_PARAMS)
    assert models.list_models(module=models) == sorted(DOCUMENTED_PARAMS)
    assert models.list_models(include="resnet*", exclude=["*101", "*152"]) == \
        ["resnet18", "resnet34", "resnet50"]
    assert models.list_models(include=["vgg1?", "alex*"]) == ["alexnet", "vgg11", "vgg13",
                                                              "vgg16", "vgg19"]
    assert models.get_model_builder("ResNet18") is models.resnet18
    model = models.get_model("shufflenet_v2_x0_5", num_classes=3)
    assert model.fc.out_features == 3
    with pytest.raises(ValueError, match="Unknown model resnet0"):
        models.get_model("resnet0")


# ----- forward and backward against the reference, every family

def to_torch(model, dtype):
    """Our state as torch tensors: parameters are leaves that collect gradients (they may
    share our memory: neither library writes them here); buffers are copies, which
    BatchNorm updates in place."""
    params = {k for k, _ in model.named_parameters()}
    out = {}
    for k, v in model.state_dict().items():
        t = torch.from_numpy(value(v))
        if k in params:
            out[k] = (t if t.dtype == dtype else t.to(dtype)).requires_grad_()
        else:
            out[k] = t.clone() if t.dtype in (dtype, torch.int64) else t.to(dtype)
    return out


def assert_close(ours, theirs, tol, what):
    assert ours.shape == theirs.shape, what
    scale = max(float(np.abs(theirs).max()), 1e-30)
    err = float(np.abs(ours - theirs).max()) / scale
    assert err <= tol, f"{what}: max error {err:.3g} of the largest value {scale:.3g}"


def grad_scale(theirs, key):
    """The norm a gradient (or buffer) is measured against: its own, or a sibling's.

    A BatchNorm shift or scale that a later training-mode BatchNorm cancels (a bias reaching
    it through linear layers only; DenseNet's first BN scale, passed through ReLU, which is
    positively homogeneous, and then normalized) has a true gradient of 0, so both libraries
    compute rounding noise there: it is measured against the largest gradient of the same
    module, made of the same incoming gradients. A running mean of such a channel is
    likewise 0 up to rounding: it is measured against its running variance.
    """
    module = key.rsplit(".", 1)[0] + "."
    related = [k for k in theirs if k.startswith(module) and "." not in k[len(module):]
               and not k.endswith("num_batches_tracked")]
    if key.endswith("running_mean") or key.endswith("running_var"):
        related = [k for k in related if k.startswith(module + "running_")]
    elif not key.endswith("num_batches_tracked"):
        related = [k for k in related if not k[len(module):].startswith("running_")]
    return max([float(np.linalg.norm(theirs[k])) for k in related + [key]] + [1e-300])


def assert_grad_close(ours, theirs, key, tol, name):
    """Norm-wise relative error, against grad_scale."""
    want = theirs[key]
    assert ours.shape == want.shape, key
    scale = grad_scale(theirs, key)
    err = float(np.linalg.norm(ours - want)) / scale
    assert err <= tol, f"{name} {key}: relative error {err:.3g} (norm {scale:.3g})"


def outputs(y):
    return list(y) if isinstance(y, tuple) else [y]


def compare(model, name, size, training, dtype, ref_kwargs, seed=0):
    """One forward and backward in both libraries from the same state and the same seed.

    float64: outputs, each gradient and the BatchNorm statistics to 1e-10. float32: outputs
    and statistics to 1e-4; gradients all together (norm-wise), since a layer's gradient can
    be tiny against the others' and then carry float32 rounding of the whole (PyTorch's own
    float32 conv1 gradient of GoogLeNet in eval mode is 0.55 % off its float64 one): to
    1e-4 in eval mode. In train mode a float32 ReLU input within rounding of a kink (0, or 6
    for ReLU6) can go either way in either library and route a whole gradient element
    differently, and BatchNorm over few values amplifies rounding (PyTorch's float32
    gradients are up to 4e-3 off its float64 ones on these nets): there the float32 bound
    is 3e-2, and float64 is the exact oracle.
    """
    forward, kwargs = BUILDERS[name]
    tol = 1e-10 if dtype is torch.float64 else 1e-4
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(size)
    tensors = to_torch(model, dtype)
    model.train(training)
    model.zero_grad()
    tm.manual_seed(seed)
    ours = outputs(model(tm.tensor(x, dtype=tm.float64 if dtype is torch.float64 else
                                   tm.float32)))
    torch.manual_seed(seed)
    theirs = outputs(forward(Ref(tensors, training), torch.tensor(x, dtype=dtype),
                             **{**kwargs, **ref_kwargs}))
    assert len(ours) == len(theirs)
    grads = [rng.standard_normal(tuple(t.shape)) for t in theirs]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(value(a), b.detach().numpy(), tol, f"{name} output {i}")
    sum((a * tm.tensor(g, dtype=a.dtype)).sum() for a, g in zip(ours, grads)).backward()
    sum((b * torch.tensor(g, dtype=dtype)).sum() for b, g in zip(theirs, grads)).backward()
    theirs_grads = {k: t.grad.numpy() for k, t in tensors.items() if t.grad is not None}
    ours_grads = {k: value(p.grad) for k, p in model.named_parameters() if p.grad is not None}
    assert ours_grads.keys() == theirs_grads.keys()
    if dtype is torch.float32:
        diff = sum(float(np.linalg.norm(ours_grads[k] - g)) ** 2
                   for k, g in theirs_grads.items())
        norm = sum(float(np.linalg.norm(g)) ** 2 for g in theirs_grads.values())
        err = (diff / norm) ** 0.5
        assert err <= (3e-2 if training else tol), \
            f"{name}: float32 gradients differ by {err:.3g} in all"
    else:
        for k in ours_grads:
            assert_grad_close(ours_grads[k], theirs_grads, k, tol, name)
    buffers = {k: tensors[k].detach().numpy() for k, _ in model.named_buffers()}
    for k, b in model.named_buffers():       # BatchNorm's running statistics after the step
        assert_grad_close(value(b), buffers, k, tol, name)


# family: (build ours, reference builder name, its extra arguments, input size); 64 px where
# BatchNorm would otherwise normalize 1x1 maps of two samples (badly conditioned)
FAMILIES = {
    "alexnet": (lambda: models.alexnet(num_classes=10), "alexnet", {"num_classes": 10},
                (2, 3, 63, 63)),
    "vgg": (lambda: models.vgg11_bn(num_classes=10), "vgg11_bn", {"num_classes": 10},
            (2, 3, 64, 64)),
    "resnet": (lambda: models.resnet18(num_classes=10), "resnet18", {"num_classes": 10},
               (2, 3, 64, 64)),
    "resnext": (lambda: models.ResNet(Bottleneck, [1, 2, 1, 1], num_classes=10, groups=4,
                                      width_per_group=16),
                "resnet50", {"layers": [1, 2, 1, 1], "groups": 4, "width": 16,
                             "num_classes": 10}, (2, 3, 64, 64)),
    "squeezenet1_0": (lambda: models.squeezenet1_0(num_classes=10), "squeezenet1_0",
                      {"num_classes": 10}, (2, 3, 32, 32)),
    "squeezenet1_1": (lambda: models.squeezenet1_1(num_classes=10), "squeezenet1_1",
                      {"num_classes": 10}, (2, 3, 32, 32)),
    "mobilenet_v2": (lambda: models.mobilenet_v2(num_classes=10), "mobilenet_v2",
                     {"num_classes": 10}, (2, 3, 64, 64)),
    "mobilenet_v3": (lambda: models.mobilenet_v3_small(num_classes=10), "mobilenet_v3_small",
                     {"num_classes": 10}, (2, 3, 64, 64)),
    "shufflenet_v2": (lambda: models.shufflenet_v2_x0_5(num_classes=10), "shufflenet_v2_x0_5",
                      {"num_classes": 10}, (2, 3, 64, 64)),
    "densenet": (lambda: models.DenseNet(8, (2, 3, 2, 2), 16, bn_size=2, drop_rate=0.2,
                                         num_classes=10, memory_efficient=True),
                 "densenet121", {"growth": 8, "blocks": (2, 3, 2, 2), "init": 16, "bn_size": 2,
                                 "drop_rate": 0.2, "num_classes": 10}, (2, 3, 64, 64)),
    "googlenet": (lambda: models.googlenet(num_classes=10, transform_input=True,
                                           init_weights=True),
                  "googlenet", {"num_classes": 10, "transform_input": True}, (2, 3, 64, 64)),
    "efficientnet": (lambda: models.efficientnet_b0(num_classes=10), "efficientnet_b0",
                     {"num_classes": 10}, (2, 3, 64, 64)),
}


def value(t):
    return t.detach().numpy()


def kaiming_std(weight, mode):
    """He et al.'s std for ReLU: sqrt(2 / fan), fan = C*KH*KW (fan_in) or O*KH*KW (fan_out)."""
    O, C = weight.shape[:2]
    k = int(np.prod(weight.shape[2:]))
    return np.sqrt(2.0 / (C * k if mode == "fan_in" else O * k))


def pytorch_default_std(weight):
    """kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1/sqrt(3 fan_in)."""
    return 1.0 / np.sqrt(3.0 * np.prod(weight.shape[1:]))


def expected_std(family, name, module, weight):
    """Each family's initialization as its paper/torchvision define it (std of the weight)."""
    conv = isinstance(module, nn.Conv2d)
    if family in ("alexnet", "shufflenet_v2"):
        return pytorch_default_std(weight)
    if family == "googlenet":
        return 0.01                                       # truncated at +-2: never reached
    if conv and family in ("vgg", "resnet", "resnext", "mobilenet_v2", "mobilenet_v3",
                           "efficientnet"):
        return kaiming_std(weight, "fan_out")
    if conv and family == "densenet":
        return kaiming_std(weight, "fan_in")
    if conv and family.startswith("squeezenet"):          # final conv: N(0, 0.01)
        return 0.01 if name == "classifier.1" else kaiming_std(weight, "fan_in")
    if family in ("vgg", "mobilenet_v2", "mobilenet_v3"):
        return 0.01
    if family == "efficientnet":                          # U(-1/sqrt(out), 1/sqrt(out))
        return 1.0 / np.sqrt(3.0 * weight.shape[0])
    return pytorch_default_std(weight)                    # resnet, densenet linears


def check_init(family, model):
    for name, m in model.named_modules():
        w = getattr(m, "weight", None)
        if isinstance(m, (nn.Conv2d, nn.Linear)) and w.numel() >= 3000:
            std = float(w.detach().numpy().std())
            want = expected_std(family, name, m, w)
            assert abs(std / want - 1) < 0.1, f"{family} {name}: std {std:.4g}, want {want:.4g}"
        if isinstance(m, nn.BatchNorm2d):
            assert (value(m.weight) == 1).all() and (value(m.bias) == 0).all(), name
        zero_bias = family not in ("alexnet", "shufflenet_v2", "resnet", "resnext", "googlenet")
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None and zero_bias:
            assert (value(m.bias) == 0).all(), f"{family} {name}: bias not zero"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_matches_pytorch(family):
    build, name, ref_kwargs, size = FAMILIES[family]
    tm.manual_seed(0)
    model = build()
    check_init(family, model)
    for dtype in (torch.float32, torch.float64):
        if dtype is torch.float64:
            model.double()
        for training in (True, False):
            compare(model, name, size, training, dtype, ref_kwargs)


def test_googlenet_outputs_name_aux_heads_as_torchvision():
    # torchvision's forward unpacks _forward's (x, aux2, aux1) as (x, aux1, aux2), so the
    # GoogLeNetOutputs field aux_logits2 holds the head on 4a (aux1) and aux_logits1 the one
    # on 4d; compare() already matched the values in that order, this pins the names
    tm.manual_seed(0)
    model = quiet_build("googlenet", num_classes=4)
    x = tm.randn(2, 3, 64, 64)
    tm.manual_seed(1)
    out = model(x)
    assert type(out).__name__ == "GoogLeNetOutputs"
    assert out._fields == ("logits", "aux_logits2", "aux_logits1")
    model.aux2 = nn.Identity()     # the 4d head gone: aux_logits2 (the 4a head, drawn first) stays
    tm.manual_seed(1)
    again = model(x)
    assert np.array_equal(value(again.aux_logits2), value(out.aux_logits2))
    assert tuple(again.aux_logits1.shape) == (2, 528, 4, 4)
    model.eval()
    assert isinstance(model(x), tm.Tensor)
    with no_init():
        plain = quiet_build("googlenet", aux_logits=False)
    assert plain.aux1 is None and "aux1.conv.conv.weight" not in plain.state_dict()
    assert sum(p.numel() for p in plain.parameters()) == DOCUMENTED_PARAMS["googlenet"]


def test_googlenet_warns_as_torchvision_when_init_weights_is_not_given():
    with pytest.warns(FutureWarning, match="init_weights=True"):
        models.googlenet(num_classes=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.googlenet(num_classes=2, init_weights=False)


def test_zero_init_residual_starts_each_block_as_identity():
    tm.manual_seed(0)
    for builder, last in ((models.resnet18, "bn2"), (models.resnet50, "bn3")):
        model = builder(zero_init_residual=True, num_classes=2)
        for name, m in model.named_modules():
            if isinstance(m, (BasicBlock, Bottleneck)):
                assert (value(getattr(m, last).weight) == 0).all(), name
        assert (value(model.bn1.weight) == 1).all()


def test_seeded_builds_repeat():
    tm.manual_seed(3)
    a = models.mobilenet_v3_small(num_classes=5).state_dict()
    tm.manual_seed(3)
    b = models.mobilenet_v3_small(num_classes=5).state_dict()
    assert all(np.array_equal(value(a[k]), value(b[k])) for k in a)


# ----- the builders' arguments and errors

def test_weights_load_through_the_hub_and_pretrained_true_means_imagenet1k_v1(monkeypatch):
    from tatamikomi.vision.models import _weights
    with no_init():
        saved = models.resnet18().state_dict()
    asked = []

    def fetch(url, progress=True, check_hash=True):       # the download itself: test_pretrained
        asked.append(url)
        return dict(saved)
    monkeypatch.setattr(_weights, "load_state_dict_from_url", fetch)
    for weights in ("DEFAULT", models.ResNet18_Weights.IMAGENET1K_V1):
        model = models.resnet18(weights=weights)
        np.testing.assert_array_equal(model.fc.weight.detach().numpy(),
                                      saved["fc.weight"].numpy())
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        models.resnet18(pretrained=True)
    assert asked == [models.ResNet18_Weights.IMAGENET1K_V1.url] * 3
    with pytest.raises(KeyError):                  # torchvision's enum lookup, as there
        models.resnet18(weights="IMAGENET1K_V9")


def test_legacy_pretrained_false_and_positional_arguments():
    with pytest.warns(UserWarning) as record:
        with no_init():
            model = models.resnet18(pretrained=False, progress=False, num_classes=3)
    assert model.fc.out_features == 3
    assert [str(w.message).split(" ")[:3] for w in record] == \
        [["The", "parameter", "'pretrained'"], ["Arguments", "other", "than"]]
    with pytest.warns(UserWarning, match="as positional parameter"):
        with no_init():
            models.squeezenet1_1(False)


def test_fixed_parameters_and_bad_arguments():
    with pytest.raises(ValueError, match="'groups' expected value 32 but got 8"):
        models.resnext50_32x4d(groups=8)
    with no_init():
        models.resnext50_32x4d(groups=32)                 # the fixed value itself is fine
    with pytest.raises(ValueError, match="'width_per_group' expected value 128 but got 64"):
        models.wide_resnet50_2(width_per_group=64)
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        models.resnet18(groups=2)
    with pytest.raises(NotImplementedError, match="Dilation > 1"):
        models.resnet18(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(ValueError, match="3-element tuple, got"):
        models.resnet50(replace_stride_with_dilation=[True])
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version 2_0"):
        models.SqueezeNet("2_0")
    with pytest.raises(ValueError, match="list of 3 positive ints"):
        models.ShuffleNetV2([4, 8], [24, 48, 96, 192, 1024])
    with pytest.raises(ValueError, match="non-empty or a 4-element list"):
        models.MobileNetV2(inverted_residual_setting=[[1, 16, 1]])
    with pytest.raises(ValueError, match="should not be empty"):
        models.MobileNetV3([], 1280)
    with pytest.raises(TypeError, match="List\\[MBConvConfig\\]"):
        models.EfficientNet([(1, 3, 1, 32, 16, 1)], 0.2)
    with pytest.raises(ValueError, match="blocks length should be 3 instead of 2"):
        models.GoogLeNet(blocks=[1, 2], init_weights=False)


def test_dilated_resnet_keeps_the_size_as_segmentation_backbones_use_it():
    with no_init():
        model = models.resnet50(replace_stride_with_dilation=[False, True, True])
    for p in model.parameters():
        p.requires_grad_(False)
    with tm.no_grad():
        feats = model.layer4(model.layer3(model.layer2(model.layer1(
            model.maxpool(model.conv1(tm.zeros(1, 3, 64, 64)))))))
    assert tuple(feats.shape) == (1, 2048, 8, 8)        # stride 8, not 32
    assert model.layer4[1].conv2.dilation == (4, 4) and model.layer4[0].conv2.dilation == (2, 2)
