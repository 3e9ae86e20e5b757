"""vision.transforms: random ones choose what torchvision's would (its draw order reproduced with
plain torch calls, since torchvision is not installed); deterministic ones against torch's
formulas for tensors and against Pillow (or NumPy) for PIL images."""
import colorsys
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tatamikomi as tm
from tatamikomi.vision import transforms as T
from tatamikomi.vision.transforms import functional as F

Image = pytest.importorskip("PIL.Image")


def image(c=3, h=28, w=20, seed=0):
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


def ours(array):
    return tm.from_numpy(array.copy())


def pil(array_chw):
    a = (array_chw * 255).astype(np.uint8).transpose(1, 2, 0)
    return Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)


# ----- random transforms draw torch's numbers in torchvision's order

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("as_pil", [False, True], ids=["tensor", "pil"])
def test_random_crop_with_padding_picks_torchs_window(seed, as_pil):
    x = image(seed=seed)
    t = T.RandomCrop((24, 16), padding=4)
    tm.manual_seed(seed)
    got = t(pil(x) if as_pil else ours(x))
    torch.manual_seed(seed)
    src = torch.from_numpy(np.asarray(pil(x)).transpose(2, 0, 1).copy()) if as_pil \
        else torch.from_numpy(x)
    padded = TF.pad(src, (4, 4, 4, 4))
    i = torch.randint(0, 36 - 24 + 1, size=(1,)).item()     # RandomCrop.get_params: row, column
    j = torch.randint(0, 28 - 16 + 1, size=(1,)).item()
    want = padded[:, i:i + 24, j:j + 16].numpy()
    got = np.asarray(got).transpose(2, 0, 1) if as_pil else got.numpy()
    np.testing.assert_array_equal(got, want)
    assert tm.rand(1).item() == torch.rand(1).item()          # and the streams stay in step


def test_random_crop_pad_if_needed_and_modes():
    x = image(1, 5, 6)
    tm.manual_seed(1)
    got = T.RandomCrop(8, pad_if_needed=True, padding_mode="reflect")(ours(x))
    torch.manual_seed(1)
    padded = TF.pad(TF.pad(torch.from_numpy(x)[None], (2, 2, 0, 0), mode="reflect"),
                    (0, 0, 3, 3), mode="reflect")[0]          # width first, then height
    i = torch.randint(0, padded.shape[1] - 8 + 1, size=(1,)).item()
    j = torch.randint(0, padded.shape[2] - 8 + 1, size=(1,)).item()
    np.testing.assert_array_equal(got.numpy(), padded[:, i:i + 8, j:j + 8].numpy())
    with pytest.raises(ValueError, match=r"Required crop size \(8, 8\) is larger than input "
                                         r"image size \(5, 6\)"):
        T.RandomCrop(8)(ours(x))


@pytest.mark.parametrize("cls,flip", [(T.RandomHorizontalFlip, -1), (T.RandomVerticalFlip, -2)])
def test_random_flips_follow_torch_rand(cls, flip):
    x = image(2, 4, 5)
    t = cls(p=0.3)
    tm.manual_seed(7)
    got = [t(ours(x)).numpy() for _ in range(12)]
    torch.manual_seed(7)
    flips = [torch.rand(1) < 0.3 for _ in range(12)]
    assert 0 < sum(flips) < 12
    for g, f in zip(got, flips):
        np.testing.assert_array_equal(g, np.flip(x, flip) if f else x)
    img = pil(x[:1])
    tm.manual_seed(7)
    outs = [np.asarray(t(img)) for _ in range(12)]
    for g, f in zip(outs, flips):
        np.testing.assert_array_equal(g, np.flip(np.asarray(img), flip) if f
                                      else np.asarray(img))


def torch_resized_crop_params(height, width, scale, ratio):
    """torchvision's RandomResizedCrop.get_params, written with torch calls."""
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
        aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = torch.randint(0, height - h + 1, size=(1,)).item()
            j = torch.randint(0, width - w + 1, size=(1,)).item()
            return i, j, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@pytest.mark.parametrize("shape,scale,ratio", [
    ((32, 32), (0.08, 1.0), (3 / 4, 4 / 3)), ((28, 20), (0.5, 1.0), (0.5, 2.0)),
    ((10, 40), (0.9, 1.0), (1.0, 1.0)), ((30, 30), (1.5, 2.0), (3 / 4, 4 / 3)),
    ((8, 40), (1.5, 2.0), (3 / 4, 4 / 3))], ids=["imagenet", "wide-range", "square",
                                                 "fallback", "fallback-wide"])
