"""save/load: pickle tensors (as NumPy arrays) and state dicts, written atomically."""
import os
import pickle
import tempfile


def save(obj, f):
    """Pickle obj to a path (atomically: a temp file, then a rename) or to an open file."""
    if hasattr(f, "write"):
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)          # readers see the old file or the new one, never half
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(f, map_location=None, weights_only=None):
    """Unpickle what save() wrote (only load files you trust: pickle runs code)."""
    if hasattr(f, "read"):
        return pickle.load(f)
    with open(f, "rb") as src:
        return pickle.load(src)
