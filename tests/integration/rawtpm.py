#!/usr/bin/env python3
"""rawtpm.py - send hand-made byte strings to a TPM server and show the answer.

Used by the vitrum integration tests (tests/integration/test_garbage.sh and the
start-up probe in lib.sh).  Two transports:

  mssim  the Microsoft simulator TCP protocol (vitrum's default): on the
         command port, uint32 BE TPM_SEND_COMMAND (8), 1 byte locality,
         uint32 BE length, the command bytes; the answer is uint32 BE length,
         the response bytes, uint32 BE acknowledgement (0).
  raw    the swtpm data channel: command bytes as they are, the response
         as it is (its length comes from the TPM response header).

Sub-commands:

  ping                  send TPM2_GetRandom(8); exit 0 if any well-formed TPM
                        response comes back (even TPM_RC_INITIALIZE).
  send HEX [HEX ...]    send each hex string as one command (same connection),
                        print "rc=0x........ len=N rsp=HEX" per answer.
  stream [--count N]    N GetRandom commands in one write, then one command
                        sent a byte at a time; all must be answered.
  ctrl CODE [CODE ...]  send uint32 codes to a control/platform port.
  fuzz --seed S --count N
                        send N malformed inputs (one connection each), print
                        one line per input and a summary; exit 1 if any input
                        got an answer that is neither an error response nor a
                        closed connection (or a hang where none is allowed).

Only the Python standard library is used.
"""

import argparse
import random
import socket
import struct
import sys
import time

TPM_SEND_COMMAND = 8
TPM_SESSION_END = 20

ST_NO_SESSIONS = 0x8001
ST_SESSIONS = 0x8002

CC_GET_RANDOM = 0x17B
CC_GET_CAPABILITY = 0x17A
CC_PCR_READ = 0x17E
CC_READ_CLOCK = 0x181
CC_GET_TEST_RESULT = 0x17C
CC_HASH = 0x17D

# read-only commands (GetCapability, GetRandom, PCR_Read, ReadClock,
# GetTestResult, Hash, TestParms, ReadPublic, SelfTest, IncrementalSelfTest,
# StirRandom, HashSequenceStart, HMAC_Start, ContextLoad, FlushContext)
HARMLESS_CC = {0x17A, 0x17B, 0x17E, 0x181, 0x17C, 0x17D, 0x18A, 0x173,
               0x143, 0x142, 0x146, 0x186, 0x15B, 0x161, 0x165}

GET_RANDOM_8 = struct.pack(">HII H", ST_NO_SESSIONS, 12, CC_GET_RANDOM, 8)


class Closed(Exception):
    """The peer closed the connection (or reset it)."""


