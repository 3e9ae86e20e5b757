"""Time the convs forward and forward+backward, tatamikomi vs PyTorch, in one run (2 threads each).

    python benchmarks/conv.py [--repeats 5] [--only resnet3x3] [--memory]

The same suite as `python -m tatamikomi bench` (conv2d; DCGAN's conv_transpose2d and audio
conv1d as classes dcgan and audio): per shape the kernel tatamikomi chose (for a transposed
conv, the kernel of the conv it is the gradient of), ms, GFLOP/s, % of NumPy's sgemm peak
measured in the same run, and the ratio ours/torch; geometric means per class and overall.
Medians over repeats; each library warms up first.
"""
import argparse

from tatamikomi.tools import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bench.add_arguments(parser)
    raise SystemExit(bench.main(parser.parse_args()))
