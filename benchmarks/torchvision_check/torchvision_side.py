"""On the device: torchvision's keys, shapes, counts, and float64 eval outputs."""
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from common import FORWARD, NAMES, SMALL, image, value

torch.set_num_threads(16)
out = {"versions": [torch.__version__, torchvision.__version__], "models": {}}
outs = {}
for name in NAMES:
    t = time.time()
    kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    m = torchvision.models.get_model(name, weights=None, **kw)
    sd = m.state_dict()
    out["models"][name] = {"keys": [[k, list(v.shape)] for k, v in sd.items()],
                           "params": sum(p.numel() for p in m.parameters())}
    if name in FORWARD:
        m = m.double().eval()
        m.load_state_dict({k: torch.from_numpy(np.asarray(value(k, tuple(v.shape)))).to(v.dtype)
                           for k, v in sd.items()})
        with torch.no_grad():
            y = m(torch.from_numpy(image(SMALL.get(name, 96))))
        outs[name] = y.numpy()
    print(name, round(time.time() - t, 1), flush=True)
json.dump(out, open(os.path.join(os.environ["OUT"], "keys.json"), "w"))
np.savez_compressed(os.path.join(os.environ["OUT"], "outputs.npz"), **outs)
