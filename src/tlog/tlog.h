/* Release bundles and transparency logs: the verification core.
 *
 * Everything here is I/O-free and allocation-free (OpenSSL may allocate
 * inside Ed25519 verification, as elsewhere in the engine), with bounded
 * stack, so the engine can call it from a vendor command and the host tools
 * (tools/release_cmd.c, log_cmd.c, witness_cmd.c) use the very same code.
 * Formats: docs/TRANSPARENCY.md.
 *
 *  - Merkle trees: RFC 6962 §2.1 / RFC 9162 §2.1 hashing, proofs and their
 *    verification (RFC 9162 §2.1.3.2 and §2.1.4.2).
 *  - Signed notes (c2sp.org/signed-note), Ed25519 (type 0x01) and
 *    timestamped Ed25519 cosignatures (type 0x04, c2sp.org/tlog-cosignature).
 *  - Checkpoints (c2sp.org/tlog-checkpoint).
 *  - vitrum release manifests and bundles.
 *
 * Every parser treats its input as hostile: lengths are checked before any
 * byte is read, and a parse result points into the caller's buffer. */
#ifndef VT_TLOG_H
#define VT_TLOG_H

#include "common/hex.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_TLOG_HASH_SIZE 32u
/* A proof for a tree of up to 2^64 leaves has at most 64 (inclusion) or
 * 2*64 (consistency) hashes. */
#define VT_TLOG_MAX_PROOF 128u

typedef enum {
    VT_TLOG_OK = 0,
    VT_TLOG_EFORMAT,   /* malformed input */
    VT_TLOG_EPROOF,    /* a proof that does not verify */
    VT_TLOG_ESIG,      /* a signature by a known key that does not verify */
    VT_TLOG_ENOKEY,    /* no signature by any known key */
    VT_TLOG_ERANGE,    /* index / size out of range */
    VT_TLOG_EDIGEST,   /* payload size or digest differs from the manifest */
    VT_TLOG_ECRYPTO,   /* the crypto library failed */
    VT_TLOG_ESPACE,    /* output buffer too small */
} vt_tlog_rc;

const char *vt_tlog_strerror(vt_tlog_rc rc);

/* ---- encodings (RFC 4648 §4 base64 with padding, lowercase hex) ---- */
/* Decode exactly len characters; returns the number of bytes or -1 when
 * the text is not canonical base64 or does not fit in cap. */
long vt_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap);
/* Encode; writes a NUL; returns the length or 0 when cap is too small. */
size_t vt_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
/* Canonical decimal (no sign, no leading zero but "0") into a uint64. */
int vt_parse_u64(const char *s, size_t len, uint64_t *out);
/* The next '\n'-terminated line of text[*pos..len) (without the '\n'),
 * advancing *pos; false at the end or before an unterminated line. */
bool vt_tlog_next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n);

/* ---- Ed25519 (OpenSSL EVP) ---- */
int vt_ed25519_verify(const uint8_t pub[32], const uint8_t sig[64],
                      const void *msg, size_t len); /* 0 iff valid */
/* Host side: public key of a 32-byte seed, and signing. 0 on success. */
int vt_ed25519_public(const uint8_t seed[32], uint8_t pub[32]);
int vt_ed25519_sign(const uint8_t seed[32], const void *msg, size_t len, uint8_t sig[64]);

/* ---- Merkle trees ---- */
typedef struct { uint8_t h[VT_TLOG_HASH_SIZE]; } vt_tlog_hash;

/* SHA-256(0x00 || data), SHA-256(0x01 || l || r) (RFC 6962 §2.1). */
void vt_tlog_leaf_hash(const void *data, size_t len, vt_tlog_hash *out);
void vt_tlog_node_hash(const vt_tlog_hash *l, const vt_tlog_hash *r, vt_tlog_hash *out);

/* RFC 9162 §2.1.3.2: the leaf hash at index in a tree of size with this
 * root. */
vt_tlog_rc vt_tlog_verify_inclusion(const vt_tlog_hash *leaf, uint64_t index, uint64_t size,
                                    const vt_tlog_hash *proof, size_t n,
                                    const vt_tlog_hash *root);
/* RFC 9162 §2.1.4.2: the tree (size1, root1) is a prefix of (size2, root2).
 * size1 == size2 needs an empty proof and equal roots; size1 == 0 needs an
 * empty proof. */
vt_tlog_rc vt_tlog_verify_consistency(uint64_t size1, uint64_t size2,
                                      const vt_tlog_hash *root1, const vt_tlog_hash *root2,
                                      const vt_tlog_hash *proof, size_t n);

