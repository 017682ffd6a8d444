#!/usr/bin/python3
"""Unseal the key of a systemd-cryptenroll TPM2 token through tpm2-tools.

usage: systemd_token.py IMAGE OUTFILE [PIN]

Reads the systemd-tpm2 token from IMAGE's LUKS2 header (cryptsetup luksDump
--dump-json-metadata), re-creates systemd 252's storage primary key (ECC
P-256 or RSA-2048, AES-128-CFB, in the owner hierarchy), loads the token's
blob (TPM2B_PRIVATE || TPM2B_PUBLIC) under it, satisfies the token's policy
in a policy session (PolicyPCR over the token's PCRs, then PolicyAuthValue
when the token has a PIN: the authValue is SHA-256 of the PIN), unseals,
and writes the LUKS passphrase systemd derives from the secret: its base64
encoding.  The policy session's digest is checked against the token's
tpm2-policy-hash before the unseal.  Exit 0 on success.
"""
import base64, hashlib, json, os, subprocess, sys, tempfile


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, **kw).stdout


def main():
    image, outfile = sys.argv[1], sys.argv[2]
    pin = sys.argv[3] if len(sys.argv) > 3 else None
    meta = json.loads(run("cryptsetup", "luksDump", "--dump-json-metadata", image))
    tok = next(t for t in meta["tokens"].values() if t["type"] == "systemd-tpm2")
    blob = base64.b64decode(tok["tpm2-blob"])
    n = int.from_bytes(blob[:2], "big")
    priv, pub = blob[: 2 + n], blob[2 + n:]
    alg = {"ecc": "ecc", "rsa": "rsa"}[tok.get("tpm2-primary-alg", "ecc")]
    bank = tok.get("tpm2-pcr-bank", "sha256")
    pcrs = ",".join(str(p) for p in tok["tpm2-pcrs"])
    with tempfile.TemporaryDirectory() as d:
        p = lambda name: os.path.join(d, name)
        open(p("priv"), "wb").write(priv)
        open(p("pub"), "wb").write(pub)
        run("tpm2_createprimary", "-Q", "-C", "o", "-g", "sha256", "-G", alg, "-c", p("primary.ctx"))
        run("tpm2_load", "-Q", "-C", p("primary.ctx"), "-u", p("pub"), "-r", p("priv"), "-c", p("sealed.ctx"))
        run("tpm2_flushcontext", "-t")
        run("tpm2_startauthsession", "--policy-session", "-S", p("s.ctx"))
        try:
            run("tpm2_policypcr", "-Q", "-S", p("s.ctx"), "-l", f"{bank}:{pcrs}")
            if tok.get("tpm2-pin"):
                run("tpm2_policyauthvalue", "-Q", "-S", p("s.ctx"))
            run("tpm2_getpolicydigest", "-S", p("s.ctx"), "-o", p("digest"))
            digest = open(p("digest"), "rb").read().hex()
            if digest != tok["tpm2-policy-hash"]:
                sys.exit(f"systemd_token.py: policy digest {digest} != token's {tok['tpm2-policy-hash']}")
            auth = "session:" + p("s.ctx")
            if tok.get("tpm2-pin"):
                auth += "+hex:" + hashlib.sha256(pin.encode()).hexdigest()
            secret = run("tpm2_unseal", "-c", p("sealed.ctx"), "-p", auth)
        finally:
            subprocess.run(["tpm2_flushcontext", p("s.ctx")], stderr=subprocess.DEVNULL)
            subprocess.run(["tpm2_flushcontext", "-t"], stderr=subprocess.DEVNULL)
    open(outfile, "wb").write(base64.b64encode(secret))


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        sys.exit(f"systemd_token.py: {' '.join(e.cmd)} failed ({e.returncode})")
