/* vitrum's vendor commands: the owner's trust store for firmware releases,
 * bundle verification and the anti-rollback floor (docs/VENDOR-COMMANDS.md
 * has the wire layouts).  Shared by the engine and the host tools. */
#ifndef VITRUM_VENDOR_H
#define VITRUM_VENDOR_H

#include <stdint.h>

/* Command codes: TPM_CC with the V bit (TPM 2.0 Part 2 §6.5.2, TPMA_CC.V,
 * bit 29) and a vitrum command index. */
#define VT_CC_VENDOR 0x20000000u
#define VT_CC_TRUST_ADD (VT_CC_VENDOR | 0x0001u)     /* owner */
#define VT_CC_TRUST_REMOVE (VT_CC_VENDOR | 0x0002u)  /* owner */
#define VT_CC_TRUST_POLICY (VT_CC_VENDOR | 0x0003u)  /* owner */
#define VT_CC_TRUST_READ (VT_CC_VENDOR | 0x0004u)    /* no authorization */
#define VT_CC_VERIFY_BUNDLE (VT_CC_VENDOR | 0x0005u) /* no authorization */
#define VT_CC_FLOOR_LOWER (VT_CC_VENDOR | 0x0006u)   /* owner and platform */

/* Key roles in the trust store (TrustAdd / TrustRemove parameter 1). */
#define VT_TRUST_RELEASE 1u /* signs manifests: note key type 0x01 */
#define VT_TRUST_LOG 2u     /* signs checkpoints: type 0x01 */
#define VT_TRUST_WITNESS 3u /* cosigns checkpoints: type 0x04 */

/* Bounds of the trust store. */
#define VT_TRUST_MAX_KEYS 8u   /* per role */
#define VT_TRUST_NAME_MAX 64u  /* key names and release names, octets */
#define VT_TRUST_MAX_FLOORS 8u /* release names with an SVN floor */
#define VT_TRUST_VKEY_MAX 256u /* a verifier key string */

/* "Not in a log" in a log index field. */
#define VT_TRUST_NO_LOG UINT64_MAX

/* VerifyBundle refusals that no TCG code says: format-zero response codes
 * with the vendor bit (TPM 2.0 Part 2 §6.6.3: bit 8 set, bit 10 T = 1,
 * vendor defined), 0x500 + n.  Malformed input gets TCG codes with the
 * parameter number (TPM_RC_VALUE + RC_P + RC_1 ...). */
#define VT_RC_VENDOR_BASE 0x500u
#define VT_RC_BAD_SIGNATURE 0x501u /* a signature by an enrolled key does not verify */
#define VT_RC_NOT_TRUSTED 0x502u   /* manifest unsigned or signed by no enrolled release key */
#define VT_RC_NOT_LOGGED 0x503u    /* the policy requires the log; no checkpoint or proof */
#define VT_RC_LOG_KEY 0x504u       /* checkpoint not (validly) signed by an enrolled log key */
#define VT_RC_PROOF 0x505u         /* the inclusion proof does not lead to the checkpoint */
#define VT_RC_QUORUM 0x506u        /* fewer enrolled witnesses cosigned than the quorum */
#define VT_RC_ROLLBACK 0x507u      /* SVN below the floor for this release name */
#define VT_RC_DIGEST 0x508u        /* the payload digest is not the manifest's */
#define VT_RC_FLOORS_FULL 0x509u   /* set_firmware: no room for another release name */

/* The firmware identity NV index (read-only, written by the engine when
 * the host calls vt_engine_set_firmware): in the TPM manufacturer's range
 * of the TCG handle registry (0x01000000-0x013FFFFF).  Data, 176 octets:
 * SHA-256 of the image (32) | SVN (8, big-endian) | log index (8, all
 * ones: not logged) | release name (64, NUL padded) | version (64). */
#define VT_FW_NV_INDEX 0x013FFF00u
#define VT_FW_NV_SIZE 176u

#endif
