"""Compare vision.models with torchvision's own, from what torchvision_side.py wrote.

torchvision does not install beside torch 2.13 here; a machine that has it (the lent GPU
machine has torch and torchvision) runs torchvision_side.py with $OUT set, and this script reads
its keys.json and outputs.npz: every builder's state_dict keys, shapes and order and parameter
count, and float64 eval outputs of 17 models whose parameters both sides make from the key
names alone (common.value), so no weights need to travel.

    python benchmarks/torchvision_check/ours_side.py DIR_WITH_keys.json_AND_outputs.npz
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import FORWARD, NAMES, SMALL, image, value

import tatamikomi as tm  # before NumPy's threads start, as the package asks
from tatamikomi.vision import models


def main(folder):
    theirs = json.load(open(os.path.join(folder, "keys.json")))
    outs = np.load(os.path.join(folder, "outputs.npz"))
    bad = 0
    for name in NAMES:
        kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
        m = models.get_model(name, weights=None, **kw)
        sd = m.state_dict()
        keys = [[k, list(v.shape)] for k, v in sd.items()]
        same = keys == theirs["models"][name]["keys"]
        count = sum(p.numel() for p in m.parameters()) == theirs["models"][name]["params"]
        line = f"{name:20s} keys {'ok' if same else 'DIFFER'} params {'ok' if count else 'DIFFER'}"
        if name in FORWARD:
            m = m.double().eval()
            m.load_state_dict({k: tm.tensor(np.asarray(value(k, tuple(v.shape))), dtype=v.dtype)
                               for k, v in sd.items()})
            with tm.no_grad():
                y = m(tm.tensor(image(SMALL.get(name, 96)))).numpy()
            err = np.abs(y - outs[name]).max() / max(np.abs(outs[name]).max(), 1e-30)
            line += f" output rel err {err:.1e}"
            same = same and err < 1e-10
        bad += not (same and count)
        print(line)
    print(f"versions there: torch {theirs['versions'][0]}, torchvision {theirs['versions'][1]}; "
          f"{bad} of {len(NAMES)} builders differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
