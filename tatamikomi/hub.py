"""torch.hub's weight cache: load_state_dict_from_url, download_url_to_file, get_dir, set_dir.

Files go where torch.hub puts them, so one cache serves both libraries: $TORCH_HOME/hub/
checkpoints (TORCH_HOME defaults to $XDG_CACHE_HOME/torch, else ~/.cache/torch). A download goes
through the datasets' downloader (vision.datasets.utils.fetch: atomic, errors collected), and
with check_hash the file's SHA-256 must start with the hex digits after the last '-' in its
name (resnet18-f37072fd.pth), as torch.hub checks them; a file that fails is never kept.
Unlike torch.hub, load_state_dict_from_url reads with weights_only=True by default: a state_dict
is data, and a downloaded file should not be able to run code.
"""
import hashlib
import os
import re
from urllib.parse import urlparse

from .serialization import load

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")        # torch.hub's: the hex after a '-'
_hub_dir = None


def _torch_home():
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.expanduser(os.getenv("TORCH_HOME", default))


def get_dir():
    """The hub folder: set_dir's, else $TORCH_HOME/hub."""
    return _hub_dir if _hub_dir is not None else os.path.join(_torch_home(), "hub")


def set_dir(d):
    """Use folder d as the hub folder from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Save url at dst; with hash_prefix, only if the file's SHA-256 starts with it."""
    from .vision.datasets.utils import fetch  # here: vision's builders import this module
    dst = os.path.expanduser(os.fspath(dst))
    folder, name = os.path.split(os.path.abspath(dst))
    partial = os.path.join(folder, f".{name}.unchecked")
    errors = fetch([url], None, partial)
    if errors:
        raise RuntimeError(
            f"Could not download {name} into {folder}: {'; '.join(errors)}\n"
            f"Without a network, copy {name} (from {url}) into {folder} yourself, or set "
            "TORCH_HOME to a folder whose hub/checkpoints holds it.")
    digest = _sha256(partial)
    if hash_prefix is not None and not digest.startswith(hash_prefix):
        os.unlink(partial)
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
    os.replace(partial, dst)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=True):
    """The object in the file at url, downloaded into the hub cache on first use."""
    model_dir = os.path.join(get_dir(), "checkpoints") if model_dir is None else model_dir
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):                  # (fetch says what it downloads)
        found = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached, found.group(1) if found else None, progress)
    return load(cached, map_location=map_location, weights_only=weights_only)
