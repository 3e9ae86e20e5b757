"""vision.utils: make_grid and save_image against torchvision's recipe written in torch."""
import math
import os

import numpy as np
import pytest
import torch

import tatamikomi as tm
from tatamikomi.vision import utils

Image = pytest.importorskip("PIL.Image")


def torch_make_grid(t, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
                    pad_value=0.0):
    """torchvision.utils.make_grid's steps with torch calls."""
    if t.dim() == 3:
        t = (torch.cat((t, t, t), 0) if t.size(0) == 1 else t).unsqueeze(0)
    if t.dim() == 4 and t.size(1) == 1:
        t = torch.cat((t, t, t), 1)
    if normalize:
        t = t.clone()

        def norm(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(x):
            norm(x, *(value_range if value_range is not None else (float(x.min()),
                                                                    float(x.max()))))
        for x in (t if scale_each else [t]):
            norm_range(x)
    if t.size(0) == 1:
        return t.squeeze(0)
    nmaps = t.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(t.size(2) + padding), int(t.size(3) + padding)
    grid = t.new_full((t.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(t[k])
            k += 1
    return grid


@pytest.mark.parametrize("shape,kw", [
    ((5, 3, 4, 6), {}), ((7, 1, 5, 5), dict(nrow=3, padding=1, pad_value=0.5)),
    ((4, 3, 2, 2), dict(normalize=True)), ((4, 3, 2, 2), dict(normalize=True, scale_each=True)),
    ((3, 2, 2), dict(normalize=True, value_range=(-1.0, 1.0))), ((1, 3, 4, 4), {})],
    ids=["plain", "grey-nrow", "normalize", "scale-each", "single-range", "one"])
def test_make_grid_is_torchvisions(shape, kw):
    x = torch.randn(*shape)
    got = utils.make_grid(tm.from_numpy(x.numpy().copy()), **kw)
    want = torch_make_grid(x, **kw)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        utils.make_grid(tm.zeros(2, 3, 2, 2), normalize=True, value_range=[0, 1])


def test_save_image_bytes_and_atomic_write(tmp_path):
    x = torch.rand(6, 3, 5, 4) * 1.2 - 0.1
    path = tmp_path / "grid.png"
    utils.save_image(tm.from_numpy(x.numpy().copy()), path, nrow=3)
    want = torch_make_grid(x, nrow=3).mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0) \
        .to(torch.uint8).numpy()
    with Image.open(path) as im:
        assert im.format == "PNG"
        np.testing.assert_array_equal(np.asarray(im), want)
    assert os.listdir(tmp_path) == ["grid.png"]
    with pytest.raises(ValueError, match="unknown file extension"):
        utils.save_image(tm.zeros(3, 2, 2), tmp_path / "grid.nope")
    assert os.listdir(tmp_path) == ["grid.png"]               # nothing half-written
