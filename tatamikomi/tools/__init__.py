"""Tools built on the library: model summaries, receptive fields, explanations, drawings,
training and benchmarks; each module is also a verb of `python -m tatamikomi`.

`from tatamikomi.tools import summary, receptive_field` (the torchinfo habit): `summary` is the
module `tatamikomi.tools.summary`, and calling it calls its `summary()` function.
"""
from . import summary
from .receptive import receptive_field

__all__ = ["receptive_field", "summary"]
