#!/usr/bin/env python3
"""An independent checker for vitrum's transparency formats, written from the
specifications (RFC 6962, c2sp.org/signed-note, tlog-checkpoint,
tlog-cosignature, tlog-tiles) and sharing no code with vitrum.

  tlog_check.py note NOTE VKEY           signature by VKEY verifies
  tlog_check.py cosig NOTE VKEY          cosignature (type 0x04) by VKEY verifies
  tlog_check.py tiles DIR VKEY [INDEX...]
      DIR holds tlog-tiles static files: the checkpoint verifies with VKEY;
      the entry bundles hash to the level-0 tiles; every higher tile hash is
      the tree hash of the full tile below; the tree of the leaves has the
      checkpoint's root; prints, for each INDEX, the inclusion proof computed
      from the tiles alone, in vitrum's proof file format.
  tlog_check.py acked DIR VKEY ACKED
      as tiles, and each line "INDEX BUNDLE" of ACKED names a vitrum bundle
      whose signed manifest is the log entry at INDEX.
Exit status 0 when everything checks, 1 otherwise (with the reason)."""
import base64
import hashlib
import os
import struct
import sys

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.exceptions import InvalidSignature
except ImportError:  # pragma: no cover
    Ed25519PublicKey = None


def fail(msg):
    print("tlog_check: " + msg, file=sys.stderr)
    sys.exit(1)


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return sha256(b"\x00" + d)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def mth(hashes):
    """RFC 6962 2.1 over already-hashed leaves."""
    if len(hashes) == 0:
        return sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(m, hashes):
    """RFC 6962 2.1.1 PATH(m, D[n])."""
    if len(hashes) <= 1:
        return []
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if m < k:
        return path(m, hashes[:k]) + [mth(hashes[k:])]
    return path(m - k, hashes[k:]) + [mth(hashes[:k])]


def parse_vkey(s):
    name, keyid, b64 = s.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33:
        fail("verifier key: bad length")
    want = sha256(name.encode() + b"\n" + raw)[:4]
    if want.hex() != keyid:
        fail("verifier key: key ID mismatch")
    return name, want, raw[0], raw[1:]


def parse_note(data):
    text_end = data.rfind(b"\n\n")
    if text_end < 0 or not data.endswith(b"\n"):
        fail("note: no blank line / final newline")
    text = data[: text_end + 1]
    sigs = []
    for line in data[text_end + 2 :].split(b"\n")[:-1]:
        if not line.startswith("\u2014 ".encode()):
            fail("note: bad signature line")
        name, b64 = line[4:].decode().split(" ")
        raw = base64.b64decode(b64, validate=True)
        sigs.append((name, raw[:4], raw[4:]))
    return text, sigs


def verify(pub, sig, msg):
    if Ed25519PublicKey is None:
        print("# python cryptography missing: signature not checked", file=sys.stderr)
        return
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except InvalidSignature:
        fail("signature does not verify")


def check_note(data, vkey, cosig=False):
    name, keyid, typ, pub = parse_vkey(vkey)
    if typ != (4 if cosig else 1):
        fail("verifier key of the wrong type")
    text, sigs = parse_note(data)
    found = False
    for n, kid, sig in sigs:
        if n != name or kid != keyid:
            continue
        found = True
        if cosig:
            (ts,) = struct.unpack(">Q", sig[:8])
            msg = b"cosignature/v1\ntime %d\n" % ts + text
            verify(pub, sig[8:], msg)
        else:
            verify(pub, sig, text)
    if not found:
        fail("no signature by " + name)
    return text


def tile_name(n):
    s = "%03d" % (n % 1000)
    n //= 1000
    while n:
        s = "x%03d/%s" % (n % 1000, s)
        n //= 1000
    return s


def read_tile(d, level, n, width):
    p = os.path.join(d, "tile", str(level), tile_name(n))
    if width != 256:
        p += ".p/%d" % width
    with open(p, "rb") as f:
        return f.read()


def check_tiles(d, vkey, indexes):
    with open(os.path.join(d, "checkpoint"), "rb") as f:
        text = check_note(f.read(), vkey)
    lines = text.decode().split("\n")
    size = int(lines[1])
    root = base64.b64decode(lines[2], validate=True)
    # level 0 tiles and entry bundles
    leaves, entries = [], []
    for t in range((size + 255) // 256):
        w = min(256, size - t * 256)
        tile = read_tile(d, 0, t, w)
        if len(tile) != 32 * w:
            fail("tile 0/%d: wrong length" % t)
        p = os.path.join(d, "tile", "entries", tile_name(t)) + ("" if w == 256 else ".p/%d" % w)
        with open(p, "rb") as f:
            b = f.read()
        off = 0
        for i in range(w):
            (n,) = struct.unpack(">H", b[off : off + 2])
            e = b[off + 2 : off + 2 + n]
            off += 2 + n
            entries.append(e)
            if leaf_hash(e) != tile[32 * i : 32 * i + 32]:
                fail("entry %d does not hash to its tile hash" % (t * 256 + i))
        if off != len(b):
            fail("entry bundle %d: trailing bytes" % t)
        leaves += [tile[32 * i : 32 * i + 32] for i in range(w)]
    # higher levels
    level, below = 1, leaves
    while size >> (8 * level):
        count = size >> (8 * level)
        row = []
        for t in range((count + 255) // 256):
            w = min(256, count - t * 256)
            tile = read_tile(d, level, t, w)
            for i in range(w):
                j = t * 256 + i
                if tile[32 * i : 32 * i + 32] != mth(below[256 * j : 256 * j + 256]):
                    fail("tile %d/%d hash %d is not the hash of the tile below" % (level, t, i))
                row.append(tile[32 * i : 32 * i + 32])
        below, level = row, level + 1
    if mth(leaves) != root:
        fail("the tiles do not hash to the checkpoint's root")
    for idx in indexes:
        print("vitrum-proof/v1")
        print("inclusion %d %d" % (idx, size))
        for h in path(idx, leaves):
            print(base64.b64encode(h).decode())
    return entries


def bundle_manifest(p):
    """The manifest section of a vitrum bundle (docs/TRANSPARENCY.md)."""
    with open(p, "rb") as f:
        b = f.read()
    if b[:8] != b"VTBUNDL1" or b[8] != 1:
        fail(p + ": not a bundle")
    (n,) = struct.unpack(">I", b[9:13])
    return b[13 : 13 + n]


def main():
    if len(sys.argv) < 4:
        fail(__doc__)
    cmd = sys.argv[1]
    if cmd in ("note", "cosig"):
        with open(sys.argv[2], "rb") as f:
            data = f.read()
        with open(sys.argv[3]) as f:
            vkey = f.read()
        check_note(data, vkey, cosig=(cmd == "cosig"))
    elif cmd == "tiles":
        with open(sys.argv[3]) as f:
            vkey = f.read()
        check_tiles(sys.argv[2], vkey, [int(x) for x in sys.argv[4:]])
    elif cmd == "acked" and len(sys.argv) == 5:
        with open(sys.argv[3]) as f:
            vkey = f.read()
        entries = check_tiles(sys.argv[2], vkey, [])
        with open(sys.argv[4]) as f:
            for line in f:
                idx, bundle = line.split()
                idx = int(idx)
                if idx >= len(entries) or entries[idx] != bundle_manifest(bundle):
                    fail("acknowledged entry %d (%s) is not in the log" % (idx, bundle))
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
