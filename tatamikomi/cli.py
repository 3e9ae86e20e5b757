"""`python -m tatamikomi VERB`: argparse only; each tools module brings its own options."""
import argparse
import importlib

COMMANDS = {                        # verb -> module in tatamikomi.tools
    "train": "train",
    "demo": "demo",
    "summary": "summary",
    "explain": "explain",
    "bench": "bench",
    "draw": "draw",
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tatamikomi",
                                     description="Convolutional networks on NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for verb, name in COMMANDS.items():
        modules[verb] = importlib.import_module(f"tatamikomi.tools.{name}")
        modules[verb].add_arguments(sub.add_parser(verb, help=modules[verb].__doc__))
    args = parser.parse_args(argv)
    return modules[args.command].main(args)
