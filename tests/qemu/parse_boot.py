#!/usr/bin/env python3
"""Read what tests/qemu/init printed on the guest's data serial port.

Usage: parse_boot.py DATA_LOG OUT_DIR

Writes OUT_DIR/evlog.bin (the guest's binary_bios_measurements) and
OUT_DIR/summary, one "key=value" a line:
  end=yes|no              the init script got to VT-END
  kernel=VERSION
  dev_tpm0=yes|no, dev_tpmrm0=yes|no
  version=N               /sys/class/tpm/tpm0/tpm_version_major
  pcrN=HEX                sha256 PCR N (0-7) as the guest kernel read it
  evlog_bytes=N           size the guest reported; evlog_ok=yes|no
  replay=ok | replay=error MESSAGE
  replay_events=N         events the log extends
  replay_pcrN=HEX         sha256 PCR N from the replayed log
  key=ABSENT,PERSISTED | PRESENT,SIGNED | ... (the VT-KEY steps in order)
  key_name=HEX            name of the persistent key
  key2=PERSISTED | PRESENT   the reboot marker key (vt.reboot=1)
  reboot=yes              the guest rebooted after this pass
  cap_handles=H H ...     tpm2_getcap handles-persistent (before the key steps)
  time_STAGE=SECONDS      guest uptime at init / evlog / tools (done)
  fail=TEXT               one line per VT-FAIL
  passes=N                how many times the guest started (VT-BEGIN); the
                          items of pass N >= 2 are prefixed "passN_", its
                          event log is OUT_DIR/evlogN.bin
"""
import base64
import binascii
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eventlog  # noqa: E402

SHA256 = 0x000B


def parse_pass(lines, outdir, n):
    """The summary items (dict) and VT-FAIL messages of one boot pass."""
    out = {"end": "no"}
    fails = []
    keys = []
    keys2 = []
    caps = []
    b64 = None
    evlog = None
    for ln in lines:
        if b64 is not None:
            if ln.startswith("VT-EVLOG-END"):
                try:
                    evlog = base64.b64decode("".join(b64), validate=True)
                except (binascii.Error, ValueError) as e:
                    fails.append("evlog: bad base64: %s" % e)
                b64 = None
            else:
                b64.append(ln.strip())
            continue
        if not ln.startswith("VT-"):
            continue
        word, _, rest = ln[3:].partition(" ")
        if word == "END":
            out["end"] = "yes"
        elif word == "KERNEL":
            out["kernel"] = rest
        elif word == "DEV":
            dev, _, yes = rest.partition(" ")
            out["dev_" + os.path.basename(dev)] = yes
        elif word == "VERSION":
            out["version"] = rest.strip()
        elif word == "PCR":
            idx, _, v = rest.partition(" ")
            out["pcr" + idx] = v.strip().lower()
        elif word == "EVLOG-BEGIN":
            out["evlog_bytes"] = rest.strip()
            b64 = []
        elif word == "KEY":
            what, _, val = rest.partition(" ")
            if what == "NAME":
                out["key_name"] = val.strip().lower()
            else:
                keys.append(what)
        elif word == "KEY2":
            keys2.append(rest.partition(" ")[0])
        elif word == "REBOOT":
            out["reboot"] = "yes"
        elif word == "CAP":
            caps.extend(t for t in rest.split() if t.startswith("0x"))
        elif word == "TIME":
            stage, _, t = rest.partition(" ")
            out["time_" + stage] = t.strip()
        elif word == "FAIL":
            fails.append(rest)

    out["key"] = ",".join(keys)
    out["key2"] = ",".join(keys2)
    out["cap_handles"] = " ".join(caps)
    if evlog is not None:
        name = "evlog.bin" if n == 1 else "evlog%d.bin" % n
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(evlog)
        out["evlog_ok"] = "yes" if str(len(evlog)) == out.get("evlog_bytes") else "no"
        try:
            algs, events = eventlog.parse(evlog)
            pcrs, extended = eventlog.replay(algs, events)
            if SHA256 not in pcrs:
                raise eventlog.LogError("the log has no sha256 digests")
            out["replay"] = "ok"
            out["replay_events"] = str(extended)
            for i in range(8):
                out["replay_pcr%d" % i] = pcrs[SHA256][i].hex()
        except eventlog.LogError as e:
            out["replay"] = "error %s" % e
    else:
        out["evlog_ok"] = "no"
        out["replay"] = "error no event log in the guest output"

    return out, fails


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        text = f.read().decode("latin-1")
    outdir = argv[2]
    lines = [ln.rstrip("\r") for ln in text.split("\n")]

    # one pass per VT-BEGIN: a guest that reboots inside one QEMU run
    # prints several; pass 1's keys are plain, pass N's are "passN_KEY"
    passes = []
    cur = None
    for ln in lines:
        if ln.startswith("VT-BEGIN"):
            cur = []
            passes.append(cur)
        if cur is not None:
            cur.append(ln)
    results = [parse_pass(p, outdir, i + 1) for i, p in enumerate(passes)] or \
        [parse_pass([], outdir, 1)]
    items = [("passes", str(len(passes)))]
    for i, (out, fails) in enumerate(results):
        pre = "" if i == 0 else "pass%d_" % (i + 1)
        items += [(pre + k, v) for k, v in out.items()]
        items += [(pre + "fail", m) for m in fails]

    with open(os.path.join(outdir, "summary"), "w") as f:
        for k, v in items:
            f.write("%s=%s\n" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
