#!/usr/bin/env python3
"""session_raw.py - hand-made session commands for test_sessions.sh.

Each case starts what it needs (unsalted, unbound sessions, whose HMAC key
is empty, so no HMAC need be computed; or keys made with CreatePrimary),
sends one command and prints the response code of the command under test
as 0x%08x, or "ok" / "bad: why" for the round-trip cases.  It flushes what
it made.  Standard library only (AES-CFB through the openssl command).

  session_raw.py --proto mssim|raw --port N CASE
"""

import argparse
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys

ST_NO = 0x8001
ST_S = 0x8002
RH_NULL = 0x40000007
RH_OWNER = 0x40000001
RS_PW = 0x40000009
ALG_NULL, ALG_SHA256, ALG_AES, ALG_XOR, ALG_CFB, ALG_CBC = 0x10, 0x0B, 0x06, 0x0A, 0x43, 0x42
SE_HMAC = 0
CONT, DEC, ENC, AUDIT = 0x01, 0x20, 0x40, 0x80
CC_START, CC_HASH, CC_GETRANDOM, CC_PCR_EVENT = 0x176, 0x17D, 0x17B, 0x13C
CC_STIR, CC_FLUSH, CC_CREATE_PRIMARY = 0x146, 0x165, 0x131


class Tpm:
    def __init__(self, proto, port):
        self.proto = proto
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)

    def _recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("connection closed")
            b += c
        return b

    def send(self, cmd):
        if self.proto == "mssim":
            self.s.sendall(struct.pack(">IBI", 8, 0, len(cmd)) + cmd)
            n = struct.unpack(">I", self._recv(4))[0]
            rsp = self._recv(n)
            self._recv(4)
        else:
            self.s.sendall(cmd)
            hdr = self._recv(10)
            n = struct.unpack(">I", hdr[2:6])[0]
            rsp = hdr + self._recv(n - 10)
        return struct.unpack(">I", rsp[6:10])[0], rsp

    def command(self, cc, handles=(), sessions=None, params=b""):
        body = b"".join(struct.pack(">I", h) for h in handles)
        if sessions is None:
            tag = ST_NO
        else:
            tag = ST_S
            area = b"".join(struct.pack(">IH", h, len(n)) + n + bytes([a]) + struct.pack(">H", len(m)) + m
                            for (h, n, a, m) in sessions)
            body += struct.pack(">I", len(area)) + area
        body += params
        return self.send(struct.pack(">HII", tag, 10 + len(body), cc) + body)


def b2(x):
    return struct.pack(">H", len(x)) + x


