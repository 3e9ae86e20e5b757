"""The PyTorch side of the model tests: each torchvision classification family as a functional
forward over a dict of torch tensors named as torchvision names them.

Written from the papers' layer tables and torchvision's documented module names, independently
of tatamikomi/vision/models: `Ref` hands out each tensor by name, checks its shape against the
table, and records the names in the order the forward first uses them (which is the order
torchvision registers them, except GoogLeNet's auxiliary heads: see googlenet_key_order).
On the meta device the same forward checks names and shapes without computing anything.
"""
import math

import torch
import torch.nn.functional as TF


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def make_divisible(v, divisor=8):
    """The mobile families' channel rounding: nearest multiple of 8, never below 90 % of v."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


class Ref:
    """Tensors by name for one forward, in training or eval mode, and the MACs it performed."""

    def __init__(self, tensors, training):
        self.tensors, self.training = tensors, training
        self.seen, self.macs = [], 0

    def take(self, key, shape):
        self.seen.append((key, tuple(shape)))
        value = self.tensors[key]
        assert tuple(value.shape) == tuple(shape), \
            f"{key}: ours is {tuple(value.shape)}, the architecture says {tuple(shape)}"
        return value

    def conv(self, name, x, out, k, stride=1, padding=0, groups=1, bias=False):
        kh, kw = _pair(k)
        w = self.take(f"{name}.weight", (out, x.shape[1] // groups, kh, kw))
        b = self.take(f"{name}.bias", (out,)) if bias else None
        y = TF.conv2d(x, w, b, stride, padding, 1, groups)
        self.macs += y.numel() * (x.shape[1] // groups) * kh * kw
        return y

    def bn(self, name, x, eps=1e-5, momentum=0.1):
        C = x.shape[1]
        w, b = self.take(f"{name}.weight", (C,)), self.take(f"{name}.bias", (C,))
        mean, var = self.take(f"{name}.running_mean", (C,)), self.take(f"{name}.running_var", (C,))
        count = self.take(f"{name}.num_batches_tracked", ())
        if self.training:
            count.add_(1)
        return TF.batch_norm(x, mean, var, w, b, self.training, momentum, eps)

    def linear(self, name, x, out):
        w = self.take(f"{name}.weight", (out, x.shape[1]))
        self.macs += x.shape[0] * x.shape[1] * out
        return TF.linear(x, w, self.take(f"{name}.bias", (out,)))

    def dropout(self, x, p):
        return TF.dropout(x, p, self.training)


class Seq:
    """The children of an nn.Sequential: one index per layer, stateful or not."""

    def __init__(self, prefix):
        self.prefix, self.i = prefix, -1

    def next(self):
        self.i += 1
        return f"{self.prefix}.{self.i}"

    def skip(self, n=1):
        self.i += n


def gap(x):
    """Global average pool to (N, C)."""
    return torch.flatten(TF.adaptive_avg_pool2d(x, 1), 1)


# ----- AlexNet ("One weird trick", 2014) and VGG (Table 1 of Simonyan & Zisserman, 2014)

def alexnet(R, x, num_classes=1000):
    f = Seq("features")
    for out, k, s, p, pool in ((64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False),
                               (256, 3, 1, 1, False), (256, 3, 1, 1, True)):
        x = TF.relu(R.conv(f.next(), x, out, k, s, p, bias=True))
        f.skip()
        if pool:
            x = TF.max_pool2d(x, 3, 2)
            f.skip()
    x = torch.flatten(TF.adaptive_avg_pool2d(x, 6), 1)
    c = Seq("classifier")
    c.skip()
    x = TF.relu(R.linear(c.next(), R.dropout(x, 0.5), 4096))
    c.skip(2)
    x = TF.relu(R.linear(c.next(), R.dropout(x, 0.5), 4096))
    c.skip()
    return R.linear(c.next(), x, num_classes)


VGG_TABLE = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M"] + [256] * 3 + ["M"] + [512] * 3 + ["M"] + [512] * 3 + ["M"],
    19: [64, 64, "M", 128, 128, "M"] + [256] * 4 + ["M"] + [512] * 4 + ["M"] + [512] * 4 + ["M"],
}


def vgg(R, x, depth, bn, num_classes=1000):
    f = Seq("features")
    for v in VGG_TABLE[depth]:
        if v == "M":
            x = TF.max_pool2d(x, 2, 2)
            f.skip()
            continue
        x = R.conv(f.next(), x, v, 3, 1, 1, bias=True)
        if bn:
            x = R.bn(f.next(), x)
        x = TF.relu(x)
        f.skip()
    x = torch.flatten(TF.adaptive_avg_pool2d(x, 7), 1)
    c = Seq("classifier")
    x = R.dropout(TF.relu(R.linear(c.next(), x, 4096)), 0.5)
    c.skip(2)
    x = R.dropout(TF.relu(R.linear(c.next(), x, 4096)), 0.5)
    c.skip(2)
    return R.linear(c.next(), x, num_classes)


# ----- ResNet / ResNeXt / Wide ResNet: stride in the 3x3 conv ("v1.5")

def resnet(R, x, block, layers, groups=1, width=64, num_classes=1000, head=True):
    x = TF.max_pool2d(TF.relu(R.bn("bn1", R.conv("conv1", x, 64, 7, 2, 3))), 3, 2, 1)
    expansion = 1 if block == "basic" else 4
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
        for i in range(n):
            name, cin = f"layer{stage + 1}.{i}", x.shape[1]
            stride = 2 if stage and not i else 1
            if block == "basic":
                y = TF.relu(R.bn(f"{name}.bn1", R.conv(f"{name}.conv1", x, planes, 3, stride, 1)))
                y = R.bn(f"{name}.bn2", R.conv(f"{name}.conv2", y, planes, 3, 1, 1))
            else:
                w = int(planes * width / 64) * groups          # ResNeXt: groups x width
                y = TF.relu(R.bn(f"{name}.bn1", R.conv(f"{name}.conv1", x, w, 1)))
                y = TF.relu(R.bn(f"{name}.bn2", R.conv(f"{name}.conv2", y, w, 3, stride, 1,
                                                       groups)))
                y = R.bn(f"{name}.bn3", R.conv(f"{name}.conv3", y, planes * 4, 1))
            if stride != 1 or cin != planes * expansion:
                x = R.bn(f"{name}.downsample.1",
                         R.conv(f"{name}.downsample.0", x, planes * expansion, 1, stride))
            x = TF.relu(y + x)
    return R.linear("fc", gap(x), num_classes) if head else TF.adaptive_avg_pool2d(x, 1)


# ----- SqueezeNet (Iandola et al., 2016): Fire(squeeze, expand 1x1, expand 3x3)

FIRES = {
    "1_0": [(16, 64, 64), (16, 64, 64), (32, 128, 128), "M", (32, 128, 128), (48, 192, 192),
            (48, 192, 192), (64, 256, 256), "M", (64, 256, 256)],
    "1_1": [(16, 64, 64), (16, 64, 64), "M", (32, 128, 128), (32, 128, 128), "M",
            (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)],
}


def squeezenet(R, x, version, num_classes=1000):
    f = Seq("features")
    out, k = (96, 7) if version == "1_0" else (64, 3)
    x = TF.max_pool2d(TF.relu(R.conv(f.next(), x, out, k, 2, bias=True)), 3, 2, ceil_mode=True)
    f.skip(2)
    for fire in FIRES[version]:
        if fire == "M":
            x = TF.max_pool2d(x, 3, 2, ceil_mode=True)
            f.skip()
            continue
        s, e1, e3 = fire
        name = f.next()
        x = TF.relu(R.conv(f"{name}.squeeze", x, s, 1, bias=True))
        x = torch.cat([TF.relu(R.conv(f"{name}.expand1x1", x, e1, 1, bias=True)),
                       TF.relu(R.conv(f"{name}.expand3x3", x, e3, 3, 1, 1, bias=True))], 1)
    x = TF.relu(R.conv("classifier.1", R.dropout(x, 0.5), num_classes, 1, bias=True))
    return gap(x)


# ----- MobileNetV2 (Table 2 of Sandler et al., 2018) and V3 (Tables 1-2 of Howard et al., 2019)

def _cna(R, name, x, out, k, stride=1, groups=1, act=None, eps=1e-5, momentum=0.1):
    """conv (padding (k-1)/2, no bias), BN, then act: torchvision's Conv2dNormActivation."""
    y = R.bn(f"{name}.1", R.conv(f"{name}.0", x, out, k, stride, (k - 1) // 2, groups), eps,
             momentum)
    return y if act is None else act(y)


MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2(R, x, num_classes=1000):
    x = _cna(R, "features.0", x, 32, 3, 2, act=TF.relu6)
    i = 1
    for t, c, n, s in MOBILENET_V2:
        for j in range(n):
            name, cin, stride, k = f"features.{i}.conv", x.shape[1], s if j == 0 else 1, 0
            y = x
            if t != 1:
                y = _cna(R, f"{name}.0", y, cin * t, 1, act=TF.relu6)
                k = 1
            y = _cna(R, f"{name}.{k}", y, cin * t, 3, stride, cin * t, act=TF.relu6)
            y = R.bn(f"{name}.{k + 2}", R.conv(f"{name}.{k + 1}", y, c, 1))
            x = x + y if stride == 1 and cin == c else y
            i += 1
    x = _cna(R, f"features.{i}", x, 1280, 1, act=TF.relu6)
    return R.linear("classifier.1", R.dropout(gap(x), 0.2), num_classes)


# (in, kernel, expanded, out, squeeze-excite, hard-swish, stride)
MOBILENET_V3 = {
    "large": [(16, 3, 16, 16, 0, 0, 1), (16, 3, 64, 24, 0, 0, 2), (24, 3, 72, 24, 0, 0, 1),
              (24, 5, 72, 40, 1, 0, 2), (40, 5, 120, 40, 1, 0, 1), (40, 5, 120, 40, 1, 0, 1),
              (40, 3, 240, 80, 0, 1, 2), (80, 3, 200, 80, 0, 1, 1), (80, 3, 184, 80, 0, 1, 1),
              (80, 3, 184, 80, 0, 1, 1), (80, 3, 480, 112, 1, 1, 1), (112, 3, 672, 112, 1, 1, 1),
              (112, 5, 672, 160, 1, 1, 2), (160, 5, 960, 160, 1, 1, 1),
              (160, 5, 960, 160, 1, 1, 1)],
    "small": [(16, 3, 16, 16, 1, 0, 2), (16, 3, 72, 24, 0, 0, 2), (24, 3, 88, 24, 0, 0, 1),
              (24, 5, 96, 40, 1, 1, 2), (40, 5, 240, 40, 1, 1, 1), (40, 5, 240, 40, 1, 1, 1),
              (40, 5, 120, 48, 1, 1, 1), (48, 5, 144, 48, 1, 1, 1), (48, 5, 288, 96, 1, 1, 2),
              (96, 5, 576, 96, 1, 1, 1), (96, 5, 576, 96, 1, 1, 1)],
}
MOBILENET_V3_LAST = {"large": 1280, "small": 1024}


def _squeeze_excite(R, name, y, squeeze, act, gate):
    g = act(R.conv(f"{name}.fc1", TF.adaptive_avg_pool2d(y, 1), squeeze, 1, bias=True))
    return gate(R.conv(f"{name}.fc2", g, y.shape[1], 1, bias=True)) * y


def mobilenet_v3(R, x, arch, num_classes=1000):
    bn = {"eps": 1e-3, "momentum": 0.01}                 # the TensorFlow reference's BN
    x = _cna(R, "features.0", x, 16, 3, 2, act=TF.hardswish, **bn)
    for i, (cin, k, exp, out, se, hs, s) in enumerate(MOBILENET_V3[arch], 1):
        act, name, j, y = TF.hardswish if hs else TF.relu, f"features.{i}.block", 0, x
        if exp != cin:
            y = _cna(R, f"{name}.0", y, exp, 1, act=act, **bn)
            j = 1
        y = _cna(R, f"{name}.{j}", y, exp, k, s, exp, act=act, **bn)
        if se:
            j += 1
            y = _squeeze_excite(R, f"{name}.{j}", y, make_divisible(exp // 4), TF.relu,
                                TF.hardsigmoid)
        y = _cna(R, f"{name}.{j + 1}", y, out, 1, **bn)
        x = x + y if s == 1 and cin == out else y
    x = _cna(R, f"features.{len(MOBILENET_V3[arch]) + 1}", x, 6 * x.shape[1], 1,
             act=TF.hardswish, **bn)
    x = TF.hardswish(R.linear("classifier.0", gap(x), MOBILENET_V3_LAST[arch]))
    return R.linear("classifier.3", R.dropout(x, 0.2), num_classes)


# ----- ShuffleNetV2 (Ma et al., 2018)

SHUFFLENET = {"x0_5": [24, 48, 96, 192, 1024], "x1_0": [24, 116, 232, 464, 1024],
              "x1_5": [24, 176, 352, 704, 1024], "x2_0": [24, 244, 488, 976, 2048]}


def shufflenet_v2(R, x, width, num_classes=1000):
    ch = SHUFFLENET[width]
    x = TF.max_pool2d(TF.relu(R.bn("conv1.1", R.conv("conv1.0", x, ch[0], 3, 2, 1))), 3, 2, 1)
    for stage, (n, out) in enumerate(zip((4, 8, 4), ch[1:4]), 2):
        for i in range(n):
            name, half = f"stage{stage}.{i}", out // 2
            if i == 0:                  # both branches see the whole input, at stride 2
                c = x.shape[1]
                a = R.bn(f"{name}.branch1.1", R.conv(f"{name}.branch1.0", x, c, 3, 2, 1, c))
                a = TF.relu(R.bn(f"{name}.branch1.3", R.conv(f"{name}.branch1.2", a, half, 1)))
                b, stride = x, 2
            else:
                (a, b), stride = x.chunk(2, 1), 1
            b = TF.relu(R.bn(f"{name}.branch2.1", R.conv(f"{name}.branch2.0", b, half, 1)))
            b = R.bn(f"{name}.branch2.4", R.conv(f"{name}.branch2.3", b, half, 3, stride, 1,
                                                 half))
            b = TF.relu(R.bn(f"{name}.branch2.6", R.conv(f"{name}.branch2.5", b, half, 1)))
            y = torch.cat([a, b], 1)
            N, C, H, W = y.shape        # channel shuffle, 2 groups: 0, C/2, 1, C/2 + 1, ...
            x = y.reshape(N, 2, C // 2, H, W).transpose(1, 2).reshape(N, C, H, W)
    x = TF.relu(R.bn("conv5.1", R.conv("conv5.0", x, ch[4], 1)))
    return R.linear("fc", x.mean([2, 3]), num_classes)


# ----- DenseNet (Huang et al., 2016)

def densenet(R, x, growth, blocks, init, bn_size=4, drop_rate=0.0, num_classes=1000):
    x = TF.relu(R.bn("features.norm0", R.conv("features.conv0", x, init, 7, 2, 3)))
    x = TF.max_pool2d(x, 3, 2, 1)
    for b, n in enumerate(blocks, 1):
        features = [x]
        for j in range(1, n + 1):
            name = f"features.denseblock{b}.denselayer{j}"
            y = TF.relu(R.bn(f"{name}.norm1", torch.cat(features, 1)))
            y = TF.relu(R.bn(f"{name}.norm2", R.conv(f"{name}.conv1", y, bn_size * growth, 1)))
            y = R.conv(f"{name}.conv2", y, growth, 3, 1, 1)
            features.append(R.dropout(y, drop_rate) if drop_rate > 0 else y)
        x = torch.cat(features, 1)
        if b < len(blocks):
            name = f"features.transition{b}"
            x = R.conv(f"{name}.conv", TF.relu(R.bn(f"{name}.norm", x)), x.shape[1] // 2, 1)
            x = TF.avg_pool2d(x, 2, 2)
    x = TF.relu(R.bn("features.norm5", x))
    return R.linear("classifier", gap(x), num_classes)


# ----- GoogLeNet (Table 1 of Szegedy et al., 2014), with BN as torchvision builds it

INCEPTIONS = [("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), "pool3",
              ("4a", 192, 96, 208, 16, 48, 64), "aux1", ("4b", 160, 112, 224, 24, 64, 64),
              ("4c", 128, 128, 256, 24, 64, 64), ("4d", 112, 144, 288, 32, 64, 64), "aux2",
              ("4e", 256, 160, 320, 32, 128, 128), "pool4", ("5a", 256, 160, 320, 32, 128, 128),
              ("5b", 384, 192, 384, 48, 128, 128)]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def googlenet(R, x, aux_logits=True, transform_input=False, num_classes=1000):
    def basic(name, x, out, k, stride=1, padding=0):
        return TF.relu(R.bn(f"{name}.bn", R.conv(f"{name}.conv", x, out, k, stride, padding),
                            eps=1e-3))

    if transform_input:         # ImageNet-normalized input -> the (x - 0.5) / 0.5 of TF weights
        x = torch.cat([x[:, c:c + 1] * (s / 0.5) + (m - 0.5) / 0.5
                       for c, (m, s) in enumerate(zip(IMAGENET_MEAN, IMAGENET_STD))], 1)
    x = TF.max_pool2d(basic("conv1", x, 64, 7, 2, 3), 3, 2, ceil_mode=True)
    x = TF.max_pool2d(basic("conv3", basic("conv2", x, 64, 1), 192, 3, 1, 1), 3, 2,
                      ceil_mode=True)
    aux = {}
    for step in INCEPTIONS:
        if step in ("pool3", "pool4"):
            x = TF.max_pool2d(x, *((3, 2) if step == "pool3" else (2, 2)), ceil_mode=True)
        elif step in ("aux1", "aux2"):
            if aux_logits and R.training:
                a = torch.flatten(basic(f"{step}.conv", TF.adaptive_avg_pool2d(x, 4), 128, 1), 1)
                a = R.dropout(TF.relu(R.linear(f"{step}.fc1", a, 1024)), 0.7)
                aux[step] = R.linear(f"{step}.fc2", a, num_classes)
        else:
            tag, c1, r3, c3, r5, c5, pool_proj = step
            name = f"inception{tag}"
            b1 = basic(f"{name}.branch1", x, c1, 1)
            b2 = basic(f"{name}.branch2.1", basic(f"{name}.branch2.0", x, r3, 1), c3, 3, 1, 1)
            b3 = basic(f"{name}.branch3.1", basic(f"{name}.branch3.0", x, r5, 1), c5, 3, 1, 1)
            b4 = basic(f"{name}.branch4.1", TF.max_pool2d(x, 3, 1, 1, ceil_mode=True),
                       pool_proj, 1)
            x = torch.cat([b1, b2, b3, b4], 1)
    x = R.linear("fc", R.dropout(gap(x), 0.2), num_classes)
    return (x, aux["aux1"], aux["aux2"]) if aux else x


def googlenet_key_order(seen):
    """torchvision registers aux1 and aux2 after inception5b, though it calls them earlier."""
    aux = [k for k in seen if k[0].startswith("aux")]
    rest = [k for k in seen if not k[0].startswith("aux")]
    at = next(i for i, k in enumerate(rest) if k[0] == "fc.weight")
    return rest[:at] + aux + rest[at:]


# ----- EfficientNet (Table 1 of Tan & Le, 2019)

EFFICIENTNET_B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                   (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                   (6, 3, 1, 192, 320, 1)]
# width, depth, dropout; B5-B7 carry TensorFlow's BN settings with their ported weights
EFFICIENTNET = {"b0": (1.0, 1.0, 0.2), "b1": (1.0, 1.1, 0.2), "b2": (1.1, 1.2, 0.3),
                "b3": (1.2, 1.4, 0.3), "b4": (1.4, 1.8, 0.4), "b5": (1.6, 2.2, 0.4),
                "b6": (1.8, 2.6, 0.5), "b7": (2.0, 3.1, 0.5)}


def stochastic_depth(y, p, training):
    """Drop the whole branch of each sample with probability p, scaling the kept by 1/(1-p)."""
    if not training or p == 0.0:
        return y
    noise = torch.empty([y.shape[0], 1, 1, 1], dtype=y.dtype, device=y.device).bernoulli_(1 - p)
    return y * noise.div_(1 - p)


def efficientnet(R, x, variant, num_classes=1000, stochastic_depth_prob=0.2):
    width, depth, dropout = EFFICIENTNET[variant]
    bn = {"eps": 1e-3, "momentum": 0.01} if variant in ("b5", "b6", "b7") else {}
    stages = [(e, k, s, make_divisible(cout * width), math.ceil(n * depth))
              for e, k, s, _, cout, n in EFFICIENTNET_B0]
    x = _cna(R, "features.0", x, make_divisible(32 * width), 3, 2, act=TF.silu, **bn)
    total, done = sum(st[-1] for st in stages), 0
    for i, (e, k, s, cout, n) in enumerate(stages, 1):
        for j in range(n):
            name, cin, stride, t = f"features.{i}.{j}.block", x.shape[1], s if j == 0 else 1, 0
            exp, y = make_divisible(cin * e), x
            if exp != cin:
                y = _cna(R, f"{name}.0", y, exp, 1, act=TF.silu, **bn)
                t = 1
            y = _cna(R, f"{name}.{t}", y, exp, k, stride, exp, act=TF.silu, **bn)
            y = _squeeze_excite(R, f"{name}.{t + 1}", y, max(1, cin // 4), TF.silu,
                                torch.sigmoid)
            y = _cna(R, f"{name}.{t + 2}", y, cout, 1, **bn)
            if stride == 1 and cin == cout:
                y = stochastic_depth(y, stochastic_depth_prob * done / total, R.training) + x
            x, done = y, done + 1
    x = _cna(R, f"features.{len(stages) + 1}", x, 4 * x.shape[1], 1, act=TF.silu, **bn)
    return R.linear("classifier.1", R.dropout(gap(x), dropout), num_classes)


# builder name -> (reference forward, its arguments)
BUILDERS = {
    "alexnet": (alexnet, {}),
    **{f"vgg{d}{'_bn' * bn}": (vgg, {"depth": d, "bn": bn}) for d in (11, 13, 16, 19)
       for bn in (False, True)},
    "resnet18": (resnet, {"block": "basic", "layers": [2, 2, 2, 2]}),
    "resnet34": (resnet, {"block": "basic", "layers": [3, 4, 6, 3]}),
    "resnet50": (resnet, {"block": "bottleneck", "layers": [3, 4, 6, 3]}),
    "resnet101": (resnet, {"block": "bottleneck", "layers": [3, 4, 23, 3]}),
    "resnet152": (resnet, {"block": "bottleneck", "layers": [3, 8, 36, 3]}),
    "resnext50_32x4d": (resnet, {"block": "bottleneck", "layers": [3, 4, 6, 3], "groups": 32,
                                 "width": 4}),
    "resnext101_32x8d": (resnet, {"block": "bottleneck", "layers": [3, 4, 23, 3], "groups": 32,
                                  "width": 8}),
    "resnext101_64x4d": (resnet, {"block": "bottleneck", "layers": [3, 4, 23, 3], "groups": 64,
                                  "width": 4}),
    "wide_resnet50_2": (resnet, {"block": "bottleneck", "layers": [3, 4, 6, 3], "width": 128}),
    "wide_resnet101_2": (resnet, {"block": "bottleneck", "layers": [3, 4, 23, 3],
                                  "width": 128}),
    "squeezenet1_0": (squeezenet, {"version": "1_0"}),
    "squeezenet1_1": (squeezenet, {"version": "1_1"}),
    "mobilenet_v2": (mobilenet_v2, {}),
    "mobilenet_v3_large": (mobilenet_v3, {"arch": "large"}),
    "mobilenet_v3_small": (mobilenet_v3, {"arch": "small"}),
    **{f"shufflenet_v2_{w}": (shufflenet_v2, {"width": w}) for w in SHUFFLENET},
    "densenet121": (densenet, {"growth": 32, "blocks": (6, 12, 24, 16), "init": 64}),
    "densenet161": (densenet, {"growth": 48, "blocks": (6, 12, 36, 24), "init": 96}),
    "densenet169": (densenet, {"growth": 32, "blocks": (6, 12, 32, 32), "init": 64}),
    "densenet201": (densenet, {"growth": 32, "blocks": (6, 12, 48, 32), "init": 64}),
    "googlenet": (googlenet, {}),
    **{f"efficientnet_{v}": (efficientnet, {"variant": v}) for v in EFFICIENTNET},
}
