"""Atomic file writes: a temp file beside the target, fsync, then a rename over it."""
import contextlib
import os
import re
import secrets

TEMP_PREFIX = ".tmp-"                            # save()'s temp files: .tmp- and 8 characters
_TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}")    # (tempfile.mkstemp's alphabet, used before)


def _open_temp(folder):
    """A new file TEMP_PREFIX + 8 characters in folder, created 0666 less the umask."""
    while True:
        path = os.path.join(folder, TEMP_PREFIX + secrets.token_hex(4))
        try:
            # mode 0o666 through open(2), so the umask applies as for a plain open() (mkstemp
            # would make it 0600); O_EXCL: never another writer's file
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def write_atomic(path, write):
    """write(binary file) into a temp file, then rename it to path: readers see the old file
    or the whole new one, never a part; on any failure the temp file is removed."""
    path = os.fspath(path)
    tmp, fd = _open_temp(os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
