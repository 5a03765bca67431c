#!/usr/bin/env python3
"""Independent verifier of a `garanti export` file, written from docs/FORMAT.md alone.

Usage: verify_export.py EXPORT.jsonl
Exit 0 and print the head when the chain holds; exit 1 naming the first bad seq otherwise.
Needs the `blake3` package from PyPI (pip install blake3).
"""
import json
import re
import sys
from datetime import datetime, timezone

import blake3

DOMAIN = b"garanti/ledger/record\x00"
FORMAT = b"\x01"
GENESIS = bytes(32)


class Bad(Exception):
    pass


class Reader:
    """Postcard decoding of one record (docs/FORMAT.md section 1)."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            raise Bad("record ends early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self, max_bytes, bits):
        value, shift = 0, 0
        for _ in range(max_bytes):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if value >> bits:
                    raise Bad("varint carries bits beyond its type")
                return value
            shift += 7
        raise Bad("varint too long")

    def u64(self):
        return self.varint(10, 64)

    def i64(self):
        z = self.varint(10, 64)
        return (z >> 1) ^ -(z & 1)

    def i32(self):
        z = self.varint(5, 32)
        return (z >> 1) ^ -(z & 1)

    def string(self):
        n = self.u64()
        if self.pos + n > len(self.data):
            raise Bad("string runs past the record")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def timestamp(self):
        return (self.i64(), self.i32())


def decode(data):
    r = Reader(data)
    rec = {
        "seq": r.u64(),
        "stream": r.string(),
        "stream_version": r.u64(),
        "appended_at": r.i64(),
        "appended_by": r.string(),
        "type": r.string(),
        "effective_at": r.timestamp(),
    }
    tag = r.byte()
    if tag == 0:
        rec["recorded_at"] = None
    elif tag == 1:
        rec["recorded_at"] = r.timestamp()
    else:
        raise Bad("bad option tag")
    rec["actor"] = r.string()
    rec["data"] = r.string()
    if r.pos != len(data):
        raise Bad(f"{len(data) - r.pos} bytes after the record")
    return rec


RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time(text):
    """RFC 3339 -> (unix nanoseconds, offset seconds), exactly."""
    m = RFC3339.match(text or "")
    if not m:
        raise Bad(f"not an RFC 3339 time: {text!r}")
    day, clock, frac, off = m.groups()
    if off in ("Z", "z"):
        offset = 0
    else:
        sign = -1 if off[0] == "-" else 1
        offset = sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    naive = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=timezone.utc)
    seconds = int(naive.timestamp()) - offset
    nanos = int((frac or "").ljust(9, "0"))
    return seconds * 1_000_000_000 + nanos, offset


def check_fields(line, rec):
    for key in ("stream", "stream_version", "type", "actor", "appended_by"):
        if line.get(key) != rec[key]:
            raise Bad(f"field {key} does not match the record bytes")
    if line.get("data") != json.loads(rec["data"]):
        raise Bad("field data does not match the record bytes")
    if parse_time(line.get("effective_at")) != rec["effective_at"]:
        raise Bad("field effective_at does not match the record bytes")
    if ("recorded_at" in line) != (rec["recorded_at"] is not None):
        raise Bad("field recorded_at does not match the record bytes")
    if rec["recorded_at"] is not None and parse_time(line["recorded_at"]) != rec["recorded_at"]:
        raise Bad("field recorded_at does not match the record bytes")
    if parse_time(line.get("appended_at"))[0] != rec["appended_at"]:
        raise Bad("field appended_at does not match the record bytes")


def check_canonical(rec):
    """Section 3, step 5: offsets RFC 3339 can write; data compact, keys sorted, none twice."""
    for key in ("effective_at", "recorded_at"):
        t = rec[key]
        if t is not None and (t[1] % 60 != 0 or abs(t[1]) >= 86400):
            raise Bad(f"the record's {key} has an offset RFC 3339 cannot write")

    def no_repeats(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise Bad("the record's data repeats a key")
        if keys != sorted(keys, key=lambda k: k.encode("utf-8")):
            raise Bad("the record's data is not written with its keys sorted")
        return dict(pairs)

    data = json.loads(rec["data"], object_pairs_hook=no_repeats)
    if not isinstance(data, dict):
        raise Bad("the record's data is not a JSON object")
    compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if not any(isinstance(v, float) for v in walk(data)) and compact != rec["data"]:
        raise Bad("the record's data is not written compactly")


def walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def hex32(line, key):
    text = line.get(key)
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-f]{64}", text):
        raise Bad(f"{key} is not 64 lower-case hex digits")
    return bytes.fromhex(text)


def verify(path):
    expected_seq, prev, count, ended, head = None, None, 0, False, None
    versions = {}
    with open(path, encoding="utf-8", newline="") as f:
        for number, text in enumerate(f, start=1):
            at = expected_seq if expected_seq is not None else 0
            try:
                if ended:
                    raise Bad("a line follows export_end")
                if text.endswith("\r\n"):
                    raise Bad("ends with CR LF; lines end with LF alone")
                if not text.strip():
                    raise Bad("a blank line")
                line = json.loads(text)
                if "export_end" in line:
                    end = line["export_end"]
                    if end.get("records") != count:
                        raise Bad(f"export_end says {end.get('records')} records, the file holds {count}")
                    if head and (end.get("last_seq"), end.get("last_hash")) != head:
                        raise Bad("export_end does not name the last record")
                    if head and (end.get("first_seq"), end.get("first_prev_hash")) != start:
                        raise Bad("export_end does not name the first record's seq and prev_hash")
                    ended = True
                    continue
                seq = line.get("seq")
                if not isinstance(seq, int):
                    raise Bad("seq missing")
                if expected_seq is None:
                    prev = GENESIS if seq == 0 else hex32(line, "prev_hash")
                    expected_seq = at = seq
                    start = (seq, prev.hex())
                if seq != expected_seq:
                    raise Bad(f"seq {seq} where {expected_seq} was expected")
                stored_prev = hex32(line, "prev_hash")
                if stored_prev != prev:
                    raise Bad("broken link: prev_hash is not the previous record's hash")
                record = bytes.fromhex(line.get("record", ""))
                digest = blake3.blake3(DOMAIN + FORMAT + stored_prev + record).digest()
                if digest != hex32(line, "hash"):
                    raise Bad("hash mismatch")
                rec = decode(record)
                if rec["seq"] != seq:
                    raise Bad(f"the record says it is seq {rec['seq']}")
                check_fields(line, rec)
                check_canonical(rec)
                last = versions.get(rec["stream"])
                want = last + 1 if last is not None else (1 if start[0] == 0 else None)
                if rec["stream_version"] == 0 or (want is not None and rec["stream_version"] != want):
                    raise Bad(f"stream {rec['stream']} is at version {rec['stream_version']}, not {want}")
                versions[rec["stream"]] = rec["stream_version"]
            except (Bad, ValueError, UnicodeDecodeError) as e:
                print(f"FAILED at seq {at}: line {number}: {e}")
                return 1
            prev, expected_seq, count = digest, seq + 1, count + 1
            head = (seq, digest.hex())
    if not ended:
        print(f"FAILED at seq {expected_seq or 0}: the file ends without export_end (cut off)")
        return 1
    if head:
        print(f"ok: {count} records; head seq {head[0]} hash {head[1]}")
    else:
        print("ok: no records")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(verify(sys.argv[1]))
