"""Downloads, md5 checks and archive extraction for the datasets, as torchvision.datasets.utils.

Extraction trusts nothing in an archive: only regular files and folders are written, each under
the destination folder (no absolute names, no `..`, no links or devices), each atomically.
"""
import contextlib
import gzip
import hashlib
import http.client
import os
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

CHECK_MD5 = "TATAMIKOMI_CHECK_MD5"     # "0": use files whose md5 differs (changed on purpose)
CHUNK = 1 << 20


def checking_md5():
    return os.environ.get(CHECK_MD5, "1") != "0"


def _md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def calculate_md5(fpath, chunk_size=CHUNK):
    digest = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(fpath, md5, **kwargs):
    """Whether the file's md5 is md5."""
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath, md5=None):
    """The file exists and, when md5 is given (and checks are on), has that md5."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or not checking_md5() or check_md5(fpath, md5)


def _iterable_to_str(iterable):
    return "'" + "', '".join(str(item) for item in iterable) + "'"


def verify_str_arg(value, arg=None, valid_values=None, custom_msg=None):
    """value itself when it is a str among valid_values; torchvision's ValueError otherwise."""
    if not isinstance(value, str):
        where = f" for argument {arg}" if arg is not None else ""
        raise ValueError(f"Expected type str{where}, but got type {type(value)}.")
    if valid_values is None or value in valid_values:
        return value
    raise ValueError(custom_msg or f"Unknown value '{value}' for argument {arg}. Valid values are "
                                   f"{{{_iterable_to_str(valid_values)}}}.")


def _write_atomic(dest, data):
    """Write dest so that readers see the old file or the whole new one, never a part."""
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _http_get(url, timeout):
    request = urllib.request.Request(url, headers={"User-Agent": "tatamikomi"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def fetch(urls, md5, dest, timeout=30):
    """Save the first of urls that serves bytes with md5 as dest; the errors of the others.

    An empty list means dest was written; nothing is written when every url failed.
    """
    errors = []
    for url in urls:
        print(f"Downloading {url}", file=sys.stderr)
        try:
            data = _http_get(url, timeout)
        except (OSError, ValueError, http.client.HTTPException) as e:   # dead, HTTP error
            errors.append(f"{url}: {e}")
            continue
        if md5 is not None and _md5(data) != md5:
            errors.append(f"{url}: md5 {_md5(data)} does not match {md5}")
            continue
        _write_atomic(dest, data)
        return []
    return errors


def download_url(url, root, filename=None, md5=None, timeout=30):
    """url saved as root/filename (default: the url's last part) unless a copy with md5 is
    there; a RuntimeError naming the url and the reason when it cannot be fetched."""
    root = Path(os.path.expanduser(root))
    dest = root / (filename or os.path.basename(url))
    if check_integrity(dest, md5):
        return dest
    root.mkdir(parents=True, exist_ok=True)
    errors = fetch([url], md5, dest, timeout)
    if errors:
        raise RuntimeError(f"Could not download {dest.name}:\n  " + "\n  ".join(errors))
    return dest


def _member_path(archive, name, dest):
    """dest/name, refused unless name is a plain relative path that stays inside dest."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or "\\" in name \
            or ":" in parts[0]:
        raise RuntimeError(f"{archive}: refusing to extract {name!r}: its path leaves the "
                           f"destination folder")
    path = dest.joinpath(*parts)
    # a folder already on disk may be a link out of dest: resolve what exists and compare
    if not path.resolve().is_relative_to(dest.resolve()):
        raise RuntimeError(f"{archive}: refusing to extract {name!r}: {path} resolves outside "
                           f"{dest}")
    return path


def _extract_tar(archive, dest, members=None):
    written = []
    with tarfile.open(archive, "r:*") as tar:
        for m in tar:
            if members is not None and m.name not in members:
                continue
            path = _member_path(archive, m.name, dest)
            if m.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            if not m.isfile():
                kind = "link" if m.issym() or m.islnk() else "special file"
                raise RuntimeError(f"{archive}: refusing to extract {m.name!r}: a {kind}; "
                                   "only regular files and folders are extracted")
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, tar.extractfile(m).read())
            written.append(path)
    return written


def _extract_zip(archive, dest, members=None):
    written = []
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            if members is not None and info.filename not in members:
                continue
            path = _member_path(archive, info.filename, dest)
            mode = info.external_attr >> 16
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            if mode and (mode & 0o170000) not in (0, 0o100000):     # a link or device
                raise RuntimeError(f"{archive}: refusing to extract {info.filename!r}: not a "
                                   "regular file")
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, z.read(info))
            written.append(path)
    return written


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Unpack a .tar(.gz/.bz2/.xz), .tgz, .zip or a single .gz into to_path (default: its folder).

    Returns to_path. Unsafe members (see the module docstring) raise RuntimeError.
    """
    from_path = Path(from_path)
    dest = Path(to_path) if to_path is not None else from_path.parent
    dest.mkdir(parents=True, exist_ok=True)
    name = from_path.name.lower()
    if zipfile.is_zipfile(from_path):
        _extract_zip(from_path, dest)
    elif name.endswith(".gz") and not name.endswith((".tar.gz", ".tgz")):
        with gzip.open(from_path, "rb") as f:
            _write_atomic(dest / from_path.name[:-3], f.read())
    else:
        try:
            _extract_tar(from_path, dest)
        except tarfile.ReadError as e:
            raise RuntimeError(f"{from_path}: not a tar, zip or gzip archive ({e})") from None
    if remove_finished:
        os.remove(from_path)
    return str(dest)


def download_and_extract_archive(url, download_root, extract_root=None, filename=None,
                                 md5=None, remove_finished=False):
    archive = download_url(url, download_root, filename, md5)
    return extract_archive(archive, extract_root or download_root, remove_finished)
