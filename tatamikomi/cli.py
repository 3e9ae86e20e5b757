"""`python -m tatamikomi VERB`: argparse only; each tools module brings its own options.

A mistake the user can fix (a missing file, a bad value, a folder that cannot be written) is a
UserError: main prints it as argparse prints its own errors, `tatamikomi VERB: error: ...`, and
exits 2, without a traceback.
"""
import argparse
import importlib
import pickle
import sys
import tempfile
from pathlib import Path

from .serialization import load

COMMANDS = {                        # verb -> module in tatamikomi.tools
    "train": "train",
    "demo": "demo",
    "summary": "summary",
    "explain": "explain",
    "bench": "bench",
    "draw": "draw",
    "warmup": "warmup",
}
# verb -> the tools module whose main runs it, where that is not the one with its options:
# train_ddp.main starts `train --nproc N`'s ranks, or calls train.main for one process
MAINS = {"train": "train_ddp"}


class UserError(Exception):
    """An error in the command line or its files: one message that names the file and the fix."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of a module docstring used as a verb's description."""


def positive(kind):
    """An argparse type: kind(text) > 0."""
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


non_negative.__name__ = "non-negative int"


def size(text):
    """An argparse type: "1,1,28,28" -> (1, 1, 28, 28), every size positive."""
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, e.g. 1,1,28,28; got {text!r}")
    return dims


size.__name__ = "size"


def load_file(path, option):
    """tatamikomi.load(path) for a command-line argument; each way it can fail is a UserError."""
    try:
        return load(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        raise UserError(f"{option}: cannot read {path}: {e.strerror}") from None
    except EOFError as e:
        raise UserError(f"{option}: {path} is cut short ({e}): it was not written completely. "
                        "Save it again, or pass another file.") from None
    except (RuntimeError, ValueError) as e:          # a damaged zip archive, as torch.load says
        raise UserError(f"{option}: {path} is cut short or damaged "
                        f"({str(e).split('. This is')[0]}): it was not written completely. "
                        "Save it again, or pass another file.") from None
    except pickle.UnpicklingError as e:
        reason = getattr(e, "reason", str(e).splitlines()[0])
        raise UserError(f"{option}: {path} was refused: {reason}\n"
                        "tatamikomi loads only tensors and plain data (dicts, lists, numbers) "
                        "from a file, never code. Use a state_dict saved with tatamikomi.save, or "
                        "`python -m tatamikomi train`'s checkpoint.pt.") from None


def writable_folder(path, what=None):
    """path as a folder this process can create files in (made if missing), before any work.

    what names it in the error, e.g. "--out runs/x/f.png" for that file's folder.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        why = "a file is in the way" if isinstance(e, (FileExistsError, NotADirectoryError)) \
            else e.strerror
        raise UserError(f"{what or f'--out {path}'}: cannot write in {folder} ({why}); pass a "
                        "folder you can write to.") from None
    return folder


def build_parser():
    """The parser of every verb; `parser.verbs` maps each verb to (its module, its parser)."""
    parser = argparse.ArgumentParser(prog="tatamikomi",
                                     description="Convolutional networks on NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.verbs = {}
    for verb, name in COMMANDS.items():
        module = importlib.import_module(f"tatamikomi.tools.{name}")
        doc = module.__doc__ or ""
        # argparse %-formats help strings: a literal % in a docstring must be doubled
        verb_parser = sub.add_parser(verb, help=doc.split("\n")[0].replace("%", "%%"),
                                     description=doc, formatter_class=HelpFormatter)
        module.add_arguments(verb_parser)
        parser.verbs[verb] = (module, verb_parser)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    module, verb_parser = parser.verbs[args.command]
    if args.command in MAINS:
        module = importlib.import_module(f"tatamikomi.tools.{MAINS[args.command]}")
    try:
        return module.main(args)
    except UserError as e:
        message = str(e)
    except OSError as e:                      # an --out or input path the system refused
        if e.filename is None:
            raise
        message = f"{e.filename}: {e.strerror}"
    print(f"{verb_parser.prog}: error: {message}", file=sys.stderr)
    return 2
