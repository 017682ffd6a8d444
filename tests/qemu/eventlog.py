#!/usr/bin/env python3
"""Replay a TCG PC Client crypto-agile event log (binary_bios_measurements).

Layout (TCG PC Client Platform Firmware Profile, section 10 "Event Logging";
all integers little-endian):

  first event, SHA-1 log format (TCG_PCClientPCREvent):
      pcrIndex u32, eventType u32 (EV_NO_ACTION), digest[20] (zero),
      eventSize u32, event = TCG_EfiSpecIdEvent:
          signature[16] "Spec ID Event03\\0", platformClass u32,
          specVersionMinor u8, specVersionMajor u8, specErrata u8,
          uintnSize u8, numberOfAlgorithms u32,
          numberOfAlgorithms x {algorithmId u16, digestSize u16},
          vendorInfoSize u8, vendorInfo[vendorInfoSize]
  every later event (TCG_PCR_EVENT2):
      pcrIndex u32, eventType u32,
      digests = TPML_DIGEST_VALUES: count u32, count x {hashAlg u16,
          digest[size given for hashAlg in the Spec ID event]},
      eventSize u32, event[eventSize]

EV_NO_ACTION events are not extended.  A "StartupLocality\\0" EV_NO_ACTION
event (PFP section 10.4.5.3) sets the last byte of PCR 0's initial value to
the locality the firmware started the TPM from.  Extend: PCR = H(PCR || d).

Usage: eventlog.py LOGFILE [--events]
prints "pcr ALG INDEX HEX" for every PCR that the log extends (and PCRs 0-7
of every bank), "events N" with the number of extending events, and with
--events one line per event.
"""
import hashlib
import struct
import sys

EV_NO_ACTION = 0x3
SPEC_ID_SIGNATURE = b"Spec ID Event03\0"
STARTUP_LOCALITY_SIGNATURE = b"StartupLocality\0"

# TPM_ALG_ID -> hashlib name (TPM 2.0 Part 2, Table 9 / TCG Algorithm Registry)
ALG_NAMES = {
    0x0004: "sha1",
    0x000B: "sha256",
    0x000C: "sha384",
    0x000D: "sha512",
    0x0012: "sm3_256",
    0x0027: "sha3_256",
    0x0028: "sha3_384",
    0x0029: "sha3_512",
}


class LogError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise LogError("truncated %s at offset %d (need %d bytes, %d left)"
                           % (what, self.pos, n, self.left()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self, what):
        return self.take(1, what)[0]

    def u16(self, what):
        return struct.unpack("<H", self.take(2, what))[0]

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]


def parse(data):
    """Return (algs {alg_id: size}, events [(pcr, type, {alg: digest}, event)])."""
    r = Reader(data)
    pcr = r.u32("first event pcrIndex")
    etype = r.u32("first event eventType")
    r.take(20, "first event digest")
    size = r.u32("first event eventSize")
    ev = r.take(size, "Spec ID event")
    if etype != EV_NO_ACTION or pcr != 0 or not ev.startswith(SPEC_ID_SIGNATURE):
        raise LogError("not a crypto-agile log: first event is not Spec ID Event03")
    s = Reader(ev)
    s.take(16, "signature")
    s.u32("platformClass")
    s.u8("specVersionMinor")
    s.u8("specVersionMajor")
    s.u8("specErrata")
    s.u8("uintnSize")
    nalg = s.u32("numberOfAlgorithms")
    if nalg == 0 or nalg > 64:
        raise LogError("implausible numberOfAlgorithms %d" % nalg)
    algs = {}
    for _ in range(nalg):
        alg = s.u16("algorithmId")
        algs[alg] = s.u16("digestSize")
    vlen = s.u8("vendorInfoSize")
    s.take(vlen, "vendorInfo")

    events = []
    while r.left() > 0:
        if r.left() < 12:
            raise LogError("%d stray bytes at the end of the log" % r.left())
        start = r.pos
        pcr = r.u32("pcrIndex")
        etype = r.u32("eventType")
        count = r.u32("digest count")
        if count > len(algs):
            raise LogError("event at offset %d has %d digests, the log declares %d algorithms"
                           % (start, count, len(algs)))
        digests = {}
        for _ in range(count):
            alg = r.u16("hashAlg")
            if alg not in algs:
                raise LogError("event at offset %d uses algorithm 0x%04x not in the Spec ID event"
                               % (start, alg))
            digests[alg] = r.take(algs[alg], "digest")
        size = r.u32("eventSize")
        data_ = r.take(size, "event data")
        events.append((pcr, etype, digests, data_))
    return algs, events


def replay(algs, events):
    """Return ({alg: {pcr: value}}, number of extending events)."""
    pcrs = {alg: {} for alg in algs}
    locality = 0
    extended = 0
    for pcr, etype, digests, data in events:
        if etype == EV_NO_ACTION:
            if pcr == 0 and data.startswith(STARTUP_LOCALITY_SIGNATURE) and \
                    len(data) >= len(STARTUP_LOCALITY_SIGNATURE) + 1:
                locality = data[len(STARTUP_LOCALITY_SIGNATURE)]
            continue
        extended += 1
        for alg, d in digests.items():
            bank = pcrs[alg]
            if pcr not in bank:
                init = bytearray(algs[alg])
                if pcr == 0:
                    init[-1] = locality
                bank[pcr] = bytes(init)
            name = ALG_NAMES.get(alg)
            if name is None:
                raise LogError("cannot replay unknown hash algorithm 0x%04x" % alg)
            bank[pcr] = hashlib.new(name, bank[pcr] + d).digest()
    # untouched PCRs 0-7 of each bank keep their reset value
    for alg, bank in pcrs.items():
        for i in range(8):
            if i not in bank:
                init = bytearray(algs[alg])
                if i == 0:
                    init[-1] = locality
                bank[i] = bytes(init)
    return pcrs, extended


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    try:
        algs, events = parse(data)
        pcrs, extended = replay(algs, events)
    except LogError as e:
        print("error %s" % e)
        return 1
    if "--events" in argv[2:]:
        for pcr, etype, digests, ev in events:
            print("event pcr=%d type=0x%x size=%d %s" % (
                pcr, etype, len(ev), " ".join(
                    "%s:%s" % (ALG_NAMES.get(a, hex(a)), d.hex()) for a, d in digests.items())))
    print("algs %s" % " ".join(ALG_NAMES.get(a, "0x%04x" % a) for a in algs))
    print("events %d" % extended)
    for alg in sorted(pcrs):
        for i in sorted(pcrs[alg]):
            print("pcr %s %d %s" % (ALG_NAMES.get(alg, "0x%04x" % alg), i, pcrs[alg][i].hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
