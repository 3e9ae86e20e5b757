"""PyTorch's zip container, read and written here: stored entries, data aligned to 64 bytes.

torch.save writes, through miniz, `NAME/data.pkl`, `NAME/data/<key>` (one per storage),
`NAME/byteorder`, `NAME/version` and a few small records, all stored (never compressed). Each
local header carries an "FB" extra field of 'Z' padding so that the data starts on a multiple of
64 bytes (mmap wants aligned storages), sizes and CRC follow the data in a data descriptor, and
the archive ends with zip64 records. ZipWriter lays entries out byte for byte as miniz does (a
test compares with torch.save), so torch's own offset arithmetic for mmap holds for our files.

ZipReader trusts nothing: the central directory must lie inside the file, every entry must be
stored, no two entries may overlap (an overlap is how "zip bombs" multiply one byte into many),
and a record is read only with the size its entry states, which the file must hold.
"""
import struct
import zlib

ALIGNMENT = 64
_LOCAL, _CENTRAL, _DESCRIPTOR = b"PK\x03\x04", b"PK\x01\x02", b"PK\x07\x08"
_END, _END64, _LOCATOR64 = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_MAX32, _MAX16 = 0xFFFFFFFF, 0xFFFF
MAX_VERSION = 10                 # the newest archive version torch 2.13 reads
CORRUPT = (". This is an internal miniz error. If you are seeing this error, there is a high "
           "likelihood that your checkpoint file is corrupted. This can happen if the "
           "checkpoint was not saved properly, was transferred incorrectly, or the file was "
           "modified after saving.")


def _fail(what):
    """torch's RuntimeError for an archive it cannot read (its words, then the reason)."""
    return RuntimeError(f"PytorchStreamReader failed {what}{CORRUPT}")


def is_zip(f):
    """Whether f (at its position) starts a zip archive; the position is kept."""
    at = f.tell()
    magic = f.read(4)
    f.seek(at)
    return magic == _LOCAL


class ZipReader:
    """The records of one archive in f, which starts at f's position; read(name), offset(name).

    Shapes: none; records are bytes.
    """

    def __init__(self, f):
        self.f, self.base = f, f.tell()
        self.end = f.seek(0, 2)
        count, cd_size, cd_at = self._directory()
        self.entries = self._entries(count, cd_size, cd_at)
        self._check_layout(cd_at)
        first = next(iter(self.entries), "")
        if "/" not in first:
            raise _fail(f"reading zip archive: file in archive is not in a subdirectory: "
                        f"{first}")
        self.prefix = first.split("/", 1)[0] + "/"

    # ----- the directory
    def _read_at(self, at, n):
        if at < self.base or n < 0 or at + n > self.end:
            raise _fail("reading zip archive: an entry points outside the file")
        self.f.seek(at)
        data = self.f.read(n)
        if len(data) != n:
            raise _fail("reading zip archive: the file ended early")
        return data

    def _directory(self):
        """(entry count, central directory size, its absolute position)."""
        if self.end - self.base < 22:                # not even an end record
            raise _fail("reading zip archive: not a ZIP archive")
        tail_at = max(self.base, self.end - (22 + _MAX16))
        tail = self._read_at(tail_at, self.end - tail_at)
        i = len(tail)
        while True:                  # the last end record whose comment reaches the file's end
            i = tail.rfind(_END, 0, i)
            if i < 0 or len(tail) - i < 22:
                raise _fail("reading zip archive: failed finding central directory")
            if struct.unpack_from("<H", tail, i + 20)[0] == len(tail) - i - 22:
                break
        count, cd_size, cd_at = struct.unpack_from("<HII", tail, i + 10)
        locator = tail_at + i - 20
        if locator >= self.base and self._read_at(locator, 4) == _LOCATOR64:
            at64 = struct.unpack("<Q", self._read_at(locator + 8, 8))[0]
            record = self._read_at(self.base + at64, 56)
            if record[:4] != _END64:
                raise _fail("reading zip archive: invalid zip64 end of central directory")
            count, cd_size, cd_at = struct.unpack_from("<QQQ", record, 32)
        if self.base + cd_at + cd_size > self.end or count > cd_size // 46:
            raise _fail("reading zip archive: failed finding central directory")
        return count, cd_size, self.base + cd_at

    def _entries(self, count, cd_size, cd_at):
        """name -> (data position, size, crc), from the central directory and local headers."""
        cd, entries, pos = self._read_at(cd_at, cd_size), {}, 0
        for _ in range(count):
            if cd[pos:pos + 4] != _CENTRAL or pos + 46 > len(cd):
                raise _fail("reading zip archive: invalid header or archive is corrupted")
            (flags, method, crc, csize, size, nlen, elen, clen,
             local) = struct.unpack_from("<8xHH4xIIIHHH8xI", cd, pos)
            name_end = pos + 46 + nlen
            raw, extra = cd[pos + 46:name_end], cd[name_end:name_end + elen]
            if name_end + elen + clen > len(cd):
                raise _fail("reading zip archive: invalid header or archive is corrupted")
            pos = name_end + elen + clen
            size, csize, local = _zip64(extra, size, csize, local)
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _fail("reading zip archive: an entry's name is not UTF-8") from None
            if flags & 1 or method != 0 or csize != size:
                raise _fail(f"reading file {name}: the entry is compressed or encrypted; "
                            "torch.save stores every entry as it is")
            if name in entries:
                raise _fail(f"reading zip archive: two entries are named {name}")
            head = self._read_at(self.base + local, 30)
            nlen2, elen2 = struct.unpack_from("<HH", head, 26)
            if head[:4] != _LOCAL or self._read_at(self.base + local + 30, nlen2) != raw:
                raise _fail(f"reading file {name}: invalid header or archive is corrupted")
            entries[name] = (self.base + local, self.base + local + 30 + nlen2 + elen2, size,
                             crc)
        return entries

    def _check_layout(self, cd_at):
        """Each entry's header and data lie before the directory and apart from the others."""
        spans = sorted((head, data + size) for head, data, size, _ in self.entries.values())
        for (_, end), (next_head, _) in zip(spans, spans[1:] + [(cd_at, 0)]):
            if end > next_head:
                raise _fail("reading zip archive: entries overlap (the sizes are forged)")

    # ----- records
    def has(self, name):
        return self.prefix + name in self.entries

    def names(self):
        return [n[len(self.prefix):] for n in self.entries if n.startswith(self.prefix)]

    def _entry(self, name):
        try:
            return self.entries[self.prefix + name]
        except KeyError:
            raise _fail(f"locating file {name}: file not found") from None

    def size(self, name):
        return self._entry(name)[2]

    def offset(self, name):
        """Where the record's bytes start in the file (for mmap)."""
        return self._entry(name)[1]

    def read(self, name, check_crc=True):
        _, at, size, crc = self._entry(name)
        data = bytearray(self._read_at(at, size))
        if check_crc and zlib.crc32(data) != crc:
            raise _fail(f"reading file {name}: CRC-32 check failed")
        return data

    def version(self):
        """The archive format version, checked as torch checks it."""
        name = "version" if self.has("version") else ".data/version"
        if not self.has(name):
            raise RuntimeError('Expected hasRecord("version") to be true, but got false.  '
                               "(Could this error message be improved?  If so, please report "
                               "an enhancement request to PyTorch.)")
        text = bytes(self.read(name)).strip()
        if not text.isdigit():
            raise _fail(f"reading file {name}: invalid header or archive is corrupted")
        version = int(text)
        if version > MAX_VERSION:
            raise RuntimeError(
                f"Attempted to read a PyTorch file with version {version}, but the maximum "
                f"supported version for reading is {MAX_VERSION}. The version of your PyTorch "
                "installation may be too old, please upgrade PyTorch to latest version to "
                "mitigate this issue.")
        return version