def test_random_resized_crop_params_are_torchvisions(shape, scale, ratio):
    img = ours(image(3, *shape))
    for seed in range(25):
        tm.manual_seed(seed)
        got = T.RandomResizedCrop.get_params(img, scale, ratio)
        torch.manual_seed(seed)
        assert got == torch_resized_crop_params(*shape, scale, ratio), seed
        assert tm.rand(1).item() == torch.rand(1).item()


def test_random_resized_crop_output():
    x = image(3, 30, 24)
    t = T.RandomResizedCrop(12, antialias=True)
    tm.manual_seed(5)
    got = t(ours(x))
    torch.manual_seed(5)
    i, j, h, w = torch_resized_crop_params(30, 24, (0.08, 1.0), (3 / 4, 4 / 3))
    want = TF.interpolate(torch.from_numpy(x)[None, :, i:i + h, j:j + w], size=(12, 12),
                          mode="bilinear", align_corners=False, antialias=True)[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-6)


def test_color_jitter_params_and_order_are_torchvisions():
    t = T.ColorJitter(brightness=0.4, contrast=(0.5, 1.5), saturation=0, hue=0.1)
    assert t.saturation is None and t.brightness == (0.6, 1.4)
    for seed in range(5):
        tm.manual_seed(seed)
        order, *factors = t.get_params(t.brightness, t.contrast, t.saturation, t.hue)
        torch.manual_seed(seed)
        want_order = torch.randperm(4).tolist()
        want = [float(torch.empty(1).uniform_(*r)) if r is not None else None
                for r in ((0.6, 1.4), (0.5, 1.5), None, (-0.1, 0.1))]
        assert order.tolist() == want_order and factors == want


def test_color_jitter_applies_in_the_drawn_order():
    x = image(3, 6, 5)
    t = T.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5)
    tm.manual_seed(3)
    got = t(ours(x)).numpy()
    tm.manual_seed(3)
    order, *factors = t.get_params(t.brightness, t.contrast, t.saturation, t.hue)
    y = ours(x)
    ops = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation]
    for k in order.tolist():
        if k < 3:
            y = ops[k](y, factors[k])
    np.testing.assert_array_equal(got, y.numpy())


def torch_erasing_params(img, scale, ratio, value):
    """torchvision's RandomErasing.get_params with torch calls."""
    img_c, img_h, img_w = img.shape[-3:]
    area = img_h * img_w
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        erase_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
        aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
        h = int(round(math.sqrt(erase_area * aspect_ratio)))
        w = int(round(math.sqrt(erase_area / aspect_ratio)))
        if not (h < img_h and w < img_w):
            continue
        v = torch.empty([img_c, h, w], dtype=torch.float32).normal_() if value is None \
            else torch.tensor(value)[:, None, None]
        i = torch.randint(0, img_h - h + 1, size=(1,)).item()
        j = torch.randint(0, img_w - w + 1, size=(1,)).item()
        return i, j, h, w, v
    return 0, 0, img_h, img_w, img


@pytest.mark.parametrize("value", [0, (0.1, 0.2, 0.3), "random"])
def test_random_erasing_is_torchvisions(value):
    x = image(3, 16, 12)
    t = T.RandomErasing(p=0.7, value=value)
    for seed in range(6):
        tm.manual_seed(seed)
        got = t(ours(x)).numpy()
        torch.manual_seed(seed)
        want = torch.from_numpy(x.copy())
        if torch.rand(1) < 0.7:
            v = None if value == "random" else \
                [float(value)] if isinstance(value, int) else list(value)
            i, j, h, w, patch = torch_erasing_params(want, (0.02, 0.33), (0.3, 3.3), v)
            want[..., i:i + h, j:j + w] = patch
        np.testing.assert_array_equal(got, want.numpy())
    with pytest.raises(ValueError, match="Random erasing probability should be between 0 and 1"):
        T.RandomErasing(p=2)


def test_random_rotation_angle_is_torchs():
    t = T.RandomRotation(30)
    assert t.degrees == [-30.0, 30.0]
    tm.manual_seed(4)
    got = [t.get_params(t.degrees) for _ in range(3)]
    torch.manual_seed(4)
    assert got == [float(torch.empty(1).uniform_(-30.0, 30.0).item()) for _ in range(3)]


# ----- deterministic transforms on tensors: torch's formulas

@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(9, 7), (40, 33), (14, 50)], ids=["down", "up", "mixed"])
def test_resize_tensor_matches_torch_interpolate(mode, antialias, size):
    x = image(3, 28, 20)
    got = F.resize(ours(x), list(size), T.InterpolationMode(mode), antialias=antialias)
    want = TF.interpolate(torch.from_numpy(x)[None], size=size, mode=mode, align_corners=False,
                          antialias=antialias)[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=3e-6)


