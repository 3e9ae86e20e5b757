"""kernels.fused per layer: ResNet-18 and MobileNetV2 conv shapes (224x224 input), eval.

For each layer: PyTorch's F.conv2d with the folded bias then the activation (and the residual
add) under no_grad; the plain path (the rules' kernel, then NumPy adds and the activation);
fused.forward (the kernel column: fused.choose's). Medians of --reps calls, ms, in one
process, --threads threads on each side, one side at a time.

    python benchmarks/fused.py --batch 1 --threads 2
    python benchmarks/fused.py --batch 64 --reps 3 --only resnet
"""
import argparse
import statistics
import time

import numpy as np

# (model, name, C, H, O, k, stride, groups, act, residual)
LAYERS = [
    ("resnet", "stem 7x7/2", 3, 224, 64, 7, 2, 1, "relu", False),
    ("resnet", "l1 3x3", 64, 56, 64, 3, 1, 1, "relu", True),
    ("resnet", "l2a 3x3/2", 64, 56, 128, 3, 2, 1, "relu", False),
    ("resnet", "l2 3x3", 128, 28, 128, 3, 1, 1, "relu", True),
    ("resnet", "l2 down 1x1/2", 64, 56, 128, 1, 2, 1, None, False),
    ("resnet", "l3a 3x3/2", 128, 28, 256, 3, 2, 1, "relu", False),
    ("resnet", "l3 3x3", 256, 14, 256, 3, 1, 1, "relu", True),
    ("resnet", "l4a 3x3/2", 256, 14, 512, 3, 2, 1, "relu", False),
    ("resnet", "l4 3x3", 512, 7, 512, 3, 1, 1, "relu", True),
    ("mobilenet", "stem 3x3/2", 3, 224, 32, 3, 2, 1, "relu6", False),
    ("mobilenet", "dw32 3x3", 32, 112, 32, 3, 1, 32, "relu6", False),
    ("mobilenet", "pw 16->96", 16, 112, 96, 1, 1, 1, "relu6", False),
    ("mobilenet", "dw96 3x3/2", 96, 112, 96, 3, 2, 96, "relu6", False),
    ("mobilenet", "pw 144->24 +r", 144, 56, 24, 1, 1, 1, None, True),
    ("mobilenet", "dw144 3x3", 144, 56, 144, 3, 1, 144, "relu6", False),
    ("mobilenet", "pw 32->192", 32, 28, 192, 1, 1, 1, "relu6", False),
    ("mobilenet", "dw384 3x3", 384, 14, 384, 3, 1, 384, "relu6", False),
    ("mobilenet", "pw 384->64 +r", 384, 14, 64, 1, 1, 1, None, True),
    ("mobilenet", "pw 160->960", 160, 7, 960, 1, 1, 1, "relu6", False),
    ("mobilenet", "dw960 3x3", 960, 7, 960, 3, 1, 960, "relu6", False),
    ("mobilenet", "pw 320->1280", 320, 7, 1280, 1, 1, 1, "relu6", False),
]


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def make_layer(layer, batch, rng):
    """(kernel name, torch call, plain call, fused call) for one layer of LAYERS."""
    import torch
    F = torch.nn.functional

    from tatamikomi import kernels
    from tatamikomi.kernels import ConvSpec, fused
    _, _, C, H, O, k, s, g, act, res = layer
    acts = {None: lambda t: t, "relu": F.relu, "relu6": F.relu6}
    np_acts = {None: lambda a: a, "relu": lambda a: np.maximum(a, 0),
               "relu6": lambda a: np.minimum(np.maximum(a, 0), 6)}
    p = k // 2
    spec = ConvSpec.make((batch, C, H, H), (O, C // g, k, k), (s, s), (p, p), (1, 1), g)
    x = rng.standard_normal(spec.x_shape, np.float32)
    w = rng.standard_normal(spec.w_shape, np.float32) * 0.1
    b = rng.standard_normal(O, np.float32)
    r = rng.standard_normal(spec.y_shape, np.float32) if res else None
    xt, wt, bt = map(torch.from_numpy, (x, w, b))
    rt = torch.from_numpy(r) if res else None

    def run_torch():
        with torch.no_grad():
            y = F.conv2d(xt, wt, bt, stride=s, padding=p, groups=g)
            return acts[act](y + rt if res else y)

    kernel = kernels.select(spec)

    def run_plain():
        y = kernel.forward(x, w, spec) + b.reshape(-1, 1, 1)
        return np_acts[act](y + r if res else y)

    packed = fused.pack(w, spec, b)
    return (fused.choose(spec).__name__.rsplit(".", 1)[-1], run_torch, run_plain,
            lambda: fused.forward(x, packed, spec, act, r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=0, help="default: 50 at batch 1, 5 above")
    ap.add_argument("--only", default="", help="resnet or mobilenet, or a layer name's start")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain path")
    args = ap.parse_args()
    import numba
    import torch
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    reps = args.reps or (50 if args.batch == 1 else 5)
    rng = np.random.default_rng(0)
    layers = [lay for lay in LAYERS
              if not args.only or args.only in (lay[0], lay[1][:len(args.only)])]
    made = [make_layer(layer, args.batch, rng) for layer in layers]
    # One side at a time, a pause between: each side's threads spin for a while after a call
    # (OpenMP, OpenBLAS), and on a 2-core machine they would take the other side's cores.
    times = []
    for side in (1, 2, 3):
        time.sleep(0.5)
        times.append([float("nan") if side == 2 and args.no_plain else median_ms(m[side], reps)
                      for m in made])
    print(f"batch {args.batch}, {args.threads} threads, float32, median of {reps}, ms")
    print(f"{'layer':<26}{'kernel':>10}{'torch':>9}{'plain':>9}{'fused':>9}{'f/torch':>9}")
    for layer, m, t_torch, t_plain, t_fused in zip(layers, made, *times):
        print(f"{layer[0][:3]} {layer[1]:<22}{m[0]:>10}{t_torch:9.3f}{t_plain:9.3f}"
              f"{t_fused:9.3f}{t_fused / t_torch:9.2f}")


if __name__ == "__main__":
    main()