class Timeout(Exception):
    """No (complete) answer within the time limit."""


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("got %d of %d bytes" % (len(buf), n))
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            raise Timeout("got %d of %d bytes" % (len(buf), n))
        except (ConnectionResetError, BrokenPipeError):
            raise Closed("reset after %d of %d bytes" % (len(buf), n))
        if not chunk:
            raise Closed("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def send_all(sock, data):
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        raise Closed("closed while sending")


class Conn:
    def __init__(self, proto, host, port, timeout):
        self.proto = proto
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self, polite=True):
        try:
            if polite and self.proto == "mssim":
                self.sock.sendall(struct.pack(">I", TPM_SESSION_END))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def send_bytes(self, data):
        """Put bytes on the wire exactly as given (no framing)."""
        send_all(self.sock, data)

    def frame(self, cmd, locality=0, length=None):
        """mssim framing of a command (length may lie on purpose)."""
        if length is None:
            length = len(cmd)
        return struct.pack(">IBI", TPM_SEND_COMMAND, locality, length) + cmd

    def command(self, cmd, locality=0, timeout=None):
        """Send one command with correct framing, return the response."""
        if self.proto == "mssim":
            send_all(self.sock, self.frame(cmd, locality))
        else:
            send_all(self.sock, cmd)
        return self.read_response(timeout)

    def read_response(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        if self.proto == "mssim":
            (n,) = struct.unpack(">I", recv_exact(self.sock, 4, deadline))
            if n > 1 << 20:
                raise ValueError("mssim response length %d is absurd" % n)
            rsp = recv_exact(self.sock, n, deadline)
            (ack,) = struct.unpack(">I", recv_exact(self.sock, 4, deadline))
            if ack != 0:
                raise ValueError("mssim acknowledgement is %d, not 0" % ack)
            return rsp
        hdr = recv_exact(self.sock, 10, deadline)
        _, size, _ = struct.unpack(">HII", hdr)
        if size < 10 or size > 1 << 20:
            raise ValueError("response size field %d is absurd" % size)
        return hdr + recv_exact(self.sock, size - 10, deadline)


def rsp_rc(rsp):
    if len(rsp) < 10:
        return None
    return struct.unpack(">I", rsp[6:10])[0]


def check_rsp(rsp):
    """Return None if rsp is a well-formed TPM response, else a reason."""
    if len(rsp) < 10:
        return "response shorter than a header (%d bytes)" % len(rsp)
    tag, size, rc = struct.unpack(">HII", rsp[:10])
    if tag not in (ST_NO_SESSIONS, ST_SESSIONS, 0x00C4):
        return "response tag 0x%04x" % tag
    if size != len(rsp):
        return "response size field %d but %d bytes" % (size, len(rsp))
    if rc != 0 and len(rsp) != 10:
        return "error response rc=0x%x is %d bytes, not 10" % (rc, len(rsp))
    return None


# --------------------------------------------------------------------------
# ping / send


def cmd_ping(args):
    deadline = time.monotonic() + args.timeout
    last = "no attempt"
    while True:
        try:
            c = Conn(args.proto, args.host, args.port, 1.0)
            try:
                rsp = c.command(GET_RANDOM_8, timeout=1.0)
            finally:
                c.close()
            bad = check_rsp(rsp)
            if bad is None:
                print("rc=0x%08x" % rsp_rc(rsp))
                return 0
            last = bad
        except (OSError, Closed, Timeout, ValueError) as e:
            last = str(e) or e.__class__.__name__
        if time.monotonic() >= deadline:
            print("no answer: %s" % last, file=sys.stderr)
            return 1
        time.sleep(0.1)


def cmd_send(args):
    c = Conn(args.proto, args.host, args.port, args.timeout)
    status = 0
    try:
        for h in args.hex:
            data = bytes.fromhex(h.replace(" ", "").replace(":", ""))
            try:
                rsp = c.command(data, locality=args.locality)
            except (Closed, Timeout, ValueError) as e:
                print("error: %s: %s" % (e.__class__.__name__, e))
                return 2
            rc = rsp_rc(rsp)
            print("rc=0x%08x len=%d rsp=%s"
                  % (rc if rc is not None else 0xFFFFFFFF, len(rsp), rsp.hex()))
            if check_rsp(rsp) is not None:
                status = 3
    finally:
        c.close()
    return status


# --------------------------------------------------------------------------
# fuzz


def hdr(tag, size, cc):
    return struct.pack(">HII", tag, size & 0xFFFFFFFF, cc & 0xFFFFFFFF)


def valid_commands():
    """A few harmless well-formed commands to mutate."""
    cmds = []
    cmds.append(GET_RANDOM_8)
    # GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_FAMILY_INDICATOR, 8)
    body = struct.pack(">III", 6, 0x100, 8)
    cmds.append(hdr(ST_NO_SESSIONS, 10 + len(body), CC_GET_CAPABILITY) + body)
    # PCR_Read(sha256: pcr 0..7)
    body = struct.pack(">IHB", 1, 0x000B, 3) + bytes([0xFF, 0, 0])
    cmds.append(hdr(ST_NO_SESSIONS, 10 + len(body), CC_PCR_READ) + body)
    cmds.append(hdr(ST_NO_SESSIONS, 10, CC_READ_CLOCK))
    cmds.append(hdr(ST_NO_SESSIONS, 10, CC_GET_TEST_RESULT))
    # Hash("abc", sha256, TPM_RH_NULL)
    body = struct.pack(">H", 3) + b"abc" + struct.pack(">HI", 0x000B, 0x40000007)
    cmds.append(hdr(ST_NO_SESSIONS, 10 + len(body), CC_HASH) + body)
    return cmds


def gen_inputs(rng, count, proto, fixed_cases=True):
    """Yield (category, payload, opts) tuples; opts may hold
    'framing_len' (mssim: a length field that lies), 'raw' (bytes put on
    the wire without any framing), 'may_hang' (a timeout is acceptable),
    'may_succeed' (rc 0 is acceptable), 'locality'."""
    valid = valid_commands()
    fixed = []

    # fewer than 10 bytes (including nothing at all)
    for n in range(0, 10):
        fixed.append(("short", bytes(rng.getrandbits(8) for _ in range(n)), {}))
    fixed.append(("short", bytes.fromhex("8001"), {}))
    fixed.append(("short", bytes.fromhex("800100000000"), {}))
    fixed.append(("short", bytes.fromhex("80010000000a00"), {}))
    # a header alone, claiming exactly 10 bytes, for a command that has
    # parameters
    fixed.append(("short", hdr(ST_NO_SESSIONS, 10, CC_GET_RANDOM), {}))

    # size field larger than the bytes sent
    for extra in (1, 2, 10, 100, 1000, 4086):
        fixed.append(("size-larger",
                      hdr(ST_NO_SESSIONS, 12 + extra, CC_GET_RANDOM)
                      + struct.pack(">H", 8), {"may_hang": proto == "raw"}))
    # size field smaller than the bytes sent
    for size in (0, 1, 9, 10, 11):
        fixed.append(("size-smaller",
                      hdr(ST_NO_SESSIONS, size, CC_GET_RANDOM)
                      + struct.pack(">H", 8), {}))
    fixed.append(("size-smaller",
                  hdr(ST_NO_SESSIONS, 12, CC_GET_RANDOM)
                  + struct.pack(">H", 8) + b"\x00" * 20, {}))
    # huge size fields
    for size in (0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x00100000, 0x00010000,
                 4097):
        fixed.append(("huge-size",
                      hdr(ST_NO_SESSIONS, size, CC_GET_RANDOM)
                      + struct.pack(">H", 8), {"may_hang": proto == "raw"}))
    # unknown / wrong tags
    for tag in (0x0000, 0x00C1, 0x00C2, 0x00C4, 0x8000, 0x8003, 0x8004,
                0x8101, 0xFFFF, 0x0180):
        fixed.append(("bad-tag", hdr(tag, 12, CC_GET_RANDOM)
                      + struct.pack(">H", 8), {}))
    # unknown command codes
    for cc in (0x00000000, 0x0000011E, 0x00000200, 0x000001FF, 0x00000FFF,
               0x20000000, 0x20000001, 0x2000FFFF, 0x80000000, 0xFFFFFFFF,
               0x0001017B, 0x0100017B):
        fixed.append(("bad-cc", hdr(ST_NO_SESSIONS, 10, cc), {}))
        fixed.append(("bad-cc", hdr(ST_SESSIONS, 10, cc), {}))
    # sessions tag on a command without a valid authorization area
    for auth_size in (0, 1, 9, 0xFFFFFFFF):
        body = struct.pack(">IH", auth_size, 8)
        fixed.append(("bad-auth", hdr(ST_SESSIONS, 10 + len(body),
                                      CC_GET_RANDOM) + body, {}))
    # well-formed command at odd localities (mssim only): any well-formed
    # answer is fine, including success
    if proto == "mssim":
        for loc in (1, 2, 3, 4, 5, 31, 32, 255):
            fixed.append(("locality", GET_RANDOM_8,
                          {"locality": loc, "may_succeed": True}))
        # mssim framing that lies: the length field says more than what is
        # sent; the server may wait for the rest (we give up and close)
        for fl in (13, 100, 4096, 0x7FFFFFFF, 0xFFFFFFFF):
            fixed.append(("framing-larger", GET_RANDOM_8,
                          {"framing_len": fl, "may_hang": True}))
        # framing says less than the command: what follows is read as the
        # next framing command, so anything but a crash is acceptable
        for fl in (0, 1, 9, 10):
            fixed.append(("framing-smaller", GET_RANDOM_8,
                          {"framing_len": fl, "may_hang": True,
                           "may_succeed": True}))
        # unknown mssim command codes and random bytes with no framing
        for code in (0, 3, 0x99, 0xDEADBEEF, 0xFFFFFFFF):
            fixed.append(("framing-garbage", b"",
                          {"raw": struct.pack(">I", code) + GET_RANDOM_8,
                           "may_hang": True}))
        for _ in range(5):
            n = rng.randrange(1, 64)
            fixed.append(("framing-garbage", b"",
                          {"raw": bytes(rng.getrandbits(8) for _ in range(n)),
                           "may_hang": True}))

    if not fixed_cases:
        fixed = []
    out = list(fixed)
    while len(out) < count:
        kind = rng.randrange(4)
        if kind == 0:
            # fully random bytes
            n = rng.randrange(10, 300)
            out.append(("random", bytes(rng.getrandbits(8) for _ in range(n)),
                        {}))
        elif kind == 1:
            # random body behind a plausible header with a random command code
            cc = rng.choice([rng.choice(sorted(HARMLESS_CC)),
                             rng.randrange(0x11F, 0x1A0),
                             rng.getrandbits(32)])
            n = rng.randrange(0, 200)
            body = bytes(rng.getrandbits(8) for _ in range(n))
            tag = rng.choice([ST_NO_SESSIONS, ST_SESSIONS])
            # only commands that cannot change lasting state are sent with
            # their real code; any other code gets the vendor bit so the
            # run stays deterministic and harmless
            if cc not in HARMLESS_CC and cc < 0x20000000:
                cc |= 0x20000000
            out.append(("random-body", hdr(tag, 10 + n, cc) + body,
                        {"may_succeed": True}))
        elif kind == 2:
            # truncated valid command (header size still says full length)
            c = rng.choice(valid)
            cut = rng.randrange(0, len(c))
            out.append(("truncated", c[:cut],
                        {"may_hang": proto == "raw" and cut >= 10}))
        else:
            # valid command with a few bytes flipped
            c = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 4)):
                i = rng.randrange(len(c))
                c[i] ^= 1 << rng.randrange(8)
            size = struct.unpack(">I", bytes(c[2:6]))[0]
            out.append(("mutated", bytes(c),
                        {"may_succeed": True,
                         "may_hang": proto == "raw" and size > len(c)}))
    return out[:max(count, len(fixed))]


