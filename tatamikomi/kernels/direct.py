"""The oracle: an einsum per kernel tap over the pixels it reaches. Plain, slow, obviously right."""
import numpy as np

from .spec import ConvSpec


def supports(spec: ConvSpec) -> bool:
    """Every valid spec: this is the reference the other kernels are tested against."""
    return True


def _taps(spec):
    """Each kernel tap (i, j) with the outputs that read x through it, and the pixels they read.

    Output (oh, ow) reads x[oh*sh + i*dh - pt, ow*sw + j*dw - pl] through tap (i, j); an output
    whose read lands in the padding takes nothing from that tap. So padding adds exactly nothing,
    even where w or gy is NaN or infinite (a zero times those would be NaN), as in PyTorch's
    float32 CPU convolution. Yields i, j, (output rows, cols), (input rows, cols) as slices.
    """
    (sh, sw), (dh, dw), (pt, _, pl, _) = spec.stride, spec.dilation, spec.padding
    for i in range(spec.KH):
        rows_out, rows_in = _reach(spec.OH, spec.H, pt, i * dh, sh)
        for j in range(spec.KW):
            cols_out, cols_in = _reach(spec.OW, spec.W, pl, j * dw, sw)
            yield i, j, (rows_out, cols_out), (rows_in, cols_in)


def _reach(n_out, n_in, pad, offset, step):
    """Along one axis: the outputs o whose input o*step + offset - pad lies in [0, n_in), and
    those inputs, as two slices of equal length."""
    lo = max(0, -(-(pad - offset) // step))                  # the first o reading index >= 0
    hi = max(lo, min(n_out, -(-(n_in + pad - offset) // step)))
    first = lo * step + offset - pad
    return slice(lo, hi), slice(first, first + step * (hi - lo), step)


def _by_group(a, G):
    """Split the channel axis into (group, channel in group).

    Shapes: (N, C, ...) -> (N, G, C // G, ...).
    """
    return a.reshape(a.shape[0], G, a.shape[1] // G, *a.shape[2:])


def forward(x, w, spec):
    """y[n, o] = sum over taps (i, j) and the group's channels c of w[o, c, i, j] times the
    pixels of x[n, c] the tap reaches.

    Shapes: x (N, C, H, W), w (O, C // groups, KH, KW) -> y (N, O, OH, OW).
    """
    G = spec.groups
    xg, wg = _by_group(x, G), w.reshape(G, spec.O // G, *w.shape[1:])  # wg (G, O//G, C//G, ..)
    y = np.zeros((spec.N, G, spec.O // G, spec.OH, spec.OW), x.dtype)
    for i, j, out, inp in _taps(spec):
        y[..., out[0], out[1]] += np.einsum("ngchw,goc->ngohw", xg[..., inp[0], inp[1]],
                                            wg[..., i, j])
    return y.reshape(spec.y_shape)


def grad_input(gy, w, spec):
    """Each tap scatters w^T @ gy back onto the pixels it read.

    Shapes: gy (N, O, OH, OW), w (O, C // groups, KH, KW) -> gx (N, C, H, W).
    """
    G = spec.groups
    gx = np.zeros(spec.x_shape, gy.dtype)
    gxg, gyg = _by_group(gx, G), _by_group(gy, G)
    wg = w.reshape(G, spec.O // G, *w.shape[1:])
    for i, j, out, inp in _taps(spec):
        gxg[..., inp[0], inp[1]] += np.einsum("ngohw,goc->ngchw", gyg[..., out[0], out[1]],
                                              wg[..., i, j])
    return gx


def grad_weight(x, gy, spec):
    """Each tap's weight gradient correlates gy with the pixels that tap read.

    Shapes: x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C // groups, KH, KW).
    """
    G = spec.groups
    xg, gyg = _by_group(x, G), _by_group(gy, G)
    gw = np.zeros((G, spec.O // G, spec.C // G, spec.KH, spec.KW), x.dtype)
    for i, j, out, inp in _taps(spec):
        gw[..., i, j] = np.einsum("ngohw,ngchw->goc", gyg[..., out[0], out[1]],
                                  xg[..., inp[0], inp[1]])
    return gw.reshape(spec.w_shape)