def kdfa(key, label, u, v, bits):
    out, i = b"", 1
    while len(out) * 8 < bits:
        out += hmac.new(key, struct.pack(">I", i) + label + b"\0" + u + v + struct.pack(">I", bits),
                        hashlib.sha256).digest()
        i += 1
    return out[:(bits + 7) // 8]


def aes_cfb(key, iv, data, decrypt):
    args = ["openssl", "enc", "-aes-%d-cfb" % (8 * len(key)), "-K", key.hex(), "-iv", iv.hex(), "-nopad"]
    if decrypt:
        args.append("-d")
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def start(t, sym=(ALG_AES, 128, ALG_CFB), tpmkey=RH_NULL, salt=b"", nonce=None):
    nonce = nonce or os.urandom(16)
    if sym[0] == ALG_NULL:
        symb = struct.pack(">H", ALG_NULL)
    elif sym[0] == ALG_XOR:
        symb = struct.pack(">HH", ALG_XOR, sym[1])
    else:
        symb = struct.pack(">HHH", *sym)
    rc, rsp = t.command(CC_START, (tpmkey, RH_NULL), None,
                        b2(nonce) + b2(salt) + bytes([SE_HMAC]) + symb + struct.pack(">H", ALG_SHA256))
    if rc:
        return rc, None, None
    h = struct.unpack(">I", rsp[10:14])[0]
    n = struct.unpack(">H", rsp[14:16])[0]
    return 0, h, rsp[16:16 + n]


def flush(t, h):
    t.command(CC_FLUSH, (), None, struct.pack(">I", h))


def primary(t, attrs, storage):
    sym = struct.pack(">HHH", ALG_AES, 128, ALG_CFB) if storage else struct.pack(">H", ALG_NULL)
    scheme = struct.pack(">H", ALG_NULL) if storage else struct.pack(">HH", 0x18, ALG_SHA256)
    pub = (struct.pack(">HHI", 0x23, ALG_SHA256, attrs) + b2(b"") + sym + scheme +
           struct.pack(">HH", 3, ALG_NULL) + b2(b"") + b2(b""))
    rc, rsp = t.command(CC_CREATE_PRIMARY, (RH_OWNER,), [(RS_PW, b"", CONT, b"")],
                        b2(b2(b"") + b2(b"")) + b2(pub) + b2(b"") + struct.pack(">I", 0))
    if rc:
        raise RuntimeError("CreatePrimary: 0x%x" % rc)
    return struct.unpack(">I", rsp[10:14])[0]


def hash_params(data):
    return b2(data) + struct.pack(">HI", ALG_SHA256, RH_NULL)


def roundtrip(t, sym):
    """Hash with an unkeyed (empty sessionKey) session that decrypts the
    data and encrypts the digest; both sides computed here."""
    rc, h, ntpm = start(t, sym)
    if rc:
        return "bad: StartAuthSession 0x%x" % rc
    data = os.urandom(40)
    nc = os.urandom(16)
    if sym[0] == ALG_XOR:
        mask = kdfa(b"", b"XOR", nc, ntpm, 8 * len(data))
        enc = bytes(a ^ b for a, b in zip(data, mask))
    else:
        k = kdfa(b"", b"CFB", nc, ntpm, sym[1] + 128)
        enc = aes_cfb(k[:sym[1] // 8], k[sym[1] // 8:], data, False)
    rc, rsp = t.command(CC_HASH, (), [(h, nc, CONT | DEC | ENC, b"")], hash_params(enc))
    if rc:
        flush(t, h)
        return "bad: Hash 0x%x" % rc
    psize = struct.unpack(">I", rsp[10:14])[0]
    params = rsp[14:14 + psize]
    auth = rsp[14 + psize:]
    n = struct.unpack(">H", params[0:2])[0]
    out = params[2:2 + n]
    nn = struct.unpack(">H", auth[0:2])[0]
    ntpm2 = auth[2:2 + nn]
    if ntpm2 == ntpm:
        flush(t, h)
        return "bad: nonceTPM did not change"
    if sym[0] == ALG_XOR:
        mask = kdfa(b"", b"XOR", ntpm2, nc, 8 * len(out))
        plain = bytes(a ^ b for a, b in zip(out, mask))
    else:
        k = kdfa(b"", b"CFB", ntpm2, nc, sym[1] + 128)
        plain = aes_cfb(k[:sym[1] // 8], k[sym[1] // 8:], out, True)
    flush(t, h)
    if plain != hashlib.sha256(data).digest():
        return "bad: digest %s" % plain.hex()
    if out == plain:
        return "bad: the response was not encrypted"
    return "ok"


def case(t, name):
    ev = b2(b"event") 
    if name == "badhmac":
        rc, h, _ = start(t)
        rc, _ = t.command(CC_PCR_EVENT, (16,), [(h, os.urandom(16), CONT, b"\1" * 32)], ev)
        flush(t, h)
        return "0x%08x" % rc
    if name == "twice":
        rc, h, _ = start(t)
        rc, _ = t.command(CC_PCR_EVENT, (16,), [(h, os.urandom(16), CONT, b""), (h, os.urandom(16), CONT | ENC, b"")], ev)
        flush(t, h)
        return "0x%08x" % rc
    if name == "decnot2b":
        rc, h, _ = start(t)
        rc, _ = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | DEC, b"")], struct.pack(">H", 8))
        flush(t, h)
        return "0x%08x" % rc
    if name == "encnot2b":
        rc, h, _ = start(t)
        rc, _ = t.command(CC_STIR, (), [(h, os.urandom(16), CONT | ENC, b"")], b2(b"abc"))
        flush(t, h)
        return "0x%08x" % rc
    if name == "idle":
        rc, h, _ = start(t)
        rc, _ = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT, b"")], struct.pack(">H", 8))
        flush(t, h)
        return "0x%08x" % rc
    if name == "twodec":
        _, h1, _ = start(t)
        _, h2, _ = start(t)
        rc, _ = t.command(CC_HASH, (), [(h1, os.urandom(16), CONT | DEC, b""), (h2, os.urandom(16), CONT | DEC, b"")],
                          hash_params(b"abc"))
        flush(t, h1)
        flush(t, h2)
        return "0x%08x" % rc
    if name == "nosym":
        rc, h, _ = start(t, (ALG_NULL,))
        rc, _ = t.command(CC_HASH, (), [(h, os.urandom(16), CONT | DEC, b"")], hash_params(b"abc"))
        flush(t, h)
        return "0x%08x" % rc
    if name == "decsize":
        rc, h, _ = start(t)
        rc, _ = t.command(CC_HASH, (), [(h, os.urandom(16), CONT | DEC, b"")],
                          struct.pack(">H", 200) + b"abc" + struct.pack(">HI", ALG_SHA256, RH_NULL))
        flush(t, h)
        return "0x%08x" % rc
    if name == "salt_nokey":
        rc, h, _ = start(t, salt=os.urandom(16))
        if h:
            flush(t, h)
        return "0x%08x" % rc
    if name == "badmode":
        rc, h, _ = start(t, (ALG_AES, 128, ALG_CBC))
        if h:
            flush(t, h)
        return "0x%08x" % rc
    if name == "salt_signkey":
        k = primary(t, 0x40472, False)
        rc, h, _ = start(t, tpmkey=k, salt=b"\4" + os.urandom(67))
        if h:
            flush(t, h)
        flush(t, k)
        return "0x%08x" % rc
    if name == "salt_size":
        k = primary(t, 0x30472, True)
        rc, h, _ = start(t, tpmkey=k, salt=os.urandom(10))
        if h:
            flush(t, h)
        flush(t, k)
        return "0x%08x" % rc
    if name == "excl":
        # auditExclusive after another command ended the session's
        # exclusivity
        rc, h, _ = start(t, (ALG_NULL,))
        rc1, _ = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | AUDIT, b"")], struct.pack(">H", 8))
        t.command(CC_GETRANDOM, (), None, struct.pack(">H", 8))
        rc, _ = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | AUDIT | 0x02, b"")], struct.pack(">H", 8))
        flush(t, h)
        return "0x%08x" % (rc1 or rc)
    if name == "excl_first":
        # auditExclusive on a session's first audit: it becomes exclusive
        rc, h, _ = start(t, (ALG_NULL,))
        rc, _ = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | AUDIT | 0x02, b"")], struct.pack(">H", 8))
        flush(t, h)
        return "0x%08x" % rc
    if name == "resetnoaudit":
        rc, h, _ = start(t, (ALG_NULL,))
        rc, _ = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | 0x04, b"")], struct.pack(">H", 8))
        flush(t, h)
        return "0x%08x" % rc
    if name == "twoaudit":
        _, h1, _ = start(t, (ALG_NULL,))
        _, h2, _ = start(t, (ALG_NULL,))
        rc, _ = t.command(CC_GETRANDOM, (), [(h1, os.urandom(16), CONT | AUDIT, b""), (h2, os.urandom(16), CONT | AUDIT, b"")],
                          struct.pack(">H", 8))
        flush(t, h1)
        flush(t, h2)
        return "0x%08x" % rc
    if name in ("gsad_noaudit", "gsad_policy"):
        if name == "gsad_policy":
            rc, rsp = t.command(CC_START, (RH_NULL, RH_NULL), None,
                                b2(os.urandom(16)) + b2(b"") + bytes([1]) + struct.pack(">HH", ALG_NULL, ALG_SHA256))
            h = struct.unpack(">I", rsp[10:14])[0]
        else:
            _, h, _ = start(t, (ALG_NULL,))
        rc, _ = t.command(0x14D, (0x4000000B, RH_NULL, h), [(RS_PW, b"", CONT, b""), (RS_PW, b"", CONT, b"")],
                          b2(b"") + struct.pack(">H", ALG_NULL))
        flush(t, h)
        return "0x%08x" % rc
    if name == "audit_exclusive_ok":
        # audit once (becomes exclusive), then auditExclusive is accepted
        _, h, _ = start(t, (ALG_NULL,))
        rc1, r1 = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | AUDIT, b"")], struct.pack(">H", 8))
        rc2, r2 = t.command(CC_GETRANDOM, (), [(h, os.urandom(16), CONT | AUDIT | 0x02, b"")], struct.pack(">H", 8))
        flush(t, h)
        if rc1 or rc2:
            return "bad: 0x%x 0x%x" % (rc1, rc2)
        # response attributes: after the parameters (4 + 2 + 8) and the nonce
        def rattrs(r):
            psize = struct.unpack(">I", r[10:14])[0]
            a = r[14 + psize:]
            n = struct.unpack(">H", a[0:2])[0]
            return a[2 + n]
        a1, a2 = rattrs(r1), rattrs(r2)
        if not (a1 & 0x02) or not (a2 & 0x02):
            return "bad: response attributes 0x%02x 0x%02x" % (a1, a2)
        return "ok"
    if name == "encbadhmac":
        # a session that only encrypts, with a wrong HMAC
        rc, h, _ = start(t)
        rc, _ = t.command(CC_HASH, (), [(h, os.urandom(16), CONT | ENC, b"\1" * 32)], hash_params(b"abc"))
        flush(t, h)
        return "0x%08x" % rc
    if name == "capaudit":
        rc, rsp = t.command(0x17A, (), None, struct.pack(">III", 4, 0, 64))
        if rc:
            return "0x%08x" % rc
        n = struct.unpack(">I", rsp[15:19])[0]
        return " ".join("0x%x" % struct.unpack(">I", rsp[19 + 4 * i:23 + 4 * i])[0] for i in range(n))
    if name == "setalglist":
        # a new auditAlg and a list in one command (current alg: SHA-256)
        rc, _ = t.command(0x140, (RH_OWNER,), [(RS_PW, b"", CONT, b"")],
                          struct.pack(">HII", 0x0C, 1, CC_GETRANDOM) + struct.pack(">I", 0))
        return "0x%08x" % rc
    if name == "xorhash":
        return roundtrip(t, (ALG_XOR, ALG_SHA256))
    if name == "cfbhash":
        return roundtrip(t, (ALG_AES, 128, ALG_CFB))
    raise SystemExit("unknown case " + name)