def fuzz_one(args, cat, payload, opts):
    """Return (verdict, detail); verdict is 'error', 'closed', 'success',
    'timeout' or 'BAD'."""
    hang_timeout = 0.25
    c = Conn(args.proto, args.host, args.port, args.timeout)
    try:
        try:
            if "raw" in opts:
                c.send_bytes(opts["raw"])
            elif args.proto == "mssim":
                c.send_bytes(c.frame(payload, opts.get("locality", 0),
                                     opts.get("framing_len")))
            else:
                if payload:
                    c.send_bytes(payload)
                else:
                    # nothing to send: half-close so the server sees EOF
                    c.sock.shutdown(socket.SHUT_WR)
            if opts.get("may_hang") or (args.proto == "raw"
                                        and len(payload) < 10):
                t = hang_timeout
            else:
                t = args.timeout
            rsp = c.read_response(t)
        except Closed as e:
            return "closed", str(e)
        except Timeout as e:
            if opts.get("may_hang"):
                return "timeout", "allowed: %s" % e
            if args.proto == "raw" and len(payload) < 10:
                # swtpm data channel: no framing, so a short command may
                # leave the server waiting for the rest of the header
                return "timeout", "allowed (raw, short): %s" % e
            return "BAD", "no answer within %.1fs (%s)" % (t, e)
        except ValueError as e:
            return "BAD", str(e)
        bad = check_rsp(rsp)
        if bad:
            return "BAD", "%s: %s" % (bad, rsp[:64].hex())
        rc = rsp_rc(rsp)
        if rc == 0:
            if opts.get("may_succeed"):
                return "success", "rc=0 len=%d" % len(rsp)
            return "BAD", "garbage accepted with rc=0: %s" % rsp[:32].hex()
        return "error", "rc=0x%x" % rc
    finally:
        c.close(polite=False)


