#!/usr/bin/env python3
"""flush.py - flush every loaded transient object and loaded session.

Usage: flush.py --proto mssim|raw --port N
One connection: TPM2_GetCapability(TPM_CAP_HANDLES) for 0x80000000
(transient) and 0x02000000 (loaded HMAC/policy sessions), then
TPM2_FlushContext of each.  Much faster than two tpm2_flushcontext runs;
used by tests/integration/keys/common.sh after every tool.
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rawtpm  # noqa: E402

TPM_CAP_HANDLES = 1
CC_FLUSH_CONTEXT = 0x165


def handles(conn, first):
    cmd = struct.pack(">HIIIII", rawtpm.ST_NO_SESSIONS, 22, rawtpm.CC_GET_CAPABILITY,
                      TPM_CAP_HANDLES, first, 64)
    rsp = conn.command(cmd)
    if rawtpm.rsp_rc(rsp) != 0 or len(rsp) < 19:
        return []
    # header(10) moreData(1) capability(4) count(4) handles
    (count,) = struct.unpack(">I", rsp[15:19])
    out = []
    for i in range(count):
        (h,) = struct.unpack(">I", rsp[19 + 4 * i:23 + 4 * i])
        if (h >> 24) == (first >> 24):
            out.append(h)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proto", choices=("mssim", "raw"), default="mssim")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    conn = rawtpm.Conn(a.proto, "127.0.0.1", a.port, a.timeout)
    bad = 0
    try:
        for first in (0x80000000, 0x02000000):
            for h in handles(conn, first):
                rsp = conn.command(struct.pack(">HIII", rawtpm.ST_NO_SESSIONS, 14,
                                               CC_FLUSH_CONTEXT, h))
                if rawtpm.rsp_rc(rsp) != 0:
                    bad = 1
    finally:
        conn.close()
    return bad


if __name__ == "__main__":
    sys.exit(main())
