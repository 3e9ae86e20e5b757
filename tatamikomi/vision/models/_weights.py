"""torchvision's pretrained ImageNet weights for the builders: the Weights enums and the hook
that builds a model with them, `build(name, fn, weights, progress, kwargs)`.

The files are torchvision's own (download.pytorch.org/models/<file>.pth, torch's zip format),
read by our loader without torch, cached where torch.hub caches them ($TORCH_HOME/hub/
checkpoints) and checked against the SHA-256 prefix in their names. File names, crop/resize
sizes and parameter counts are torchvision's published facts (torchvision.models'
<Family>_Weights tables). Not carried over: the 1000 category names (meta["categories"]) and
VGG16's IMAGENET1K_FEATURES; meta["num_classes"] is 1000 for every entry here.
"""
import enum
import re

from ...hub import load_state_dict_from_url
from .. import transforms as T

BASE = "https://download.pytorch.org/models/"
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Weights:
    """One set of pretrained weights: its url, its preprocessing and facts about it."""

    def __init__(self, url, crop, resize=256, interpolation="bilinear", meta=None):
        self.url, self.crop, self.resize, self.interpolation = url, crop, resize, interpolation
        self.meta = {"num_classes": 1000, **(meta or {})}

    def __repr__(self):
        return f"Weights(url={self.url!r})"

    def transforms(self):
        """The evaluation preprocessing of a PIL image: resize, center crop, to tensor,
        normalize with ImageNet's mean and std, as torchvision's ImageClassification preset."""
        mode = getattr(T.InterpolationMode, self.interpolation.upper())
        return T.Compose([T.Resize(self.resize, interpolation=mode), T.CenterCrop(self.crop),
                          T.ToTensor(), T.Normalize(MEAN, STD)])


class WeightsEnum(enum.Enum):
    """torchvision's weights enum: members are Weights; .url, .meta, .get_state_dict()."""

    @classmethod
    def verify(cls, obj):
        """None, a member, or its name ("IMAGENET1K_V1" or "ResNet18_Weights.IMAGENET1K_V1")."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            obj = cls[obj.replace(cls.__name__ + ".", "")]
        if not isinstance(obj, cls):
            raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but "
                            f"received {obj.__class__.__name__}.")
        return obj

    @property
    def url(self):
        return self.value.url

    @property
    def meta(self):
        return self.value.meta

    def transforms(self):
        return self.value.transforms()

    def get_state_dict(self, progress=True, check_hash=True):
        """The weights' state_dict, downloaded into the hub cache on first use."""
        return load_state_dict_from_url(self.url, progress=progress, check_hash=check_hash)

    def __repr__(self):
        return f"{type(self).__name__}.{self.name}"


