#!/usr/bin/python3
"""test_esapi.py - sessions, parameter encryption and audit through
tpm2-pytss (ESAPI), run by test_esapi.sh against a running server.

  test_esapi.py TCTI      e.g. mssim:host=127.0.0.1,port=2321

Prints TAP lines.  What it checks:
  - a session salted with an RSA primary, AES-128-CFB decrypt + encrypt,
    used for CreatePrimary, Create (the new key's password travels
    encrypted), Load and Sign; the signature verifies (cryptography);
  - an XOR session (decrypt + encrypt) on Hash and Unseal;
  - session audit: two audited GetRandoms, the session audit digest
    recomputed here from cpHash/rpHash, and its attestation signature;
  - command audit: SetCommandCodeAuditStatus, audited GetRandoms, the
    command audit digest, commandDigest and counter recomputed here.
"""

import hashlib
import os
import struct
import sys

from tpm2_pytss import ESAPI, TCTILdr
from tpm2_pytss.constants import (ESYS_TR, TPMA_NV, TPM2_ALG, TPM2_RH, TPM2_CC, TPM2_ECC, TPM2_SE, TPM2_ST, TPMA_OBJECT,
                                  TPMA_SESSION)
from tpm2_pytss.types import (TPM2B_NV_PUBLIC, TPMS_NV_PUBLIC, TPM2B_PUBLIC, TPM2B_SENSITIVE_CREATE, TPM2B_SENSITIVE_DATA, TPML_CC, TPMS_ATTEST,
                              TPMT_SIG_SCHEME, TPMT_SYM_DEF, TPMT_TK_HASHCHECK, TPMU_SYM_KEY_BITS, TPMU_SYM_MODE,
                              TPMS_SENSITIVE_CREATE, TPM2B_AUTH)
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

N = 0
FAILED = 0


def ok(name, cond, why=""):
    global N, FAILED
    N += 1
    if cond:
        print("ok %d - %s" % (N, name))
    else:
        FAILED += 1
        print("not ok %d - %s" % (N, name))
        if why:
            print("#   %s" % why)
    sys.stdout.flush()
    return cond


def attempt(name, fn):
    try:
        r = fn()
        ok(name, True)
        return r
    except Exception as e:  # noqa: BLE001 - report any failure as a TAP line
        ok(name, False, repr(e))
        return None


def aes_cfb():
    return TPMT_SYM_DEF(algorithm=TPM2_ALG.AES, keyBits=TPMU_SYM_KEY_BITS(aes=128),
                        mode=TPMU_SYM_MODE(aes=TPM2_ALG.CFB))


def xor():
    return TPMT_SYM_DEF(algorithm=TPM2_ALG.XOR, keyBits=TPMU_SYM_KEY_BITS(exclusiveOr=TPM2_ALG.SHA256),
                        mode=TPMU_SYM_MODE(aes=TPM2_ALG.NULL))


def ecc_pub(pub):
    p = pub.publicArea.unique.ecc
    return ec.EllipticCurvePublicNumbers(int.from_bytes(bytes(p.x), "big"), int.from_bytes(bytes(p.y), "big"),
                                         ec.SECP256R1()).public_key()


def verify_ecdsa(pub, digest, sig):
    der = utils.encode_dss_signature(int.from_bytes(bytes(sig.signature.ecdsa.signatureR), "big"),
                                     int.from_bytes(bytes(sig.signature.ecdsa.signatureS), "big"))
    ecc_pub(pub).verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    return True


def ecc_sign_template():
    return TPM2B_PUBLIC.parse("ecc256:ecdsa-sha256",
                              objectAttributes=TPMA_OBJECT.SIGN_ENCRYPT | TPMA_OBJECT.FIXEDTPM |
                              TPMA_OBJECT.FIXEDPARENT | TPMA_OBJECT.SENSITIVEDATAORIGIN |
                              TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA)


