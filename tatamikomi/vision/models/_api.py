"""The model registry (list_models, get_model) and the builders' shared handling of weights=.

weights= takes a member of the builder's weights enum, its name or None (and the legacy
pretrained=True/False); _weights.build downloads torchvision's file through the hub cache.
"""
import fnmatch
import functools
import warnings

from ... import nn
from . import _weights

BUILTIN_MODELS = {}


def register_model(name=None):
    """Decorator: record a builder under name (default: its function name)."""
    def wrapper(fn):
        key = fn.__name__ if name is None else name
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn
    return wrapper


def _as_list(filters):
    return [filters] if isinstance(filters, str) else list(filters)


def list_models(module=None, include=None, exclude=None):
    """Sorted names of the registered builders, filtered by module and fnmatch patterns."""
    names = {k for k, fn in BUILTIN_MODELS.items()
             if module is None or fn.__module__.rsplit(".", 1)[0] == module.__name__}
    if include:
        names = set().union(*(fnmatch.filter(names, f) for f in _as_list(include)))
    for pattern in _as_list(exclude) if exclude else []:
        names -= set(fnmatch.filter(names, pattern))
    return sorted(names)


def get_model_builder(name):
    """The builder registered under name (case-insensitive)."""
    try:
        return BUILTIN_MODELS[name.lower()]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name, **config):
    """get_model_builder(name)(**config): a freshly built model."""
    return get_model_builder(name)(**config)


def builder(fn):
    """Wrap a model builder: torchvision's legacy pretrained= and positional arguments, and
    weights= (an enum member, its name, or None) loaded through _weights.build."""
    name = fn.__name__

    @functools.wraps(fn)
    def build(*args, **kwargs):
        if args:                               # torchvision < 0.13: fn(pretrained, progress)
            if len(args) > 2:
                raise TypeError(f"{name}() takes 0 positional arguments but {len(args)} were "
                                "given")
            keys = ("weights", "progress")[:len(args)]
            warnings.warn(f"Using {', '.join(repr(k) for k in keys)} as positional "
                          "parameter(s) is deprecated since 0.13 and may be removed in the "
                          "future. Please use keyword parameter(s) instead.", stacklevel=2)
            kwargs.update(zip(keys, args))
        weights = kwargs.get("weights")
        legacy = weights is not None and not isinstance(weights, _weights.WeightsEnum) and (
            not isinstance(weights, str) or weights == "legacy")
        if legacy or "pretrained" in kwargs:   # weights=True/False stands for pretrained
            if legacy:
                kwargs["pretrained"] = kwargs.pop("weights")
            else:
                warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be "
                              "removed in the future, please use 'weights' instead.", stacklevel=2)
            if kwargs.pop("pretrained"):
                kwargs["weights"], message = _weights.legacy(name)
                warnings.warn(message, stacklevel=2)
            else:
                warnings.warn("Arguments other than a weight enum or `None` for 'weights' are "
                              "deprecated since 0.13 and may be removed in the future. The "
                              "current behavior is equivalent to passing `weights=None`.",
                              stacklevel=2)
                kwargs["weights"] = None
        return _weights.build(name, fn, kwargs.pop("weights", None), kwargs.pop("progress", True),
                              kwargs)

    return register_model()(build)


def _ovewrite_named_param(kwargs, param, new_value):
    """Fix a builder's parameter (e.g. resnext's groups), refusing a conflicting value."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got "
                             f"{kwargs[param]} instead.")
    else:
        kwargs[param] = new_value


def _make_divisible(v, divisor, min_value=None):
    """v rounded to the nearest multiple of divisor, never below min_value nor 90 % of v.

    The channel rule of the mobile families (MobileNetV2, V3, EfficientNet).
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _init_mobile(model, linear):
    """torchvision's init of the mobile families, in modules() order: convs Kaiming normal
    (fan_out) with zero bias, batch and group norms ones and zeros, each Linear by linear(m)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear(m)


def _linear_normal(m):
    """MobileNet's Linear init: normal with std 0.01, bias zero."""
    nn.init.normal_(m.weight, 0, 0.01)
    nn.init.zeros_(m.bias)