/* Proof generation over leaf hashes the caller keeps (RFC 6962 §2.1.1,
 * §2.1.2).  get_leaf returns 0 on success.  Work is O(size) hashes. */
typedef int (*vt_tlog_leaf_fn)(void *ctx, uint64_t index, vt_tlog_hash *out);
vt_tlog_rc vt_tlog_root(vt_tlog_leaf_fn get, void *ctx, uint64_t size, vt_tlog_hash *root);
vt_tlog_rc vt_tlog_prove_inclusion(vt_tlog_leaf_fn get, void *ctx, uint64_t index,
                                   uint64_t size, vt_tlog_hash *proof, size_t cap, size_t *n);
vt_tlog_rc vt_tlog_prove_consistency(vt_tlog_leaf_fn get, void *ctx, uint64_t size1,
                                     uint64_t size2, vt_tlog_hash *proof, size_t cap,
                                     size_t *n);

/* The same proofs from stored interior nodes, in O(log size) node reads:
 * get_node returns 0 and the hash of the complete subtree of height level
 * whose leaves are [index << level, (index + 1) << level) (level 0: a leaf
 * hash).  The results equal the O(size) functions' above.  Every subtree an
 * RFC 6962 proof names is complete except at most one at the right edge of
 * the tree, which is folded from at most 64 complete ones. */
typedef int (*vt_tlog_node_fn)(void *ctx, unsigned level, uint64_t index, vt_tlog_hash *out);
vt_tlog_rc vt_tlog_root_nodes(vt_tlog_node_fn get, void *ctx, uint64_t size, vt_tlog_hash *root);
vt_tlog_rc vt_tlog_prove_inclusion_nodes(vt_tlog_node_fn get, void *ctx, uint64_t index,
                                         uint64_t size, vt_tlog_hash *proof, size_t cap,
                                         size_t *n);
vt_tlog_rc vt_tlog_prove_consistency_nodes(vt_tlog_node_fn get, void *ctx, uint64_t size1,
                                           uint64_t size2, vt_tlog_hash *proof, size_t cap,
                                           size_t *n);

/* Storage order of interior nodes for an append-only store: the nodes of
 * height >= 1 in the order they become complete (after leaf m is appended,
 * the new nodes of heights 1, 2, ... ending at m).  Returns the position of
 * node (level >= 1, index); a tree of size n has n - popcount(n) of them. */
uint64_t vt_tlog_node_pos(unsigned level, uint64_t index);
uint64_t vt_tlog_node_count(uint64_t size);

/* ---- signed notes (c2sp.org/signed-note) ---- */
#define VT_NOTE_MAX_SIGS 16u     /* the spec's minimum; more is refused */
#define VT_NOTE_MAX_SIGLEN 96u   /* longer signatures are kept as unknown */
#define VT_NOTE_NAME_MAX 128u
#define VT_NOTE_TEXT_MAX 4096u   /* cosigned checkpoints and manifests */
#define VT_NOTE_TYPE_ED25519 0x01u
#define VT_NOTE_TYPE_COSIG_V1 0x04u

typedef struct {
    const char *name;
    size_t name_len;
    uint32_t key_id;
    uint8_t sig[VT_NOTE_MAX_SIGLEN];
    size_t sig_len; /* 0 when the signature is longer than VT_NOTE_MAX_SIGLEN */
} vt_note_sig;

typedef struct {
    const char *text; /* the signed text, ending in '\n' */
    size_t text_len;
    size_t nsigs;
    vt_note_sig sigs[VT_NOTE_MAX_SIGS];
} vt_note;

typedef struct {
    char name[VT_NOTE_NAME_MAX + 1];
    size_t name_len;
    uint8_t type; /* VT_NOTE_TYPE_* */
    uint8_t pub[32];
    uint32_t key_id;
} vt_note_key;

vt_tlog_rc vt_note_parse(vt_note *n, const char *buf, size_t len);
/* A key name: non-empty, at most VT_NOTE_NAME_MAX bytes, no space, no '+',
 * no control character. */
bool vt_note_name_ok(const char *name, size_t len);
/* key ID = SHA-256(name || 0x0A || type || pub)[:4] */
vt_tlog_rc vt_note_key_init(vt_note_key *k, const char *name, size_t name_len, uint8_t type,
                            const uint8_t pub[32]);