def test_resize_nearest_and_smaller_edge_rule():
    x = image(1, 28, 20)
    got = F.resize(ours(x), [9, 7], T.InterpolationMode.NEAREST)
    want = TF.interpolate(torch.from_numpy(x)[None], size=(9, 7), mode="nearest")[0]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    # an int matches the smaller edge: w 20 -> 10, h int(10 * 28 / 20) = 14
    assert T.Resize(10)(ours(x)).shape == (1, 14, 10)
    assert T.Resize(10)(pil(x)).size == (10, 14)
    assert T.Resize(10, max_size=12)(ours(x)).shape == (1, 12, 8)   # long edge capped
    img = pil(x)
    np.testing.assert_array_equal(np.asarray(T.Resize((9, 7))(img)),
                                  np.asarray(img.resize((7, 9), Image.BILINEAR)))


def test_center_crop_rounds_and_pads_as_torchvision():
    x = image(2, 7, 10)
    got = T.CenterCrop((4, 5))(ours(x)).numpy()
    top, left = int(round((7 - 4) / 2.0)), int(round((10 - 5) / 2.0))
    np.testing.assert_array_equal(got, x[:, top:top + 4, left:left + 5])
    big = T.CenterCrop((10, 13))(ours(x)).numpy()       # pads (13-10)//2=1 left, 2 right, ...
    want = TF.pad(torch.from_numpy(x), (1, 2, 1, 2)).numpy()
    np.testing.assert_array_equal(big, want)
    img = pil(x[:1])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((10, 13))(img)),
                                  np.pad(np.asarray(img), ((1, 2), (1, 2))))


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                             ("reflect", "reflect")])
def test_pad_tensor_and_pil_match_torch(mode, torch_mode):
    x = image(3, 6, 5)
    got = T.Pad((1, 2, 3, 4), padding_mode=mode)(ours(x)).numpy()
    want = TF.pad(torch.from_numpy(x)[None], (1, 3, 2, 4), mode=torch_mode)[0].numpy()
    np.testing.assert_array_equal(got, want)
    img = pil(x)
    padded = np.asarray(T.Pad((1, 2, 3, 4), padding_mode=mode)(img)).transpose(2, 0, 1)
    want8 = TF.pad(torch.from_numpy(np.asarray(img).transpose(2, 0, 1).copy())[None].float(),
                   (1, 3, 2, 4), mode=torch_mode)[0].numpy()
    np.testing.assert_array_equal(padded, want8)


def test_pad_symmetric_and_fill():
    x = image(1, 3, 4)
    np.testing.assert_array_equal(F.pad(ours(x), 2, padding_mode="symmetric").numpy(),
                                  np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="symmetric"))
    img = Image.fromarray(np.zeros((2, 2, 3), np.uint8))
    out = np.asarray(F.pad(img, 1, fill=(10, 20, 30)))
    assert out[0, 0].tolist() == [10, 20, 30] and out[1, 1].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, "
                                         "not a 3 element tuple"):
        T.Pad((1, 2, 3))