# builder: (enum name, its parameter count, default member, {member: (file, crop, resize,
# interpolation)}); V2 weights are torchvision's newer training recipe
_V1, _V2 = "IMAGENET1K_V1", "IMAGENET1K_V2"
TABLE = {
    "alexnet": ("AlexNet_Weights", 61_100_840, _V1, {_V1: ("alexnet-owt-7be5be79", 224)}),
    "googlenet": ("GoogLeNet_Weights", 6_624_904, _V1, {_V1: ("googlenet-1378be20", 224)}),
    "squeezenet1_0": ("SqueezeNet1_0_Weights", 1_248_424, _V1,
                      {_V1: ("squeezenet1_0-b66bff10", 224)}),
    "squeezenet1_1": ("SqueezeNet1_1_Weights", 1_235_496, _V1,
                      {_V1: ("squeezenet1_1-b8a52dc0", 224)}),
    "mobilenet_v2": ("MobileNet_V2_Weights", 3_504_872, _V2,
                     {_V1: ("mobilenet_v2-b0353104", 224),
                      _V2: ("mobilenet_v2-7ebf99e0", 224, 232)}),
    "mobilenet_v3_large": ("MobileNet_V3_Large_Weights", 5_483_032, _V2,
                           {_V1: ("mobilenet_v3_large-8738ca79", 224),
                            _V2: ("mobilenet_v3_large-5c1a4163", 224, 232)}),
    "mobilenet_v3_small": ("MobileNet_V3_Small_Weights", 2_542_856, _V1,
                           {_V1: ("mobilenet_v3_small-047dcff4", 224)}),
    "shufflenet_v2_x0_5": ("ShuffleNet_V2_X0_5_Weights", 1_366_792, _V1,
                           {_V1: ("shufflenetv2_x0.5-f707e7126e", 224)}),
    "shufflenet_v2_x1_0": ("ShuffleNet_V2_X1_0_Weights", 2_278_604, _V1,
                           {_V1: ("shufflenetv2_x1-5666bf0f80", 224)}),
    "shufflenet_v2_x1_5": ("ShuffleNet_V2_X1_5_Weights", 3_503_624, _V1,
                           {_V1: ("shufflenetv2_x1_5-3c479a10", 224, 232)}),
    "shufflenet_v2_x2_0": ("ShuffleNet_V2_X2_0_Weights", 7_393_996, _V1,
                           {_V1: ("shufflenetv2_x2_0-8be3c8ee", 224, 232)}),
    "resnet18": ("ResNet18_Weights", 11_689_512, _V1, {_V1: ("resnet18-f37072fd", 224)}),
    "resnet34": ("ResNet34_Weights", 21_797_672, _V1, {_V1: ("resnet34-b627a593", 224)}),
}
for _name, _v1, _v2, _n in (("resnet50", "0676ba61", "11ad3fa6", 25_557_032),
                            ("resnet101", "63fe2227", "cd907fc2", 44_549_160),
                            ("resnet152", "394f9c45", "f82ba261", 60_192_808),
                            ("resnext50_32x4d", "7cdf4587", "1a0047aa", 25_028_904),
                            ("resnext101_32x8d", "8ba56ff5", "110c445d", 88_791_336),
                            ("wide_resnet50_2", "95faca4d", "9ba9bcbe", 68_883_240),
                            ("wide_resnet101_2", "32ee1156", "d733dc28", 126_886_696)):
    _enum = {"resnext50_32x4d": "ResNeXt50_32X4D_Weights",
             "resnext101_32x8d": "ResNeXt101_32X8D_Weights",
             "wide_resnet50_2": "Wide_ResNet50_2_Weights",
             "wide_resnet101_2": "Wide_ResNet101_2_Weights"}.get(_name,
                                                                 f"ResNet{_name[6:]}_Weights")
    TABLE[_name] = (_enum, _n, _V2, {_V1: (f"{_name}-{_v1}", 224),
                                     _V2: (f"{_name}-{_v2}", 224, 232)})
TABLE["resnext101_64x4d"] = ("ResNeXt101_64X4D_Weights", 83_455_272, _V1,
                             {_V1: ("resnext101_64x4d-173b62eb", 224, 232)})
for _name, _hash, _n in (("densenet121", "a639ec97", 7_978_856),
                         ("densenet161", "8d451a50", 28_681_000),
                         ("densenet169", "b2777c0a", 14_149_480),
                         ("densenet201", "c1103571", 20_013_928)):
    TABLE[_name] = (f"DenseNet{_name[8:]}_Weights", _n, _V1, {_V1: (f"{_name}-{_hash}", 224)})
for _name, _hash, _n in (("vgg11", "8a719046", 132_863_336),
                         ("vgg11_bn", "6002323d", 132_868_840),
                         ("vgg13", "19584684", 133_047_848),
                         ("vgg13_bn", "abd245e5", 133_053_736),
                         ("vgg16", "397923af", 138_357_544),
                         ("vgg16_bn", "6c64b313", 138_365_992),
                         ("vgg19", "dcbb9e9d", 143_667_240),
                         ("vgg19_bn", "c79401a0", 143_678_248)):
    TABLE[_name] = (f"{_name.upper()}_Weights", _n, _V1, {_V1: (f"{_name}-{_hash}", 224)})