def _zip64(extra, size, csize, local):
    """The 64-bit values a zip64 extra field gives for those whose 32-bit field is all ones."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, n = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            values = extra[pos + 4:pos + 4 + n]
            fields = [size, csize, local]
            at = 0
            for i, v in enumerate(fields):
                if v == _MAX32:
                    if at + 8 > len(values):
                        raise _fail("reading zip archive: a zip64 extra field is too short")
                    fields[i] = struct.unpack_from("<Q", values, at)[0]
                    at += 8
            return tuple(fields)
        pos += 4 + n
    return size, csize, local


class ZipWriter:
    """Writes records to out as miniz does for torch.save; finish() writes the directory."""

    def __init__(self, out, archive):
        self.out, self.archive, self.pos, self.central = out, archive, 0, []

    def _put(self, data):
        self.out.write(data)
        self.pos += len(data)

    def write_record(self, name, data):
        """One stored entry ARCHIVE/name holding data (bytes or a buffer of bytes)."""
        data = memoryview(data).cast("B")
        full = f"{self.archive}/{name}".encode("utf-8")
        local, size, crc = self.pos, len(data), zlib.crc32(data)
        pad = -(local + 30 + len(full) + 4) % ALIGNMENT
        extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = 0x0808 if size else 0x0800        # data descriptor follows; UTF-8 names
        self._put(_LOCAL + struct.pack("<HHHHHIIIHH", 0, flags, 0, 0, 0, 0, 0, 0, len(full),
                                       len(extra)) + full + extra)
        self._put(data)
        big = local >= _MAX32 or size >= _MAX32
        if size:
            sizes = struct.pack("<QQ" if big else "<II", size, size)
            self._put(_DESCRIPTOR + struct.pack("<I", crc) + sizes)
        self.central.append((full, flags, crc, size, local))

    def finish(self):
        """The central directory and the (zip64) end records."""
        cd_at = self.pos
        for full, flags, crc, size, local in self.central:
            wide = [v for v in (size, size, local) if v >= _MAX32]
            extra = struct.pack("<HH", 1, 8 * len(wide)) + b"".join(
                struct.pack("<Q", v) for v in wide) if wide else b""
            s32, l32 = min(size, _MAX32), min(local, _MAX32)
            self._put(_CENTRAL + struct.pack("<HHHHHHIIIHHHHHII", 0, 0, flags, 0, 0, 0, crc,
                                             s32, s32, len(full), len(extra), 0, 0, 0, 0, l32)
                      + full + extra)
        n, cd_size, end64 = len(self.central), self.pos - cd_at, self.pos
        self._put(_END64 + struct.pack("<QHHIIQQQQ", 44, 0x031E, 0x2D, 0, 0, n, n, cd_size,
                                       cd_at))
        self._put(_LOCATOR64 + struct.pack("<IQI", 0, end64, 1))
        self._put(_END + struct.pack("<HHHHIIH", 0, 0, min(n, _MAX16), min(n, _MAX16),
                                     min(cd_size, _MAX32), min(cd_at, _MAX32), 0))
