"""The oracle: one einsum per kernel tap over a zero-padded input. Plain, slow, obviously right."""
import numpy as np

from .spec import ConvSpec


def supports(spec: ConvSpec) -> bool:
    """Every valid spec: this is the reference the other kernels are tested against."""
    return True


def _taps(spec):
    """Each kernel tap (i, j) with the rows and columns of the padded input it meets.

    Output pixel (oh, ow) reads padded pixel (oh * sh + i * dh, ow * sw + j * dw) through it.
    """
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    for i in range(spec.KH):
        for j in range(spec.KW):
            rows = slice(i * dh, i * dh + sh * (spec.OH - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (spec.OW - 1) + 1, sw)
            yield i, j, rows, cols


def _padded_shape(spec):
    pt, pb, pl, pr = spec.padding
    return (spec.N, spec.C, spec.H + pt + pb, spec.W + pl + pr)


def _by_group(a, G):
    """Split the channel axis into (group, channel in group).

    Shapes: (N, C, ...) -> (N, G, C // G, ...).
    """
    return a.reshape(a.shape[0], G, a.shape[1] // G, *a.shape[2:])


def forward(x, w, spec):
    """y[n, o] = sum over taps (i, j) and the group's channels c of w[o, c, i, j] * xpad[n, c, ...].

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW) -> y (N, O, OH, OW).
    """
    pt, pb, pl, pr = spec.padding
    G = spec.groups
    xp = _by_group(np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))), G)
    wg = w.reshape(G, spec.O // G, *w.shape[1:])                  # (G, O//G, C//G, KH, KW)
    y = np.zeros((spec.N, G, spec.O // G, spec.OH, spec.OW), x.dtype)
    for i, j, rows, cols in _taps(spec):
        y += np.einsum("ngchw,goc->ngohw", xp[..., rows, cols], wg[..., i, j])
    return y.reshape(spec.y_shape)


def grad_input(gy, w, spec):
    """Each tap scatters w^T @ gy back onto the input pixels it read; the padding is cut off.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, KH, KW) -> gx (N, C, H, W).
    """
    pt, _, pl, _ = spec.padding
    G = spec.groups
    gxp = np.zeros(_padded_shape(spec), gy.dtype)
    gxg, gyg = _by_group(gxp, G), _by_group(gy, G)
    wg = w.reshape(G, spec.O // G, *w.shape[1:])
    for i, j, rows, cols in _taps(spec):
        gxg[..., rows, cols] += np.einsum("ngohw,goc->ngchw", gyg, wg[..., i, j])
    return np.ascontiguousarray(gxp[:, :, pt:pt + spec.H, pl:pl + spec.W])


def grad_weight(x, gy, spec):
    """Each tap's weight gradient correlates gy with the input pixels that tap read.

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // groups, KH, KW).
    """
    pt, pb, pl, pr = spec.padding
    G = spec.groups
    xp = _by_group(np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))), G)
    gyg = _by_group(gy, G)
    gw = np.zeros((G, spec.O // G, spec.C // G, spec.KH, spec.KW), x.dtype)
    for i, j, rows, cols in _taps(spec):
        gw[..., i, j] = np.einsum("ngohw,ngchw->goc", gyg, xp[..., rows, cols])
    return gw.reshape(spec.w_shape)