for _b, _file, _crop, _resize, _n in (
        (0, "b0_rwightman-7f5810bc", 224, 256, 5_288_548),
        (1, "b1_rwightman-bac287d4", 240, 256, 7_794_184),
        (2, "b2_rwightman-c35c1473", 288, 288, 9_109_994),
        (3, "b3_rwightman-b3899882", 300, 320, 12_233_232),
        (4, "b4_rwightman-23ab8bcd", 380, 384, 19_341_616),
        (5, "b5_lukemelas-1a07897c", 456, 456, 30_389_784),
        (6, "b6_lukemelas-24a108a5", 528, 528, 43_040_704),
        (7, "b7_lukemelas-c5b4e57e", 600, 600, 66_347_960)):
    _members = {_V1: (f"efficientnet_{_file}", _crop, _resize, "bicubic")}
    if _b == 1:
        _members[_V2] = ("efficientnet_b1-c27df63c", 240, 255)
    TABLE[f"efficientnet_b{_b}"] = (f"EfficientNet_B{_b}_Weights", _n,
                                    _V2 if _b == 1 else _V1, _members)


def _make_enum(name, count, default, members):
    values = {}
    for member, (file, crop, *rest) in members.items():
        values[member] = Weights(f"{BASE}{file}.pth", crop, *rest, meta={"num_params": count})
    values["DEFAULT"] = values[default]                   # an alias, as torchvision's DEFAULT
    return WeightsEnum(name, list(values.items()), module=__name__)


ENUMS = {builder: _make_enum(*row) for builder, row in TABLE.items()}
globals().update({e.__name__: e for e in ENUMS.values()})
__all__ = ["Weights", "WeightsEnum", "build", "get_model_weights", "get_weight",
           *sorted(e.__name__ for e in ENUMS.values())]


def get_model_weights(name):
    """The weights enum of a builder (by name or the builder itself)."""
    key = name if isinstance(name, str) else name.__name__
    try:
        return ENUMS[key.lower()]
    except KeyError:
        raise ValueError(f"Unknown model {key}") from None


def get_weight(name):
    """A member from its full name: get_weight("ResNet50_Weights.IMAGENET1K_V2")."""
    enum_name, _, member = name.partition(".")
    for e in ENUMS.values():
        if e.__name__ == enum_name:
            return e[member]
    raise ValueError(f"Unknown weight enum name '{enum_name}'")


# torchvision's DenseNet files predate its module names: norm.1 is now norm1, and so on
_DENSE_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|"
                        r"running_mean|running_var))$")


def _set(kwargs, key, value):
    """torchvision's _ovewrite_named_param: the weights fix key; a different value is an error."""
    if key in kwargs and kwargs[key] != value:
        raise ValueError(f"The parameter '{key}' expected value {value} but got {kwargs[key]} "
                         "instead.")
    kwargs[key] = value


def build(name, fn, weights, progress, kwargs):
    """fn(**kwargs), the builder `name`'s model, with `weights` loaded (None: fn's own init).

    What each family's torchvision builder does around the load is done here: num_classes from
    the weights, GoogLeNet's aux heads and input transform, DenseNet's old key names.
    """
    weights = ENUMS[name].verify(weights)
    if weights is None:
        return fn(**kwargs)
    _set(kwargs, "num_classes", weights.meta["num_classes"])
    aux = kwargs.get("aux_logits", False)
    if name == "googlenet":
        _set(kwargs, "transform_input", True)
        _set(kwargs, "aux_logits", True)
        _set(kwargs, "init_weights", False)
    model = fn(**kwargs)
    state = weights.get_state_dict(progress=progress, check_hash=True)
    if name.startswith("densenet"):
        state = {(_DENSE_KEY.sub(r"\1\2", k)): v for k, v in state.items()}
    model.load_state_dict(state)
    if name == "googlenet" and not aux:
        model.aux_logits, model.aux1, model.aux2 = False, None, None
    return model


def legacy(name):
    """The weights torchvision's pretrained=True stands for (IMAGENET1K_V1), and its warning."""
    e = ENUMS[name]
    return e.IMAGENET1K_V1, (
        "Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 "
        "and may be removed in the future. The current behavior is equivalent to passing "
        f"`weights={e.__name__}.IMAGENET1K_V1`. You can also use `weights={e.__name__}.DEFAULT` "
        "to get the most up-to-date weights.")