/* Verifier key "name+hex8+base64(type||pub)"; the ID must match. */
vt_tlog_rc vt_note_key_parse(vt_note_key *k, const char *s, size_t len);
size_t vt_note_key_format(const vt_note_key *k, char *out, size_t cap);

/* Verify the signatures of known keys: a signature whose name and key ID
 * match keys[i] must verify (else VT_TLOG_ESIG, the whole note is refused);
 * signatures of unknown keys are ignored.  Bit i of *verified is set when
 * keys[i] signed (nkeys <= 32); cosig_time[i] (optional) gets the timestamp
 * of a type 0x04 cosignature.  VT_TLOG_ENOKEY when no known key signed. */
vt_tlog_rc vt_note_verify(const vt_note *n, const vt_note_key *keys, size_t nkeys,
                          uint32_t *verified, uint64_t *cosig_time);

/* Signature line "— name base64(id||sig)\n" for a signature of sig_len
 * bytes (host side, used when signing); returns the length or 0. */
size_t vt_note_sig_line(const vt_note_key *k, const uint8_t *sig, size_t sig_len, char *out,
                        size_t cap);
/* The message a type 0x04 key signs: "cosignature/v1\ntime T\n" || text;
 * returns its length or 0 when cap is too small. */
size_t vt_cosig_message(uint64_t t, const char *text, size_t text_len, uint8_t *out, size_t cap);

/* ---- checkpoints (c2sp.org/tlog-checkpoint) ---- */
typedef struct {
    const char *origin;
    size_t origin_len;
    uint64_t size;
    vt_tlog_hash root;
    const char *ext; /* extension lines, each ending in '\n' */
    size_t ext_len;
} vt_checkpoint;

vt_tlog_rc vt_checkpoint_parse(vt_checkpoint *c, const char *text, size_t len);

/* ---- release manifests (docs/TRANSPARENCY.md) ---- */
#define VT_MANIFEST_MAX_BUILD 16u
#define VT_MANIFEST_FIELD_MAX 64u
#define VT_MANIFEST_BUILD_MAX 200u

typedef struct {
    const char *name;
    size_t name_len;
    const char *version;
    size_t version_len;
    uint64_t svn;
    uint64_t size;
    uint8_t sha256[32];
    size_t nbuild;
    const char *build[VT_MANIFEST_MAX_BUILD];
    size_t build_len[VT_MANIFEST_MAX_BUILD];
} vt_manifest;

vt_tlog_rc vt_manifest_parse(vt_manifest *m, const char *text, size_t len);

/* ---- bundles ---- */
#define VT_BUNDLE_MAGIC "VTBUNDL1"
#define VT_BUNDLE_MAGIC_LEN 8u
enum {
    VT_BUNDLE_MANIFEST = 1,   /* the signed manifest note (required, first) */
    VT_BUNDLE_PAYLOAD = 2,    /* the payload bytes */
    VT_BUNDLE_CHECKPOINT = 3, /* a signed (and cosigned) checkpoint note */
    VT_BUNDLE_INCLUSION = 4,  /* u64 index, then hashes, of the manifest leaf */
};
#define VT_BUNDLE_MAX_NOTE 16384u

typedef struct {
    const uint8_t *manifest;
    size_t manifest_len;
    const uint8_t *payload; /* NULL when absent */
    size_t payload_len;
    const uint8_t *checkpoint; /* NULL when absent */
    size_t checkpoint_len;
    bool have_inclusion;
    uint64_t leaf_index;
    const uint8_t *proof; /* n * 32 bytes */
    size_t proof_n;
} vt_bundle;

vt_tlog_rc vt_bundle_parse(vt_bundle *b, const uint8_t *buf, size_t len);

/* The whole release check: the manifest note is signed by at least one of
 * the release keys (type 0x01; any signature of a listed key that fails is a
 * refusal), its body parses, and the payload (from the bundle, else
 * `payload` if not NULL) has the manifest's size and SHA-256 (a bundle
 * without a payload is refused unless manifest_only).  With log_key
 * (not NULL), the bundle must also carry a checkpoint signed by that key and
 * an inclusion proof of the manifest note in it.  *m gets the manifest. */
typedef struct {
    const vt_note_key *release_keys;
    size_t nrelease;
    const vt_note_key *log_key; /* NULL: no log check */
    const uint8_t *payload;     /* a detached payload, or NULL */
    size_t payload_len;
    bool manifest_only; /* no payload to check (the caller checks the digest) */
} vt_release_policy;

vt_tlog_rc vt_release_verify(const uint8_t *bundle, size_t len, const vt_release_policy *p,
                             vt_manifest *m);

#endif