def cmd_fuzz(args):
    rng = random.Random(args.seed)
    inputs = gen_inputs(rng, args.count, args.proto, not args.random_only)
    counts = {}
    bad = 0
    for i, (cat, payload, opts) in enumerate(inputs):
        try:
            verdict, detail = fuzz_one(args, cat, payload, opts)
        except OSError as e:
            verdict, detail = "BAD", "cannot connect: %s" % e
        counts.setdefault(cat, {}).setdefault(verdict, 0)
        counts[cat][verdict] += 1
        if verdict == "BAD":
            bad += 1
        if args.verbose or verdict == "BAD":
            shown = (opts.get("raw") or payload)[:40].hex()
            print("%s %d %s %s: %s (input %s%s)"
                  % ("BAD" if verdict == "BAD" else "ok ", i, cat, verdict,
                     detail, shown, " ..." if len(payload) > 40 else ""))
        if args.delay:
            time.sleep(args.delay)
    for cat in sorted(counts):
        print("category %s: %s" % (cat, " ".join(
            "%s=%d" % kv for kv in sorted(counts[cat].items()))))
    print("inputs=%d bad=%d" % (len(inputs), bad))
    return 1 if bad else 0


def cmd_stream(args):
    """Framing robustness with well-formed commands: several commands in
    one write (answered in order), and one command split into single-byte
    writes.  Prints one line per check; exit 0 iff all passed."""
    status = 0
    # several commands in one write
    c = Conn(args.proto, args.host, args.port, args.timeout)
    try:
        n = args.count
        if args.proto == "mssim":
            blob = b"".join(c.frame(GET_RANDOM_8) for _ in range(n))
        else:
            blob = GET_RANDOM_8 * n
        c.send_bytes(blob)
        got = 0
        try:
            for _ in range(n):
                rsp = c.read_response()
                if check_rsp(rsp) is None and rsp_rc(rsp) == 0 \
                        and len(rsp) == 10 + 2 + 8:
                    got += 1
        except (Closed, Timeout, ValueError) as e:
            print("batch: stopped after %d responses: %s" % (got, e))
        print("batch: %d of %d commands in one write answered with 8 random "
              "bytes" % (got, n))
        if got != n:
            status = 1
    finally:
        c.close()
    # one command, one byte per write
    c = Conn(args.proto, args.host, args.port, args.timeout)
    try:
        data = c.frame(GET_RANDOM_8) if args.proto == "mssim" else GET_RANDOM_8
        for b in data:
            c.send_bytes(bytes([b]))
            time.sleep(0.01)
        try:
            rsp = c.read_response()
            ok = check_rsp(rsp) is None and rsp_rc(rsp) == 0
            print("bytewise: %s (rc=0x%x len=%d)"
                  % ("answered" if ok else "bad answer", rsp_rc(rsp) or 0,
                     len(rsp)))
        except (Closed, Timeout, ValueError) as e:
            ok = False
            print("bytewise: no answer: %s" % e)
        if not ok:
            status = 1
    finally:
        c.close()
    return status


