#!/usr/bin/env python3
"""Hand-built seeds for fuzz_engine and fuzz_mssim (see the format comments
at the top of tests/fuzz/fuzz_engine.c and fuzz_mssim.c).

Every implemented command appears with valid parameters, most of them in the
structure-aware form (the harness adds the authorization), together with the
sequences that reach state: hash and event sequences, HMAC sessions (bound
and unbound), Shutdown(STATE)/Startup(STATE), PCR_Allocate + reset, and the
platform events.  Files are named hand-<name>, so re-running overwrites.

  gen_corpus.py [--corpus DIR]
"""
import argparse
import os
import struct

ST_NO, ST_S = 0x8001, 0x8002
RS_PW = 0x40000009
RH_OWNER, RH_NULL, RH_ENDORSEMENT, RH_PLATFORM, RH_LOCKOUT = (
    0x40000001, 0x40000007, 0x4000000B, 0x4000000C, 0x4000000A)
SHA1, SHA256, SHA384, SHA512, NULL_ALG = 0x0004, 0x000B, 0x000C, 0x000D, 0x0010
CC = dict(ClockSet=0x128, PCR_Allocate=0x12B, ClockRateAdjust=0x130, PCR_Event=0x13C,
          PCR_Reset=0x13D, SequenceComplete=0x13E, IncrementalSelfTest=0x142,
          SelfTest=0x143, Startup=0x144, Shutdown=0x145, StirRandom=0x146,
          SequenceUpdate=0x15C, FlushContext=0x165, StartAuthSession=0x176,
          GetCapability=0x17A, GetRandom=0x17B, GetTestResult=0x17C, Hash=0x17D,
          PCR_Read=0x17E, ReadClock=0x181, PCR_Extend=0x182,
          EventSequenceComplete=0x185, HashSequenceStart=0x186, TestParms=0x18A)
SEQ0 = 0x80000000   # first sequence handle the engine hands out
HMAC0 = 0x02000000  # first HMAC session handle


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def b2(b): return u16(len(b)) + b


def pw_area(n=1, pw=b""):
    s = (u32(RS_PW) + u16(0) + u8(1) + b2(pw)) * n
    return u32(len(s)) + s


def raw(cc, handles=b"", params=b"", sessions=None, tag=None):
    """A complete command; sessions: bytes of an auth area (with its size)."""
    if tag is None:
        tag = ST_S if sessions is not None else ST_NO
    body = u32(CC[cc]) + handles + (sessions or b"") + params
    return u16(tag) + u32(10 + len(body) - 4) + body


