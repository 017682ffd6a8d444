#!/usr/bin/env python3
"""Turn tpm2-tss pcap TCTI captures into fuzz corpus files.

The pcap TCTI (libtss2-tcti-pcap, TCTI_PCAP_FILE=...) writes a pcapng file
with one fake TCP/IP packet per transmit (client -> TPM port 2321) and
receive.  This script pulls the TPM command frames out of the client->TPM
direction and writes them in the formats the fuzz targets read:

  fuzz_engine   one file per capture: the whole command sequence as raw
                records (ctl 0x08: fix the header size), and a
                structure-aware variant where commands of known shape are
                re-written as (sel, cc, handles, params) so the harness
                re-creates their authorization (HMAC sessions from the live
                TPM would not verify on replay);
  fuzz_mssim    one file per capture: the sequence as mssim SEND_COMMAND
                frames, delivered in one piece, and in a few chunkings.

File names are the SHA-1 of the content (as libFuzzer names them), so a
re-run does not duplicate files.

  pcap_to_corpus.py [--corpus DIR] [--max-bytes N] CAPTURE.pcap...
  pcap_to_corpus.py --dump CAPTURE.pcap      print the commands found
"""
import argparse
import hashlib
import os
import struct
import sys

TPM_PORT = 2321

# command code -> number of handles in the handle area (TPM 2.0 Part 3),
# for the commands vitrum implements (src/engine/cmd_table.c)
HANDLES = {
    0x128: 1, 0x12B: 1, 0x130: 1, 0x13C: 1, 0x13D: 1, 0x13E: 1, 0x142: 0,
    0x143: 0, 0x144: 0, 0x145: 0, 0x146: 0, 0x15C: 1, 0x165: 0, 0x176: 2,
    0x17A: 0, 0x17B: 0, 0x17C: 0, 0x17D: 0, 0x17E: 0, 0x181: 0, 0x182: 1,
    0x185: 2, 0x186: 0, 0x18A: 0,
}


def pcapng_packets(data):
    """Yield (linktype, packet bytes) from a pcapng (or classic pcap) file."""
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        off = 0
        endian = "<"
        linktypes = []
        while off + 12 <= len(data):
            btype = struct.unpack_from(endian + "I", data, off)[0]
            if btype == 0x0A0D0D0A:
                bom = data[off + 8:off + 12]
                endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                linktypes = []
            blen = struct.unpack_from(endian + "I", data, off + 4)[0]
            if blen < 12 or off + blen > len(data):
                break
            body = data[off + 8:off + blen - 4]
            if btype == 1:  # interface description
                linktypes.append(struct.unpack_from(endian + "H", body, 0)[0])
            elif btype == 6:  # enhanced packet
                iface, _, _, caplen, _ = struct.unpack_from(endian + "IIIII", body, 0)
                lt = linktypes[iface] if iface < len(linktypes) else 228
                yield lt, body[20:20 + caplen]
            elif btype == 3:  # simple packet
                yield (linktypes[0] if linktypes else 228), body[4:]
            off += blen
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a pcap or pcapng file")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, off + 8)[0]
        yield linktype, data[off + 16:off + 16 + caplen]
        off += 16 + caplen


def tcp_payload(linktype, pkt):
    """(src port, dst port, payload) of a TCP packet, or None."""
    if linktype == 1:  # Ethernet
        if len(pkt) < 14:
            return None
        pkt = pkt[14:]
    elif linktype == 0:  # BSD loopback
        pkt = pkt[4:]
    if not pkt:
        return None
    ver = pkt[0] >> 4
    if ver == 4:
        ihl = (pkt[0] & 15) * 4
        if len(pkt) < ihl + 20 or pkt[9] != 6:
            return None
        total = struct.unpack_from(">H", pkt, 2)[0]
        tcp = pkt[ihl:total if total >= ihl else len(pkt)]
    elif ver == 6:
        if len(pkt) < 40 + 20 or pkt[6] != 6:
            return None
        tcp = pkt[40:40 + struct.unpack_from(">H", pkt, 4)[0]]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack_from(">HH", tcp, 0)
    doff = (tcp[12] >> 4) * 4
    return sport, dport, tcp[doff:]


def commands_of(path):
    """The TPM command frames the client sent, in order."""
    with open(path, "rb") as f:
        data = f.read()
    stream = b""
    for lt, pkt in pcapng_packets(data):
        t = tcp_payload(lt, pkt)
        if t is None:
            continue
        sport, dport, payload = t
        if dport == TPM_PORT and sport != TPM_PORT:
            stream += payload
    cmds = []
    off = 0
    while off + 10 <= len(stream):
        size = struct.unpack_from(">I", stream, off + 2)[0]
        if size < 10 or off + size > len(stream):
            break
        cmds.append(stream[off:off + size])
        off += size
    return cmds


def structured(cmd):
    """A structure-aware engine record body for cmd, or None."""
    tag, size, cc = struct.unpack_from(">HII", cmd, 0)
    if cc not in HANDLES:
        return None
    nh = HANDLES[cc]
    off = 10 + 4 * nh
    if len(cmd) < off:
        return None
    handles = cmd[10:off]
    if tag == 0x8002:
        if len(cmd) < off + 4:
            return None
        off += 4 + struct.unpack_from(">I", cmd, off)[0]
        if off > len(cmd):
            return None
    params = cmd[off:]
    # sel 0x01: HMAC sessions where the harness tracks one, else password
    return bytes([0x01]) + struct.pack(">I", cc) + handles + params


def record(ctl, body):
    return bytes([ctl]) + struct.pack(">H", len(body)) + body


def engine_inputs(cmds):
    out = []
    raw = b"\x00" + b"".join(record(0x08, c) for c in cmds[:64])
    out.append(raw)
    recs = []
    for c in cmds[:64]:
        s = structured(c)
        recs.append(record(0x10, s) if s is not None else record(0x08, c))
    out.append(b"\x03" + b"".join(recs))
    return out


def mssim_inputs(cmds):
    stream = b"".join(struct.pack(">IBI", 8, 0, len(c)) + c for c in cmds)
    return [
        b"\x08\x00" + stream,                      # started, one piece
        b"\x08\x03\x08\x7f\x00" + stream,          # 9 bytes, rest, 1 byte ...
    ]


def write(dirpath, blob, max_bytes):
    if len(blob) > max_bytes:
        return False
    os.makedirs(dirpath, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()
    path = os.path.join(dirpath, name)
    if os.path.exists(path):
        return False
    with open(path, "wb") as f:
        f.write(blob)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    ap.add_argument("--max-bytes", type=int, default=16384)
    ap.add_argument("--dump", action="store_true")
    ap.add_argument("captures", nargs="+")
    a = ap.parse_args()
    new = 0
    for cap in a.captures:
        cmds = commands_of(cap)
        if a.dump:
            for c in cmds:
                print("%s %s" % (os.path.basename(cap), c.hex()))
            continue
        if not cmds:
            print("%s: no commands" % cap, file=sys.stderr)
            continue
        for blob in engine_inputs(cmds):
            new += write(os.path.join(a.corpus, "fuzz_engine"), blob, a.max_bytes)
        for blob in mssim_inputs(cmds):
            new += write(os.path.join(a.corpus, "fuzz_mssim"), blob, a.max_bytes)
    if not a.dump:
        print("%d new corpus files" % new)


if __name__ == "__main__":
    main()