def cmd_ctrl(args):
    """Send each uint32 code (with a few bytes of junk after it) to the
    control / platform port, one connection each; print what came back.
    Exit 0 unless the port could not be reached."""
    for code in args.codes:
        v = int(code, 0)
        try:
            s = socket.create_connection((args.host, args.port), timeout=1.0)
        except OSError as e:
            print("0x%08x: cannot connect: %s" % (v, e))
            return 1
        try:
            s.sendall(struct.pack(">I", v) + b"\x00\x01\x02\x03")
            s.settimeout(0.5)
            try:
                data = s.recv(64)
                print("0x%08x: %s" % (v, data.hex() if data else "closed"))
            except socket.timeout:
                print("0x%08x: no answer" % v)
            except OSError as e:
                print("0x%08x: %s" % (v, e))
        finally:
            s.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proto", choices=("mssim", "raw"), default="mssim")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=3.0)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ping")
    p = sub.add_parser("send")
    p.add_argument("--locality", type=int, default=0)
    p.add_argument("hex", nargs="+")
    p = sub.add_parser("fuzz")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--random-only", action="store_true",
                   help="skip the fixed hand-made cases")
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("stream")
    p.add_argument("--count", type=int, default=20)
    p = sub.add_parser("ctrl")
    p.add_argument("codes", nargs="+")
    args = ap.parse_args()
    try:
        if args.cmd == "ping":
            return cmd_ping(args)
        if args.cmd == "send":
            return cmd_send(args)
        if args.cmd == "stream":
            return cmd_stream(args)
        if args.cmd == "ctrl":
            return cmd_ctrl(args)
        return cmd_fuzz(args)
    except OSError as e:
        print("rawtpm: %s" % e, file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