def h(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def be32(v):
    return struct.pack(">I", v)


def main():
    name, _, conf = sys.argv[1].partition(":")
    ectx = ESAPI(TCTILdr(name, conf))

    # ---- salted AES-CFB session: CreatePrimary, Create, Load, Sign
    srk_pub = TPM2B_PUBLIC.parse("rsa2048:aes128cfb",
                                 objectAttributes=TPMA_OBJECT.RESTRICTED | TPMA_OBJECT.DECRYPT |
                                 TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT |
                                 TPMA_OBJECT.SENSITIVEDATAORIGIN | TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA)
    r = attempt("RSA storage primary (the tpmKey)", lambda: ectx.create_primary(TPM2B_SENSITIVE_CREATE(), srk_pub))
    if r is None:
        return
    srk = r[0]
    s = attempt("salted HMAC session, AES-128-CFB",
                lambda: ectx.start_auth_session(srk, ESYS_TR.NONE, TPM2_SE.HMAC, aes_cfb(), TPM2_ALG.SHA256))
    if s is None:
        return
    ectx.trsess_set_attributes(s, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.DECRYPT | TPMA_SESSION.ENCRYPT)

    prim = attempt("CreatePrimary (ECC P-256) through the encrypting session",
                   lambda: ectx.create_primary(TPM2B_SENSITIVE_CREATE(
                       sensitive=TPMS_SENSITIVE_CREATE(userAuth=TPM2B_AUTH(b"primpw"))),
                       "ecc256:aes128cfb", session1=s))
    if prim is not None:
        ectx.tr_set_auth(prim[0], b"primpw")
        ok("CreatePrimary returned an ECC public area", prim[1].publicArea.type == TPM2_ALG.ECC)
        ectx.flush_context(prim[0])

    sens = TPM2B_SENSITIVE_CREATE(sensitive=TPMS_SENSITIVE_CREATE(userAuth=TPM2B_AUTH(b"signpw")))
    cr = attempt("Create a signing key (its password encrypted)",
                 lambda: ectx.create(srk, sens, ecc_sign_template(), session1=s))
    if cr is not None:
        priv, pub = cr[0], cr[1]
        key = attempt("Load it", lambda: ectx.load(srk, priv, pub, session1=s))
        if key is not None:
            ectx.tr_set_auth(key, b"signpw")
            digest = hashlib.sha256(b"vitrum parameter encryption").digest()
            scheme = TPMT_SIG_SCHEME(scheme=TPM2_ALG.ECDSA)
            scheme.details.any.hashAlg = TPM2_ALG.SHA256
            tk = TPMT_TK_HASHCHECK(tag=TPM2_ST.HASHCHECK, hierarchy=TPM2_RH.NULL)
            sig = attempt("Sign with the password, through the session (digest encrypted)",
                          lambda: ectx.sign(key, digest, scheme, tk, session1=s))
            if sig is not None:
                ok("the ECDSA signature verifies (cryptography)", attempt("verify", lambda: verify_ecdsa(pub, digest, sig)))
            ectx.tr_set_auth(key, b"wrong")
            try:
                ectx.sign(key, digest, scheme, tk, session1=s)
                ok("Sign with a wrong password fails", False)
            except Exception:  # noqa: BLE001
                ok("Sign with a wrong password fails", True)
            ectx.flush_context(key)

    # ---- authorization and encryption in two sessions: the first session's
    # HMAC then covers the second's nonceTPM (Part 1 §19.6.5)
    hs = attempt("unsalted HMAC session for authorization",
                 lambda: ectx.start_auth_session(ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.HMAC,
                                                 TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256))
    es = attempt("salted AES session for encryption only",
                 lambda: ectx.start_auth_session(srk, ESYS_TR.NONE, TPM2_SE.HMAC, aes_cfb(), TPM2_ALG.SHA256))
    if hs is not None and es is not None:
        ectx.trsess_set_attributes(hs, TPMA_SESSION.CONTINUESESSION)
        ectx.trsess_set_attributes(es, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.DECRYPT | TPMA_SESSION.ENCRYPT)
        secret = os.urandom(24)
        seal_sens = TPM2B_SENSITIVE_CREATE(sensitive=TPMS_SENSITIVE_CREATE(data=TPM2B_SENSITIVE_DATA(secret)))
        seal_pub = TPM2B_PUBLIC.parse("keyedhash", objectAttributes=TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT |
                                      TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA)
        sc = attempt("Create: session 1 authorizes, session 2 decrypts/encrypts",
                     lambda: ectx.create(srk, seal_sens, seal_pub, session1=hs, session2=es))
        if sc is not None:
            so = ectx.load(srk, sc[0], sc[1])
            un = attempt("Unseal the same way", lambda: ectx.unseal(so, session1=hs, session2=es))
            if un is not None:
                ok("two sessions: unsealed data is what was sealed", bytes(un) == secret)
            ectx.flush_context(so)
    for x_ in (hs, es):
        if x_ is not None:
            ectx.flush_context(x_)

    # ---- a session bound to an NV index before it is written: NV_Write
    # changes the index's Name, so the session is then bound no more and
    # its HMAC key takes the index's password (ESAPI tracks the Name)
    nvpub = TPM2B_NV_PUBLIC(nvPublic=TPMS_NV_PUBLIC(
        nvIndex=0x1500017, nameAlg=TPM2_ALG.SHA256, attributes=TPMA_NV.AUTHREAD | TPMA_NV.AUTHWRITE,
        dataSize=16))
    nv = attempt("define an NV index with a password", lambda: ectx.nv_define_space(b"nvpw", nvpub))
    if nv is not None:
        ectx.tr_set_auth(nv, b"nvpw")
        bs = attempt("session bound to the unwritten index",
                     lambda: ectx.start_auth_session(ESYS_TR.NONE, nv, TPM2_SE.HMAC, aes_cfb(), TPM2_ALG.SHA256))
        if bs is not None:
            ectx.trsess_set_attributes(bs, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.DECRYPT |
                                       TPMA_SESSION.ENCRYPT)
            data = os.urandom(16)
            attempt("NV_Write through it (bound)", lambda: ectx.nv_write(nv, data, 0, auth_handle=nv, session1=bs))
            rd = attempt("NV_Read through it (Name changed: not bound)",
                         lambda: ectx.nv_read(nv, 16, 0, auth_handle=nv, session1=bs))
            if rd is not None:
                ok("NV data read back", bytes(rd) == data)
            ectx.flush_context(bs)
        ectx.nv_undefine_space(nv)

    # ---- XOR session
    x = attempt("salted XOR session",
                lambda: ectx.start_auth_session(srk, ESYS_TR.NONE, TPM2_SE.HMAC, xor(), TPM2_ALG.SHA256))
    if x is not None:
        ectx.trsess_set_attributes(x, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.DECRYPT | TPMA_SESSION.ENCRYPT)
        data = os.urandom(64)
        hr = attempt("Hash through the XOR session", lambda: ectx.hash(data, TPM2_ALG.SHA256, ESYS_TR.OWNER, session1=x))
        if hr is not None:
            ok("XOR: the digest is right", bytes(hr[0]) == hashlib.sha256(data).digest())
        secret = os.urandom(32)
        seal_sens = TPM2B_SENSITIVE_CREATE(sensitive=TPMS_SENSITIVE_CREATE(data=TPM2B_SENSITIVE_DATA(secret)))
        seal_pub = TPM2B_PUBLIC.parse("keyedhash", objectAttributes=TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT |
                                      TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.NODA)
        sc = attempt("Create a sealed object (data encrypted with XOR)",
                     lambda: ectx.create(srk, seal_sens, seal_pub, session1=x))
        if sc is not None:
            so = ectx.load(srk, sc[0], sc[1])
            un = attempt("Unseal through the XOR session", lambda: ectx.unseal(so, session1=x))
            if un is not None:
                ok("XOR: unsealed data is what was sealed", bytes(un) == secret)
            ectx.flush_context(so)
        ectx.flush_context(x)
    ectx.flush_context(s)

    # ---- session audit
    akey_r = attempt("signing primary for the audit attestations",
                     lambda: ectx.create_primary(TPM2B_SENSITIVE_CREATE(), ecc_sign_template(),
                                                 primary_handle=ESYS_TR.ENDORSEMENT))
    if akey_r is None:
        return
    akey, apub = akey_r[0], akey_r[1]
    a = attempt("audit session (unsalted HMAC)",
                lambda: ectx.start_auth_session(ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.HMAC, TPMT_SYM_DEF(
                    algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256))
    if a is not None:
        ectx.trsess_set_attributes(a, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.AUDIT)
        expect = bytes(32)
        for n in (8, 24):
            rnd = bytes(ectx.get_random(n, session1=a))
            cp = h(be32(TPM2_CC.GetRandom), struct.pack(">H", n))
            rp = h(be32(0), be32(TPM2_CC.GetRandom), struct.pack(">H", len(rnd)), rnd)
            expect = h(expect, cp, rp)
        ok("two GetRandoms audited by the session", True)
        qual = b"session-audit-nonce"
        r = attempt("GetSessionAuditDigest", lambda: ectx.get_session_audit_digest(akey, a, qual))
        if r is not None:
            att_blob, sig = r
            att, _ = TPMS_ATTEST.unmarshal(bytes(att_blob))
            ok("attestation type is TPM_ST_ATTEST_SESSION_AUDIT", att.type == TPM2_ST.ATTEST_SESSION_AUDIT)
            ok("extraData is the qualifying data", bytes(att.extraData) == qual)
            got = bytes(att.attested.sessionAudit.sessionDigest)
            ok("session audit digest = H(H(0||cp1||rp1)||cp2||rp2)", got == expect,
               "got %s want %s" % (got.hex(), expect.hex()))
            ok("the session is the exclusive audit session", att.attested.sessionAudit.exclusiveSession == 1)
            ok("the attestation signature verifies",
               attempt("verify", lambda: verify_ecdsa(apub, hashlib.sha256(bytes(att_blob)).digest(), sig)))
        # another command not audited by it ends the exclusivity
        ectx.get_random(4)
        r = attempt("GetSessionAuditDigest after an unaudited command", lambda: ectx.get_session_audit_digest(akey, a, b""))
        if r is not None:
            att, _ = TPMS_ATTEST.unmarshal(bytes(r[0]))
            ok("no longer exclusive", att.attested.sessionAudit.exclusiveSession == 0)
            ok("digest unchanged by the unaudited command", bytes(att.attested.sessionAudit.sessionDigest) == expect)
        ectx.flush_context(a)

    # ---- command audit (auditAlg SHA-256: a TPM picks its own default)
    attempt("SetCommandCodeAuditStatus: auditAlg SHA-256",
            lambda: ectx.set_command_code_audit_status(TPM2_ALG.SHA256, TPML_CC(), TPML_CC()))
    attempt("GetCommandAuditDigest (clears the digest)", lambda: ectx.get_command_audit_digest(akey, b""))
    r = attempt("GetCommandAuditDigest again", lambda: ectx.get_command_audit_digest(akey, b""))
    counter0 = TPMS_ATTEST.unmarshal(bytes(r[0]))[0].attested.commandAudit.auditCounter if r else 0
    setl = TPML_CC([TPM2_CC.GetRandom])
    attempt("SetCommandCodeAuditStatus: audit GetRandom",
            lambda: ectx.set_command_code_audit_status(TPM2_ALG.NULL, setl, TPML_CC()))
    params = struct.pack(">H", TPM2_ALG.NULL) + be32(1) + be32(TPM2_CC.GetRandom) + be32(0)
    cp = h(be32(TPM2_CC.SetCommandCodeAuditStatus), be32(TPM2_RH.OWNER), params)
    rp = h(be32(0), be32(TPM2_CC.SetCommandCodeAuditStatus))
    expect = h(bytes(32), cp, rp)
    for n in (16, 5):
        rnd = bytes(ectx.get_random(n))
        cp = h(be32(TPM2_CC.GetRandom), struct.pack(">H", n))
        rp = h(be32(0), be32(TPM2_CC.GetRandom), struct.pack(">H", len(rnd)), rnd)
        expect = h(expect, cp, rp)
    r = attempt("GetCommandAuditDigest", lambda: ectx.get_command_audit_digest(akey, b"q"))
    if r is not None:
        att, _ = TPMS_ATTEST.unmarshal(bytes(r[0]))
        ai = att.attested.commandAudit
        ok("attestation type is TPM_ST_ATTEST_COMMAND_AUDIT", att.type == TPM2_ST.ATTEST_COMMAND_AUDIT)
        ok("digestAlg SHA-256", ai.digestAlg == TPM2_ALG.SHA256)
        ok("command audit digest recomputed", bytes(ai.auditDigest) == expect,
           "got %s want %s" % (bytes(ai.auditDigest).hex(), expect.hex()))
        want_cd = h(be32(TPM2_CC.SetCommandCodeAuditStatus), be32(TPM2_CC.GetRandom))
        ok("commandDigest = H(audited command codes)", bytes(ai.commandDigest) == want_cd)
        ok("auditCounter went up by one", ai.auditCounter == counter0 + 1,
           "%d then %d" % (counter0, ai.auditCounter))
        ok("the attestation signature verifies",
           attempt("verify", lambda: verify_ecdsa(apub, hashlib.sha256(bytes(r[0])).digest(), r[1])))
    attempt("SetCommandCodeAuditStatus: stop auditing GetRandom",
            lambda: ectx.set_command_code_audit_status(TPM2_ALG.NULL, TPML_CC(), setl))
    ectx.flush_context(akey)
    ectx.flush_context(srk)
    ectx.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        ok("no unexpected exception", False, repr(e))
    print("1..%d" % N)
    sys.exit(1 if FAILED else 0)
