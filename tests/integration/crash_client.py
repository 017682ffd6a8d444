#!/usr/bin/env python3
"""crash_client.py - drive durable state changes until the server dies.

  crash_client.py --port P load      loop: TPM2_ClockSet(owner) to ever larger
                                     values (and, with --nv HANDLE,
                                     TPM2_NV_Increment on that counter index);
                                     on the first broken connection print the
                                     last acknowledged values and exit 0.
  crash_client.py --port P check     print the TPM's Clock (and the counter
                                     with --nv) as "clock=N [counter=N]".

Every acknowledged change must survive a kill -9 of the server: the test
compares what 'load' printed with what 'check' reads after a restart.
Speaks the mssim protocol with the Python standard library only."""

import argparse
import socket
import struct
import sys

PW_SESSION = struct.pack(">IHBH", 0x40000009, 0, 1, 0)


def cmd_frame(tag, cc, body):
    return struct.pack(">HII", tag, 10 + len(body), cc) + body


class Tpm:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def call(self, cmd):
        self.s.sendall(struct.pack(">IBI", 8, 0, len(cmd)) + cmd)
        n = struct.unpack(">I", self.recv(4))[0]
        rsp = self.recv(n)
        self.recv(4)
        return struct.unpack(">I", rsp[6:10])[0], rsp

    def recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out


def read_clock(tpm):
    rc, rsp = tpm.call(cmd_frame(0x8001, 0x181, b""))
    if rc:
        raise RuntimeError("ReadClock rc=0x%x" % rc)
    return struct.unpack(">Q", rsp[18:26])[0]


def clock_set(tpm, value):
    body = struct.pack(">I", 0x40000001) + struct.pack(">I", len(PW_SESSION)) + PW_SESSION
    body += struct.pack(">Q", value)
    return tpm.call(cmd_frame(0x8002, 0x128, body))[0]


def nv_increment(tpm, index):
    body = struct.pack(">II", index, index) + struct.pack(">I", len(PW_SESSION)) + PW_SESSION
    return tpm.call(cmd_frame(0x8002, 0x134, body))[0]


def nv_read_counter(tpm, index):
    body = struct.pack(">II", index, index) + struct.pack(">I", len(PW_SESSION)) + PW_SESSION
    body += struct.pack(">HH", 8, 0)
    rc, rsp = tpm.call(cmd_frame(0x8002, 0x14E, body))
    if rc:
        raise RuntimeError("NV_Read rc=0x%x" % rc)
    return struct.unpack(">Q", rsp[16:24])[0]


def pattern(i):
    """The 64 bytes the i-th NV_Write writes."""
    import hashlib
    d = hashlib.sha512(b"vitrum crash %d" % i).digest()
    return d


def nv_write(tpm, index, data):
    body = struct.pack(">II", index, index) + struct.pack(">I", len(PW_SESSION)) + PW_SESSION
    body += struct.pack(">H", len(data)) + data + struct.pack(">H", 0)
    return tpm.call(cmd_frame(0x8002, 0x137, body))[0]


def nv_read(tpm, index, size):
    body = struct.pack(">II", index, index) + struct.pack(">I", len(PW_SESSION)) + PW_SESSION
    body += struct.pack(">HH", size, 0)
    rc, rsp = tpm.call(cmd_frame(0x8002, 0x14E, body))
    if rc:
        raise RuntimeError("NV_Read rc=0x%x" % rc)
    return rsp[16:16 + size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--nv", type=lambda x: int(x, 0))
    ap.add_argument("--ready", help="create this file after the first acknowledged change")
    ap.add_argument("--data", type=lambda x: int(x, 0),
                    help="also NV_Write pattern(i) to this 64-byte index; 'check' prints data=i")
    ap.add_argument("mode", choices=["load", "check"])
    a = ap.parse_args()
    try:
        tpm = Tpm(a.port)
    except OSError:
        if a.mode == "load":
            print("none")
            return 0
        raise
    if a.mode == "check":
        out = "clock=%d" % read_clock(tpm)
        if a.nv:
            out += " counter=%d" % nv_read_counter(tpm, a.nv)
        if a.data:
            got = nv_read(tpm, a.data, 64)
            # which write is it?  Search down from a bound the test passes
            # through the environment, else report unknown.
            import os
            hi = int(os.environ.get("CRASH_DATA_MAX", "0"))
            which = -1
            for i in range(hi, -1, -1):
                if pattern(i) == got:
                    which = i
                    break
            out += " data=%d" % which
        print(out)
        return 0
    try:
        acked_clock = read_clock(tpm)
        acked_counter = nv_read_counter(tpm, a.nv) if a.nv else None
    except (ConnectionError, OSError, struct.error, RuntimeError):
        print("none")  # killed before anything was acknowledged
        return 0
    value = acked_clock + 10_000_000
    import os
    i_data = int(os.environ.get("CRASH_DATA_NEXT", "1"))
    acked_data = -1
    try:
        while True:
            value += 1_000_000
            if clock_set(tpm, value) == 0:
                acked_clock = value
                if a.ready:
                    open(a.ready, "w").close()
                    a.ready = None
            if a.nv:
                if nv_increment(tpm, a.nv) == 0:
                    acked_counter += 1
            if a.data:
                if nv_write(tpm, a.data, pattern(i_data)) == 0:
                    acked_data = i_data
                i_data += 1
    except (ConnectionError, OSError, struct.error):
        pass
    out = "clock=%d" % acked_clock
    if a.nv:
        out += " counter=%d" % acked_counter
    if a.data:
        out += " data=%d next=%d" % (acked_data, i_data)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