def pcrsel(*banks):
    """TPML_PCR_SELECTION: banks are (alg, [pcr...])."""
    out = u32(len(banks))
    for alg, pcrs in banks:
        bits = bytearray(3)
        for p in pcrs:
            bits[p // 8] |= 1 << (p % 8)
        out += u16(alg) + u8(3) + bytes(bits)
    return out


def digests(*ds):
    out = u32(len(ds))
    for alg, d in ds:
        out += u16(alg) + d
    return out


# ---- engine records ----
def R(cmd, loc=0, ev=0):
    """A raw record with the header size fixed up by the harness."""
    ctl = (ev << 5) | 0x08 | loc
    return u8(ctl) + u16(len(cmd)) + cmd


def S(cc, handles=(), params=b"", sel=0x00, loc=0, ev=0):
    """A structure-aware record: sel, cc, handles, params."""
    body = u8(sel) + u32(CC[cc]) + b"".join(u32(h) for h in handles) + params
    return u8((ev << 5) | 0x10 | loc) + u16(len(body)) + body


def EV(ev, data=b""):
    """A record that is only a platform event (empty raw command)."""
    return u8(ev << 5) + u16(len(data)) + data


def engine(flags, *records):
    return u8(flags) + b"".join(records)


def start_hmac(bind=RH_NULL, alg=SHA256, nonce=b"\x11" * 16, typ=0):
    return S("StartAuthSession", (RH_NULL, bind),
             b2(nonce) + b2(b"") + u8(typ) + u16(NULL_ALG) + u16(alg))


def getcap(cap, prop, count):
    return S("GetCapability", (), u32(cap) + u32(prop) + u32(count))


def engine_seeds():
    d = {}
    ext256 = digests((SHA256, bytes(range(32))))
    ext_both = digests((SHA1, b"\x01" * 20), (SHA256, b"\x02" * 32))
    # one seed per command, structure-aware with password sessions
    d["startup-clear"] = engine(1, EV(3), R(raw("Startup", params=u16(0))))
    d["shutdown-startup-state"] = engine(1, S("Shutdown", (), u16(1)), EV(3),
                                        R(raw("Startup", params=u16(1))),
                                        S("PCR_Read", (), pcrsel((SHA256, range(24)))))
    d["selftest"] = engine(1, S("SelfTest", (), u8(1)), S("SelfTest", (), u8(0)),
                           S("GetTestResult"))
    d["incremental-selftest"] = engine(1, S("IncrementalSelfTest", (),
                                            u32(3) + u16(SHA256) + u16(0x0006) + u16(0x0001)))
    for cap, prop, count, name in [
            (0, 0x0001, 64, "algs"), (1, 0x80000000, 16, "handles-transient"),
            (1, 0x00000000, 24, "handles-pcr"), (1, 0x40000000, 16, "handles-permanent"),
            (1, 0x02000000, 16, "handles-sessions"), (1, 0x01000000, 16, "handles-nv"),
            (1, 0x81000000, 16, "handles-persistent"), (2, 0x11F, 64, "commands"),
            (3, 0x11F, 64, "pp-commands"), (4, 0x11F, 64, "audit-commands"),
            (5, 0, 1, "pcrs"), (6, 0x100, 80, "tpm-properties-fixed"),
            (6, 0x200, 80, "tpm-properties-var"), (7, 0, 32, "pcr-properties"),
            (8, 0, 16, "ecc-curves"), (9, 0x40000000, 16, "auth-policies"),
            (10, 0x40000110, 16, "act"), (0x100, 0, 1, "vendor")]:
        d["getcap-" + name] = engine(1, getcap(cap, prop, count))
    d["getrandom"] = engine(1, S("GetRandom", (), u16(32)), S("GetRandom", (), u16(64)))
    d["stirrandom"] = engine(1, S("StirRandom", (), b2(b"entropy" * 4)), S("GetRandom", (), u16(16)))
    d["pcr"] = engine(1, S("PCR_Extend", (16,), ext256), S("PCR_Extend", (23,), ext_both),
                      S("PCR_Event", (16,), b2(b"event data")), S("PCR_Reset", (16,)),
                      S("PCR_Read", (), pcrsel((SHA1, [0, 16, 23]), (SHA256, range(24)))))
    d["pcr-locality"] = engine(1, S("PCR_Reset", (20,), loc=4), S("PCR_Extend", (17,), ext256, loc=4),
                               S("PCR_Reset", (17,), loc=3), S("PCR_Reset", (21,), loc=2))
    d["pcr-allocate"] = engine(1, S("PCR_Allocate", (RH_PLATFORM,),
                                    pcrsel((SHA1, []), (SHA256, range(24)), (SHA384, range(24)))),
                               EV(2), S("PCR_Read", (), pcrsel((SHA384, range(24)))),
                               S("PCR_Extend", (0,), digests((SHA256, b"\x03" * 32), (SHA384, b"\x04" * 48))))
    d["pcr-allocate-sha512"] = engine(1, S("PCR_Allocate", (RH_PLATFORM,),
                                           pcrsel((SHA512, range(24)), (SHA256, range(24)))), EV(7),
                                      R(raw("Startup", params=u16(0))),
                                      S("PCR_Read", (), pcrsel((SHA512, range(24)))))
    d["hash"] = engine(1, S("Hash", (), b2(b"abc") + u16(SHA256) + u32(RH_OWNER)),
                       S("Hash", (), b2(b"\xffTCGabc") + u16(SHA1) + u32(RH_ENDORSEMENT)),
                       S("Hash", (), b2(b"x" * 1024) + u16(SHA512) + u32(RH_NULL)))
    d["hash-sequence"] = engine(1, S("HashSequenceStart", (), b2(b"") + u16(SHA256)),
                                S("SequenceUpdate", (SEQ0,), b2(b"a" * 1024)),
                                S("SequenceUpdate", (SEQ0,), b2(b"b" * 100)),
                                S("SequenceComplete", (SEQ0,), b2(b"c") + u32(RH_OWNER)))
    d["hash-sequence-generated"] = engine(1, S("HashSequenceStart", (), b2(b"") + u16(SHA384)),
                                          S("SequenceUpdate", (SEQ0,), b2(b"\xffTCG")),
                                          S("SequenceComplete", (SEQ0,), b2(b"") + u32(RH_NULL)))
    d["event-sequence"] = engine(1, S("HashSequenceStart", (), b2(b"") + u16(NULL_ALG)),
                                 S("SequenceUpdate", (SEQ0,), b2(b"event" * 50)),
                                 S("EventSequenceComplete", (16, SEQ0), b2(b"end")),
                                 S("PCR_Read", (), pcrsel((SHA256, [16]))))
    d["sequences-flush"] = engine(1, S("HashSequenceStart", (), b2(b"") + u16(SHA1)),
                                  S("HashSequenceStart", (), b2(b"") + u16(SHA256)),
                                  S("HashSequenceStart", (), b2(b"") + u16(NULL_ALG)),
                                  S("HashSequenceStart", (), b2(b"") + u16(SHA512)),
                                  S("FlushContext", (), u32(SEQ0 + 1)),
                                  S("FlushContext", (), u32(SEQ0)))
    d["clock"] = engine(1, S("ReadClock"), S("ClockSet", (RH_OWNER,), u64(100000000)),
                        S("ClockRateAdjust", (RH_PLATFORM,), u8(3)),
                        S("ClockRateAdjust", (RH_OWNER,), u8(0xFD)), EV(1), S("ReadClock"))
    d["testparms"] = engine(1, S("TestParms", (), u16(0x0001) + u16(NULL_ALG) + u16(NULL_ALG) + u16(2048) + u32(0)),
                            S("TestParms", (), u16(0x0023) + u16(NULL_ALG) + u16(NULL_ALG) + u16(0x0003) + u16(NULL_ALG)),
                            S("TestParms", (), u16(0x0025) + u16(0x0006) + u16(128) + u16(0x0043)),
                            S("TestParms", (), u16(0x0008) + u16(0x0005) + u16(SHA256)))
    # sessions: HMAC (flags bit1: the harness computes the HMACs)
    d["session-hmac-pcr"] = engine(3, start_hmac(), S("PCR_Extend", (16,), ext256, sel=1),
                                   S("PCR_Event", (16,), b2(b"x"), sel=1),
                                   S("PCR_Reset", (16,), sel=1 | 0x04))
    d["session-hmac-bound"] = engine(3, start_hmac(bind=RH_OWNER, alg=SHA384, nonce=b"\x22" * 32),
                                     S("ClockSet", (RH_OWNER,), u64(200000000), sel=1),
                                     S("ClockRateAdjust", (RH_PLATFORM,), u8(1), sel=1))
    d["session-hmac-sequence"] = engine(3, start_hmac(alg=SHA1, nonce=b"\x33" * 20),
                                        S("HashSequenceStart", (), b2(b"") + u16(NULL_ALG)),
                                        S("SequenceUpdate", (SEQ0,), b2(b"data"), sel=1),
                                        S("EventSequenceComplete", (16, SEQ0), b2(b""), sel=2))
    d["session-policy"] = engine(3, start_hmac(typ=1), start_hmac(typ=3),
                                 S("PCR_Extend", (16,), ext256, sel=1),
                                 S("FlushContext", (), u32(0x03000000)))
    d["session-many"] = engine(3, *[start_hmac(nonce=bytes([i]) * 16) for i in range(9)],
                               S("FlushContext", (), u32(HMAC0)),
                               getcap(1, 0x02000000, 16), getcap(6, 0x200, 64))
    d["session-audit-pw"] = engine(3, start_hmac(), S("GetRandom", (), u16(8), sel=0x21 | 0x80),
                                   S("PCR_Extend", (16,), ext256, sel=0x08))
    # raw commands with explicit password areas
    d["raw-pw"] = engine(0, R(raw("PCR_Extend", u32(16), ext256, pw_area())),
                         R(raw("PCR_Reset", u32(16), b"", pw_area(1, b"wrong"))),
                         R(raw("GetRandom", b"", u16(8), pw_area())),
                         R(raw("Startup", b"", u16(0), pw_area())))
    # platform events
    d["events"] = engine(1, EV(6, b"drtm measurement"), S("PCR_Read", (), pcrsel((SHA256, [17, 18]))),
                         EV(4), S("ClockSet", (RH_OWNER,), u64(300000000)), EV(4),
                         EV(5), S("PCR_Allocate", (RH_PLATFORM,), pcrsel((SHA256, range(24)))),
                         EV(5), S("Shutdown", (), u16(1)), EV(7), R(raw("Startup", params=u16(1))),
                         S("ReadClock"), EV(7), R(raw("Startup", params=u16(1))),
                         R(raw("Startup", params=u16(0))), S("ReadClock"))
    return d


# ---- mssim ----
def ms_cmd(cmd, loc=0):
    return u32(8) + u8(loc) + u32(len(cmd)) + cmd


def mssim_seeds():
    d = {}
    startup = raw("Startup", params=u16(0))
    getrand = raw("GetRandom", params=u16(16))
    d["handshake"] = u8(0) + u8(0) + u32(15) + u32(1) + ms_cmd(startup) + u32(20)
    d["platform-signals"] = u8(1) + u8(0) + b"".join(u32(c) for c in
                                                     [2, 1, 11, 12, 3, 4, 9, 10, 13, 14, 17, 18]) + \
        u32(5) + u32(6) + u32(8) + b"drtmdata" + u32(7) + u32(21)
    d["two-ports"] = u8(2) + u8(4) + bytes([0x83, 0x7f, 0x83, 0x7f]) + \
        u32(2) + ms_cmd(getrand) + u32(1) + ms_cmd(startup)
    d["oversize"] = u8(8) + u8(2) + bytes([0x10, 0x7f]) + u32(8) + u8(0) + u32(5000) + \
        b"\x00" * 5000 + ms_cmd(getrand)
    d["stop"] = u8(8) + u8(0) + ms_cmd(getrand, 3) + u32(21) + ms_cmd(getrand)
    d["powered-off"] = u8(4) + u8(0) + ms_cmd(getrand) + u32(1) + ms_cmd(startup) + ms_cmd(getrand)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    a = ap.parse_args()
    for target, seeds in (("fuzz_engine", engine_seeds()), ("fuzz_mssim", mssim_seeds())):
        os.makedirs(os.path.join(a.corpus, target), exist_ok=True)
        for name, blob in seeds.items():
            with open(os.path.join(a.corpus, target, "hand-" + name), "wb") as f:
                f.write(blob)
    print("wrote %d engine and %d mssim seeds" % (len(engine_seeds()), len(mssim_seeds())))


if __name__ == "__main__":
    main()
