#!/usr/bin/env python3
"""Prints the character vectors stored in an R package's lazy-load data (data/Rdata.rdx + Rdata.rdb),
one file per object: OUT_DIR/NAME.txt with one element per line (NA elements left out).

R's lazy-load database: Rdata.rdx is a gzip file holding an R-serialized list whose "variables"
element maps each object name to (offset, length) in
Rdata.rdb, where each object is again a 4-byte length and a zlib stream of its serialization
(R's XDR format, versions 2 and 3). Only what character vectors need is read: other objects are
skipped with a note.

Usage: rdata_text.py PACKAGE_DATA_DIR OUT_DIR
"""
import gzip
import os
import struct
import sys
import zlib

NILVALUE, SYM, LIST, CHAR, LGL, INT, REAL, STR, VEC, REF = 254, 1, 2, 9, 10, 13, 14, 16, 19, 255


class Unserializer:
    def __init__(self, data):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.data, self.at, self.refs = data, 2, []
        version = self.int()
        self.int(), self.int()  # R version that wrote it, oldest that reads it
        if version == 3:
            length = self.int()  # then the native encoding's name
            self.at += length
        elif version != 2:
            raise ValueError(f"serialization version {version}")

    def int(self):
        (v,) = struct.unpack_from(">i", self.data, self.at)
        self.at += 4
        return v

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == NILVALUE:
            return None
        if kind == REF:
            return self.refs[(flags >> 8) - 1]
        if kind == SYM:
            name = self.item()
            self.refs.append(name)
            return name
        if kind == CHAR:
            n = self.int()
            if n == -1:
                return None
            s = self.data[self.at:self.at + n].decode("utf-8", errors="replace")
            self.at += n
            return s
        if kind == LIST:  # pairlist: attributes, tags
            out = []
            while kind == LIST:
                if has_attr:
                    self.item()
                tag = self.item() if has_tag else None
                out.append((tag, self.item()))
                flags = self.int()
                kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
            assert kind == NILVALUE
            return out
        n = self.int()
        if kind == STR:
            value = [self.item() for _ in range(n)]
        elif kind == VEC:
            value = [self.item() for _ in range(n)]
        elif kind in (LGL, INT):
            value = list(struct.unpack_from(f">{n}i", self.data, self.at))
            self.at += 4 * n
        elif kind == REAL:
            value = list(struct.unpack_from(f">{n}d", self.data, self.at))
            self.at += 8 * n
        else:
            raise ValueError(f"R object type {kind} not supported")
        attributes = dict(self.item()) if has_attr else {}
        if kind == VEC and "names" in attributes:
            return dict(zip(attributes["names"], value))
        return value


def unpack(blob):
    """A lazy-load record: 4-byte big-endian length, then zlib."""
    (length,) = struct.unpack_from(">I", blob, 0)
    data = zlib.decompress(blob[4:])
    if len(data) != length:
        raise ValueError("length mismatch in a lazy-load record")
    return Unserializer(data).item()


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    with gzip.open(os.path.join(data_dir, "Rdata.rdx"), "rb") as f:
        index = Unserializer(f.read()).item()
    with open(os.path.join(data_dir, "Rdata.rdb"), "rb") as f:
        rdb = f.read()
    os.makedirs(out_dir, exist_ok=True)
    for name, (offset, length) in sorted(index["variables"].items()):
        try:
            value = unpack(rdb[offset:offset + length])
        except ValueError as e:
            print(f"{name}: skipped ({e})", file=sys.stderr)
            continue
        if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
            print(f"{name}: skipped (not a character vector)", file=sys.stderr)
            continue
        with open(os.path.join(out_dir, name + ".txt"), "w", encoding="utf-8") as f:
            f.writelines(v + "\n" for v in value if v is not None)
        print(f"{name}: {len(value)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