def attest(path):
    """The fields of a marshalled TPMS_ATTEST, one "name=hex" a line."""
    b = open(path, "rb").read()
    out, o = [], 0
    def take(n):
        nonlocal o
        v = b[o:o + n]
        o += n
        return v
    def t2b():
        return take(struct.unpack(">H", take(2))[0])
    out.append("magic=" + take(4).hex())
    typ = take(2).hex()
    out.append("type=" + typ)
    out.append("signer=" + t2b().hex())
    out.append("extra=" + t2b().hex())
    take(17 + 8)  # clockInfo, firmwareVersion
    if typ == "8015":
        out.append("counter=%d" % struct.unpack(">Q", take(8))[0])
        out.append("alg=" + take(2).hex())
        out.append("auditDigest=" + t2b().hex())
        out.append("commandDigest=" + t2b().hex())
    elif typ == "8016":
        out.append("exclusive=" + take(1).hex())
        out.append("sessionDigest=" + t2b().hex())
    out.append("rest=%d" % (len(b) - o))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proto", default="mssim")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("case")
    a = ap.parse_args()
    if a.case.startswith("attest="):
        print(attest(a.case[7:]))
        return 0
    t = Tpm(a.proto, a.port)
    print(case(t, a.case))


if __name__ == "__main__":
    sys.exit(main())