def test_color_ops_on_tensors_follow_torchvisions_formulas():
    x = torch.from_numpy(image(3, 6, 5))
    gray = (0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None]
    np.testing.assert_allclose(F.rgb_to_grayscale(ours(x.numpy())).numpy(), gray.numpy(),
                               atol=1e-7)
    assert T.Grayscale(3)(ours(x.numpy())).shape == (3, 6, 5)
    np.testing.assert_allclose(F.adjust_brightness(ours(x.numpy()), 1.7).numpy(),
                               (1.7 * x).clamp(0, 1).numpy(), atol=1e-7)
    mean = gray.mean()
    np.testing.assert_allclose(F.adjust_contrast(ours(x.numpy()), 0.6).numpy(),
                               (0.6 * x + 0.4 * mean).clamp(0, 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(F.adjust_saturation(ours(x.numpy()), 1.3).numpy(),
                               (1.3 * x - 0.3 * gray).clamp(0, 1).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"brightness_factor \(-1\) is not non-negative."):
        F.adjust_brightness(ours(x.numpy()), -1)


@pytest.mark.parametrize("hue", [0.2, -0.35])
def test_adjust_hue_tensor_against_colorsys(hue):
    x = image(3, 4, 5)
    got = F.adjust_hue(ours(x), hue).numpy()
    want = np.empty_like(x)
    for r in range(4):
        for c in range(5):
            h, s, v = colorsys.rgb_to_hsv(*x[:, r, c].astype(np.float64))
            want[:, r, c] = colorsys.hsv_to_rgb((h + hue) % 1.0, s, v)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_pil_color_ops_are_pillows():
    from PIL import ImageEnhance
    img = pil(image(3, 6, 5))
    for fn, enh in ((F.adjust_brightness, ImageEnhance.Brightness),
                    (F.adjust_contrast, ImageEnhance.Contrast),
                    (F.adjust_saturation, ImageEnhance.Color)):
        np.testing.assert_array_equal(np.asarray(fn(img, 1.4)), np.asarray(enh(img).enhance(1.4)))
    # hue: the HSV hue byte turned with uint8 wrap-around
    h, s, v = img.convert("HSV").split()
    turned = ((np.asarray(h).astype(int) + int(0.25 * 255)) % 256).astype(np.uint8)
    want = Image.merge("HSV", (Image.fromarray(turned, "L"), s, v)).convert("RGB")
    np.testing.assert_array_equal(np.asarray(F.adjust_hue(img, 0.25)), np.asarray(want))


def torch_rotate(x, angle, mode, fill):
    """torchvision's tensor rotate with torch calls: its inverse matrix and affine grid over
    pixel centres, grid_sample with zeros outside, the fill blended by a sampled mask."""
    c, h, w = x.shape
    r = math.radians(-angle)                  # torchvision inverts the rotation by -angle
    theta = torch.tensor([math.cos(r), math.sin(r), 0.0, -math.sin(r), math.cos(r), 0.0],
                         dtype=torch.float32).reshape(1, 2, 3)
    base = torch.empty(1, h, w, 3)
    base[..., 0].copy_(torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w))
    base[..., 1].copy_(torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h).unsqueeze_(-1))
    base[..., 2].fill_(1)
    rescaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h])
    grid = base.view(1, h * w, 3).bmm(rescaled).view(1, h, w, 2)
    src = torch.cat([x, torch.ones(1, h, w)])[None]
    out = TF.grid_sample(src, grid, mode=mode, padding_mode="zeros", align_corners=False)[0]
    img, mask = out[:-1], out[-1:]
    if fill is None:
        return img
    if mode == "nearest":
        mask = (mask > 0.5).float()
    return img * mask + (1.0 - mask) * torch.tensor(fill)[:, None, None]


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("angle,fill", [(90.0, None), (33.0, None), (-50.0, [0.5, 1.0]),
                                        (12.5, [0.0, 0.0])])
def test_rotate_tensor_is_torchvisions_grid_sample(mode, angle, fill):
    x = image(2, 7, 6)
    got = F.rotate(ours(x), angle, T.InterpolationMode(mode), fill=fill).numpy()
    want = torch_rotate(torch.from_numpy(x), angle, mode, fill).numpy()
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_rotate_quarter_turn_is_counter_clockwise_and_pil_is_pillows():
    x = image(2, 5, 5)
    np.testing.assert_allclose(F.rotate(ours(x), 90.0).numpy(), np.rot90(x, 1, axes=(1, 2)),
                               atol=1e-6)
    img = pil(x[:1])
    np.testing.assert_array_equal(np.asarray(F.rotate(img, 90.0)),
                                  np.asarray(img.transpose(Image.Transpose.ROTATE_90)))
    tm.manual_seed(2)
    got = T.RandomRotation(20, fill=7)(img)
    torch.manual_seed(2)
    angle = float(torch.empty(1).uniform_(-20.0, 20.0).item())
    np.testing.assert_array_equal(np.asarray(got),
                                  np.asarray(img.rotate(angle, Image.NEAREST, fillcolor=7)))


def test_to_pil_image_as_torch_converts():
    x = torch.randn(3, 4, 5)
    img = T.ToPILImage()(tm.from_numpy(x.numpy()))
    assert img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), x.mul(255).byte().permute(1, 2, 0).numpy())
    assert T.ToPILImage()(tm.zeros(1, 2, 2)).mode == "L"
    assert T.ToPILImage()(tm.zeros(4, 2, 2)).mode == "RGBA"
    back = T.ToTensor()(T.ToPILImage()(ours(image(3, 4, 4))))
    assert back.shape == (3, 4, 4)
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToPILImage()(tm.zeros(1, 1, 2, 2))


def test_compose_of_augmentations_runs_in_a_loader():
    from tatamikomi.utils.data import DataLoader
    from tatamikomi.vision import datasets
    tf = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.5,), (0.5,)), T.RandomErasing()])
    ds = datasets.FakeData(size=8, image_size=(1, 28, 28), transform=tf)
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    assert x.shape == (8, 1, 28, 28) and y.shape == (8,)
    assert "RandomCrop(size=(28, 28), padding=4)" in repr(tf)


# ----- the batch path of augmentations: the per-sample results, drawn in per-sample order

@pytest.mark.parametrize("tf", [
    T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.ToTensor(),
               T.Normalize((0.5,), (0.25,))]),
    T.Compose([T.RandomVerticalFlip(0.3), T.RandomCrop((20, 24), padding=(1, 3),
                                                       padding_mode="reflect"), T.ToTensor()]),
    T.Compose([T.ToTensor(), T.RandomCrop(26, padding=1, padding_mode="edge"),
               T.RandomHorizontalFlip()]),
    T.Compose([T.RandomCrop(30, pad_if_needed=True, fill=9), T.ToTensor()])],
    ids=["fashion", "reflect-vflip", "after-totensor", "pad-if-needed"])
def test_batch_augmentation_equals_per_sample(tf):
    from tatamikomi.utils.data import default_collate
    from tatamikomi.vision import datasets
    images = np.random.default_rng(4).integers(0, 256, (9, 28, 28)).astype(np.uint8)
    ds = datasets.MNIST.__new__(datasets.MNIST)               # the IDX datasets' batch path
    ds.data, ds.targets = tm.from_numpy(images), tm.arange(9)
    ds.transform, ds.target_transform = tf, None
    assert T.batch_transform(tf) is not None
    idx = [4, 0, 8, 8, 2]
    tm.manual_seed(6)
    fast = ds.get_batch(idx)
    after_fast = tm.rand(1).item()
    tm.manual_seed(6)
    slow = default_collate([ds[i] for i in idx])
    assert tm.rand(1).item() == after_fast                    # the same draws, as many
    np.testing.assert_array_equal(fast[0].numpy(), slow[0].numpy())
    assert fast[1].tolist() == slow[1].tolist()


def test_batch_augmentation_of_colour_images_equals_per_sample():
    from tatamikomi.utils.data import default_collate
    from tatamikomi.vision import datasets
    ds = datasets.CIFAR10.__new__(datasets.CIFAR10)           # CIFAR's (N, H, W, 3) batch path
    ds.data = np.random.default_rng(5).integers(0, 256, (6, 32, 32, 3)).astype(np.uint8)
    ds.targets, ds.target_transform = list(range(6)), None
    ds.transform = T.Compose([T.RandomCrop(32, padding=4, padding_mode="symmetric"),
                              T.RandomHorizontalFlip(), T.ToTensor()])
    tm.manual_seed(8)
    fast = ds.get_batch([5, 1, 3])
    tm.manual_seed(8)
    slow = default_collate([ds[i] for i in (5, 1, 3)])
    np.testing.assert_array_equal(fast[0].numpy(), slow[0].numpy())
    assert fast[0].shape == (3, 3, 32, 32)


def test_per_sample_only_transforms_have_no_batch_form():
    assert T.batch_transform(T.Compose([T.RandomCrop(8, fill=(1, 2, 3)), T.ToTensor()])) is None
    assert T.batch_transform(T.Compose([T.ColorJitter(0.5), T.ToTensor()])) is None
    assert T.batch_transform(T.Compose([T.Compose([T.RandomHorizontalFlip()]),
                                        T.ToTensor()])) is None


def torchvision_normalize(x, mean, std):
    """torchvision's tensor normalize: on a clone, subtract and divide in place per channel."""
    mean, std = torch.as_tensor(mean, dtype=x.dtype), torch.as_tensor(std, dtype=x.dtype)
    return x.clone().sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))


@pytest.mark.parametrize("channels,mean,std", [(3, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
                                               (1, (0.5,), (0.25,)),
                                               (1, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
                                               (3, (0.5,), (0.2, 0.3, 0.4, 0.5))])
def test_normalize_is_torchvisions_and_never_grows_the_image(channels, mean, std):
    # a grey image under CIFAR's three means raises as in torchvision (it broadcast to 3 channels)
    x = np.random.default_rng(0).random((channels, 5, 4)).astype(np.float32)
    try:
        expected = torchvision_normalize(torch.tensor(x), mean, std).numpy()
    except RuntimeError as e:
        for inplace in (False, True):
            with pytest.raises(RuntimeError) as ours:
                T.Normalize(mean, std, inplace)(tm.tensor(x))
            assert str(ours.value) == str(e)
        return
    np.testing.assert_allclose(T.Normalize(mean, std)(tm.tensor(x)).numpy(), expected, rtol=1e-6)
