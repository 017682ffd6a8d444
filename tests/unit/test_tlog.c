/* The transparency-log verification core (src/tlog): Merkle proofs against
 * the RFC 6962 test tree and exhaustively for small trees, signed notes
 * against the golang.org/x/mod/sumdb/note example and keys made by OpenSSL,
 * cosignatures, checkpoints, manifests and bundles. */
#define _GNU_SOURCE
#include "helpers.h"
#include "tlog/tlog.h"
#include "common/be.h"

#include <stdio.h>
#include <stdlib.h>
#include <openssl/evp.h>

/* ---- Merkle trees ---- */

#define MAXN 40
static vt_tlog_hash leaves[MAXN];

static int get_leaf(void *ctx, uint64_t i, vt_tlog_hash *out)
{
    (void)ctx;
    if (i >= MAXN)
        return -1;
    *out = leaves[i];
    return 0;
}

static void hex32(const char *hex, vt_tlog_hash *h)
{
    assert_int_equal(vt_hex_decode(hex, 64, h->h, 32), 0);
}

/* RFC 6962 test tree (the 8 inputs of the certificate-transparency test
 * data); roots of every prefix. */
static const char *const rfc_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void rfc6962_roots(void **state)
{
    static const uint8_t in[] = { 0x00, 0x10, 0x20, 0x21, 0x30, 0x31, 0x40, 0x41, 0x42, 0x43,
                                  0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x60, 0x61,
                                  0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
                                  0x6c, 0x6d, 0x6e, 0x6f };
    static const size_t off[8] = { 0, 0, 1, 2, 4, 6, 10, 18 };
    static const size_t len[8] = { 0, 1, 1, 2, 2, 4, 8, 16 };
    vt_tlog_hash root, want;
    size_t i;
    (void)state;
    for (i = 0; i < 8; i++)
        vt_tlog_leaf_hash(in + off[i], len[i], &leaves[i]);
    for (i = 1; i <= 8; i++) {
        assert_int_equal(vt_tlog_root(get_leaf, NULL, i, &root), VT_TLOG_OK);
        hex32(rfc_roots[i - 1], &want);
        assert_memory_equal(root.h, want.h, 32);
    }
    /* The empty tree: SHA-256 of nothing. */
    assert_int_equal(vt_tlog_root(get_leaf, NULL, 0, &root), VT_TLOG_OK);
    hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &want);
    assert_memory_equal(root.h, want.h, 32);
}

static void fill_leaves(void)
{
    size_t i;
    for (i = 0; i < MAXN; i++) {
        uint8_t d[8];
        vt_put_be64(d, i * 7919u + 1);
        vt_tlog_leaf_hash(d, sizeof(d), &leaves[i]);
    }
}

static void inclusion_all(void **state)
{
    vt_tlog_hash root, proof[VT_TLOG_MAX_PROOF], bad, bigger[VT_TLOG_MAX_PROOF + 1];
    uint64_t size, i;
    size_t n, k;
    (void)state;
    fill_leaves();
    for (size = 1; size <= MAXN; size++) {
        assert_int_equal(vt_tlog_root(get_leaf, NULL, size, &root), VT_TLOG_OK);
        for (i = 0; i < size; i++) {
            assert_int_equal(vt_tlog_prove_inclusion(get_leaf, NULL, i, size, proof,
                                                     VT_TLOG_MAX_PROOF, &n), VT_TLOG_OK);
            assert_int_equal(vt_tlog_verify_inclusion(&leaves[i], i, size, proof, n, &root),
                             VT_TLOG_OK);
            /* wrong leaf, index, size, root */
            assert_int_not_equal(vt_tlog_verify_inclusion(&leaves[(i + 1) % MAXN], i, size,
                                                          proof, n, &root), VT_TLOG_OK);
            if (size > 1)
                assert_int_not_equal(vt_tlog_verify_inclusion(&leaves[i], (i + 1) % size, size,
                                                              proof, n, &root), VT_TLOG_OK);
            /* (A proof for (i, size) may also fit (i, size') with the same
             * root when only the right edge differs -- RFC 9162 binds the
             * size through the signed checkpoint -- so a changed size is
             * checked where it changes the path: size doubled.) */
            if (i + 1 < size)
                assert_int_not_equal(vt_tlog_verify_inclusion(&leaves[i], i, 2 * size + 1,
                                                              proof, n, &root), VT_TLOG_OK);
            assert_int_equal(vt_tlog_verify_inclusion(&leaves[i], size, size, proof, n, &root),
                             VT_TLOG_ERANGE);
            bad = root;
            bad.h[31] ^= 1;
            assert_int_equal(vt_tlog_verify_inclusion(&leaves[i], i, size, proof, n, &bad),
                             VT_TLOG_EPROOF);
            /* each hash of the proof matters; a shorter or longer proof fails */
            for (k = 0; k < n; k++) {
                proof[k].h[k % 32] ^= 0x80;
                assert_int_equal(vt_tlog_verify_inclusion(&leaves[i], i, size, proof, n, &root),
                                 VT_TLOG_EPROOF);
                proof[k].h[k % 32] ^= 0x80;
            }
            if (n > 0)
                assert_int_equal(vt_tlog_verify_inclusion(&leaves[i], i, size, proof, n - 1,
                                                          &root), VT_TLOG_EPROOF);
            memcpy(bigger, proof, n * sizeof(proof[0]));
            bigger[n] = leaves[0];
            assert_int_equal(vt_tlog_verify_inclusion(&leaves[i], i, size, bigger, n + 1,
                                                      &root), VT_TLOG_EPROOF);
        }
    }
}

static void consistency_all(void **state)
{
    static vt_tlog_hash roots[MAXN + 1];
    vt_tlog_hash proof[VT_TLOG_MAX_PROOF], bad;
    uint64_t m, s;
    size_t n, k;
    (void)state;
    fill_leaves();
    for (s = 0; s <= MAXN; s++)
        assert_int_equal(vt_tlog_root(get_leaf, NULL, s, &roots[s]), VT_TLOG_OK);
    for (s = 1; s <= MAXN; s++) {
        for (m = 0; m <= s; m++) {
            assert_int_equal(vt_tlog_prove_consistency(get_leaf, NULL, m, s, proof,
                                                       VT_TLOG_MAX_PROOF, &n), VT_TLOG_OK);
            assert_int_equal(vt_tlog_verify_consistency(m, s, &roots[m], &roots[s], proof, n),
                             VT_TLOG_OK);
            if (m == 0)
                continue;
            /* a forked old or new root */
            bad = roots[m];
            bad.h[0] ^= 1;
            assert_int_equal(vt_tlog_verify_consistency(m, s, &bad, &roots[s], proof, n),
                             VT_TLOG_EPROOF);
            bad = roots[s];
            bad.h[5] ^= 1;
            assert_int_equal(vt_tlog_verify_consistency(m, s, &roots[m], &bad, proof, n),
                             VT_TLOG_EPROOF);
            if (m == s) {
                assert_int_equal(n, 0);
                continue;
            }
            for (k = 0; k < n; k++) {
                proof[k].h[3] ^= 0x10;
                assert_int_equal(vt_tlog_verify_consistency(m, s, &roots[m], &roots[s], proof, n),
                                 VT_TLOG_EPROOF);
                proof[k].h[3] ^= 0x10;
            }
            /* wrong sizes, a truncated proof, no proof */
            if (s < MAXN)
                assert_int_not_equal(vt_tlog_verify_consistency(m, s + 1, &roots[m],
                                                                &roots[s + 1], proof, n),
                                     VT_TLOG_OK);
            if (m > 1)
                assert_int_not_equal(vt_tlog_verify_consistency(m - 1, s, &roots[m - 1],
                                                                &roots[s], proof, n),
                                     VT_TLOG_OK);
            assert_int_equal(vt_tlog_verify_consistency(m, s, &roots[m], &roots[s], proof, n - 1),
                             VT_TLOG_EPROOF);
            assert_int_equal(vt_tlog_verify_consistency(m, s, &roots[m], &roots[s], proof, 0),
                             VT_TLOG_EPROOF);
            assert_int_equal(vt_tlog_verify_consistency(s, m, &roots[s], &roots[m], proof, n),
                             VT_TLOG_ERANGE);
        }
    }
}

/* ---- encodings ---- */

static void codecs(void **state)
{
    uint8_t out[8];
    char enc[16];
    uint64_t v;
    (void)state;
    assert_int_equal(vt_b64_decode("Zm9vYg==", 8, out, sizeof(out)), 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(vt_b64_encode((const uint8_t *)"fooba", 5, enc, sizeof(enc)), 8);
    assert_string_equal(enc, "Zm9vYmE=");
    assert_int_equal(vt_b64_decode("Zm9vYh==", 8, out, sizeof(out)), -1); /* non-canonical */
    assert_int_equal(vt_b64_decode("Zm9vY===", 8, out, sizeof(out)), -1);
    assert_int_equal(vt_b64_decode("Zm9=Yg==", 8, out, sizeof(out)), -1);
    assert_int_equal(vt_b64_decode("Zm9vYg=", 7, out, sizeof(out)), -1);
    assert_int_equal(vt_b64_decode("Zm9vYmFy", 8, out, 5), -1); /* does not fit */
    assert_int_equal(vt_parse_u64("18446744073709551615", 20, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(vt_parse_u64("18446744073709551616", 20, &v), -1);
    assert_int_equal(vt_parse_u64("007", 3, &v), -1);
    assert_int_equal(vt_parse_u64("0", 1, &v), 0);
    assert_int_equal(vt_parse_u64("", 0, &v), -1);
    assert_int_equal(vt_parse_u64("1a", 2, &v), -1);
}

/* ---- signed notes ---- */

/* golang.org/x/mod/sumdb/note, package documentation example. */
static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_seed_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static void note_go_vector(void **state)
{
    vt_note_key k;
    vt_note n;
    uint32_t mask = 0;
    uint8_t seed[33], pub[32], sig[64];
    char line[256], fmt[256];
    (void)state;
    assert_int_equal(vt_note_key_parse(&k, go_vkey, strlen(go_vkey)), VT_TLOG_OK);
    assert_true(k.key_id == 0xc74f20a3u);
    assert_int_equal(vt_note_key_format(&k, fmt, sizeof(fmt)), strlen(go_vkey));
    assert_string_equal(fmt, go_vkey);
    assert_int_equal(vt_note_parse(&n, go_note, strlen(go_note)), VT_TLOG_OK);
    assert_int_equal(n.text_len, strlen(go_text));
    assert_int_equal(n.nsigs, 1);
    assert_int_equal(vt_note_verify(&n, &k, 1, &mask, NULL), VT_TLOG_OK);
    assert_int_equal(mask, 1);
    /* Signing with the example's private key gives the same bytes. */
    assert_int_equal(vt_b64_decode(go_seed_b64, strlen(go_seed_b64), seed, sizeof(seed)), 33);
    assert_int_equal(seed[0], 1);
    assert_int_equal(vt_ed25519_public(seed + 1, pub), 0);
    assert_memory_equal(pub, k.pub, 32);
    assert_int_equal(vt_ed25519_sign(seed + 1, go_text, strlen(go_text), sig), 0);
    assert_true(vt_note_sig_line(&k, sig, 64, line, sizeof(line)) > 0);
    assert_string_equal(line, go_note + strlen(go_text) + 1);
}

static void mangled_vkeys(void **state)
{
    vt_note_key k;
    char buf[128];
    size_t i, len = strlen(go_vkey);
    (void)state;
    /* every single-byte change of a verifier key is refused */
    for (i = 0; i < len; i++) {
        memcpy(buf, go_vkey, len);
        buf[i] ^= 0x01; /* a different character (hex case would be the same value) */
        assert_int_not_equal(vt_note_key_parse(&k, buf, len), VT_TLOG_OK);
        assert_int_not_equal(vt_note_key_parse(&k, go_vkey, i), VT_TLOG_OK);
    }
    assert_int_not_equal(vt_note_key_parse(&k, "a b+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                                           57), VT_TLOG_OK);
}

static void openssl_key(uint8_t seed[32], uint8_t pub[32])
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    EVP_PKEY *pk = NULL;
    size_t n = 32;
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_keygen_init(c), 1);
    assert_int_equal(EVP_PKEY_keygen(c, &pk), 1);
    assert_int_equal(EVP_PKEY_get_raw_private_key(pk, seed, &n), 1);
    n = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &n), 1);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(c);
}

/* A note signed by key k (seed) over text; returns its length. */
static size_t make_note(char *out, size_t cap, const char *text, const vt_note_key *k,
                        const uint8_t seed[32])
{
    uint8_t sig[64];
    size_t n = strlen(text);
    assert_true(n + 2 < cap);
    memcpy(out, text, n);
    out[n++] = '\n';
    assert_int_equal(vt_ed25519_sign(seed, text, strlen(text), sig), 0);
    n += vt_note_sig_line(k, sig, 64, out + n, cap - n);
    return n;
}

static void note_openssl_keys(void **state)
{
    static const char text[] = "example.org/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t seed[32], pub[32], seed2[32], pub2[32];
    vt_note_key k, k2, same_name;
    vt_note n;
    char buf[1024], vk[256];
    size_t len;
    uint32_t mask;
    (void)state;
    openssl_key(seed, pub);
    openssl_key(seed2, pub2);
    assert_int_equal(vt_note_key_init(&k, "example.org/log", 15, VT_NOTE_TYPE_ED25519, pub),
                     VT_TLOG_OK);
    assert_int_equal(vt_note_key_init(&k2, "other.example/k", 15, VT_NOTE_TYPE_ED25519, pub2),
                     VT_TLOG_OK);
    /* same name, other key: another key ID, so its signature is unknown */
    assert_int_equal(vt_note_key_init(&same_name, "example.org/log", 15, VT_NOTE_TYPE_ED25519,
                                      pub2), VT_TLOG_OK);
    assert_true(vt_note_key_format(&k, vk, sizeof(vk)) > 0);
    len = make_note(buf, sizeof(buf), text, &k, seed);
    assert_int_equal(vt_note_parse(&n, buf, len), VT_TLOG_OK);
    assert_int_equal(vt_note_verify(&n, &k, 1, &mask, NULL), VT_TLOG_OK);
    assert_int_equal(vt_note_verify(&n, &k2, 1, &mask, NULL), VT_TLOG_ENOKEY);
    assert_int_equal(vt_note_verify(&n, &same_name, 1, &mask, NULL), VT_TLOG_ENOKEY);
    {
        vt_note_key both[2] = { k2, k };
        assert_int_equal(vt_note_verify(&n, both, 2, &mask, NULL), VT_TLOG_OK);
        assert_int_equal(mask, 2);
    }
    /* A changed body byte: the known key's signature fails. */
    buf[20] ^= 1;
    assert_int_equal(vt_note_parse(&n, buf, len), VT_TLOG_OK);
    assert_int_equal(vt_note_verify(&n, &k, 1, &mask, NULL), VT_TLOG_ESIG);
    buf[20] ^= 1;
    /* A changed signature byte (inside the base64 of the signature). */
    buf[len - 10] = buf[len - 10] == 'A' ? 'B' : 'A';
    if (vt_note_parse(&n, buf, len) == VT_TLOG_OK)
        assert_int_not_equal(vt_note_verify(&n, &k, 1, &mask, NULL), VT_TLOG_OK);
    /* A vkey signed by the right key but presented with a mangled name is
     * unknown; a signature line that is not "— name sig" is malformed. */
    len = make_note(buf, sizeof(buf), text, &k, seed);
    {
        char bad[1100];
        size_t tl = strlen(text) + 1;
        memcpy(bad, buf, len);
        bad[tl] = '-'; /* ASCII dash instead of U+2014 */
        assert_int_equal(vt_note_parse(&n, bad, len), VT_TLOG_EFORMAT);
        memcpy(bad, buf, len);
        bad[len - 1] = 'x'; /* no final newline */
        assert_int_equal(vt_note_parse(&n, bad, len), VT_TLOG_EFORMAT);
        memcpy(bad, buf, len);
        bad[len - 3] = '*'; /* not base64 */
        assert_int_equal(vt_note_parse(&n, bad, len), VT_TLOG_EFORMAT);
        memcpy(bad, buf, len);
        bad[5] = '\t'; /* control character */
        assert_int_equal(vt_note_parse(&n, bad, len), VT_TLOG_EFORMAT);
        memcpy(bad, buf, len);
        memmove(bad + tl - 1, bad + tl, len - tl); /* no blank line */
        assert_int_equal(vt_note_parse(&n, bad, len - 1), VT_TLOG_EFORMAT);
        memcpy(bad, buf, tl); /* no signature */
        assert_int_equal(vt_note_parse(&n, bad, tl), VT_TLOG_EFORMAT);
        /* invalid UTF-8 */
        memcpy(bad, buf, len);
        bad[3] = (char)0xc0;
        assert_int_equal(vt_note_parse(&n, bad, len), VT_TLOG_EFORMAT);
        /* every truncation is refused or unverifiable */
        for (tl = 0; tl < len; tl++)
            if (vt_note_parse(&n, buf, tl) == VT_TLOG_OK)
                assert_int_not_equal(vt_note_verify(&n, &k, 1, &mask, NULL), VT_TLOG_OK);
    }
}

static void cosignature(void **state)
{
    static const char text[] = "example.org/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t seed[32], pub[32], msg[512], tsig[72];
    vt_note_key w, wrong_type;
    vt_note n;
    char buf[1024];
    size_t len, mlen;
    uint32_t mask;
    uint64_t t[1] = { 0 };
    (void)state;
    openssl_key(seed, pub);
    assert_int_equal(vt_note_key_init(&w, "witness.example/w1", 18, VT_NOTE_TYPE_COSIG_V1, pub),
                     VT_TLOG_OK);
    assert_int_equal(vt_note_key_init(&wrong_type, "witness.example/w1", 18,
                                      VT_NOTE_TYPE_ED25519, pub), VT_TLOG_OK);
    assert_true(w.key_id != wrong_type.key_id);
    mlen = vt_cosig_message(1679315147u, text, strlen(text), msg, sizeof(msg));
    assert_int_equal(mlen, strlen("cosignature/v1\ntime 1679315147\n") + strlen(text));
    assert_memory_equal(msg, "cosignature/v1\ntime 1679315147\nexample.org/log\n", 47);
    vt_put_be64(tsig, 1679315147u);
    assert_int_equal(vt_ed25519_sign(seed, msg, mlen, tsig + 8), 0);
    memcpy(buf, text, strlen(text));
    len = strlen(text);
    buf[len++] = '\n';
    len += vt_note_sig_line(&w, tsig, 72, buf + len, sizeof(buf) - len);
    assert_int_equal(vt_note_parse(&n, buf, len), VT_TLOG_OK);
    assert_int_equal(vt_note_verify(&n, &w, 1, &mask, t), VT_TLOG_OK);
    assert_true(t[0] == 1679315147u);
    assert_int_equal(vt_note_verify(&n, &wrong_type, 1, &mask, NULL), VT_TLOG_ENOKEY);
    /* The timestamp is signed: another time does not verify. */
    vt_put_be64(tsig, 1679315148u);
    len = strlen(text) + 1;
    len += vt_note_sig_line(&w, tsig, 72, buf + len, sizeof(buf) - len);
    assert_int_equal(vt_note_parse(&n, buf, len), VT_TLOG_OK);
    assert_int_equal(vt_note_verify(&n, &w, 1, &mask, NULL), VT_TLOG_ESIG);
}

static void checkpoints(void **state)
{
    vt_checkpoint c;
    const char *ok = "example.org/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const char *ext = "example.org/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nfoo bar\n";
    (void)state;
    assert_int_equal(vt_checkpoint_parse(&c, ok, strlen(ok)), VT_TLOG_OK);
    assert_int_equal(c.origin_len, 15);
    assert_true(c.size == 20852163u);
    assert_int_equal(c.root.h[0], 0x0a);
    assert_int_equal(c.ext_len, 0);
    assert_int_equal(vt_checkpoint_parse(&c, ext, strlen(ext)), VT_TLOG_OK);
    assert_int_equal(c.ext_len, 8);
#define BAD(s) assert_int_equal(vt_checkpoint_parse(&c, s, strlen(s)), VT_TLOG_EFORMAT)
    BAD("example.org/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    BAD("example.org/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    BAD("example.org/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n");
    BAD("example.org/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    BAD("\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    BAD("example.org/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n");
    BAD("example.org/log\n1\n");
#undef BAD
}

/* ---- manifests and bundles ---- */

static const char manifest_text[] =
    "vitrum-release/v1\n"
    "name vitrum\n"
    "version 1.2.3\n"
    "svn 7\n"
    "size 5\n"
    "sha256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
    "build commit 0123abcd\n";

static void manifests(void **state)
{
    vt_manifest m;
    char buf[1024];
    size_t i, len = strlen(manifest_text);
    (void)state;
    assert_int_equal(vt_manifest_parse(&m, manifest_text, len), VT_TLOG_OK);
    assert_int_equal(m.name_len, 6);
    assert_true(m.svn == 7 && m.size == 5);
    assert_int_equal(m.nbuild, 1);
    assert_int_equal(m.sha256[0], 0x2c);
    /* Every one-byte change that is not a hex digit / value change is
     * either refused or parses to a different manifest: spot-check that
     * structural damage is refused. */
    for (i = 0; i < len; i++) {
        if (manifest_text[i] != '\n' && manifest_text[i] != ' ')
            continue;
        memcpy(buf, manifest_text, len);
        buf[i] = manifest_text[i] == '\n' ? ' ' : '\t';
        assert_int_equal(vt_manifest_parse(&m, buf, len), VT_TLOG_EFORMAT);
    }
    memcpy(buf, manifest_text, len);
    buf[strstr(manifest_text, "2cf2") - manifest_text] = 'C'; /* uppercase hex */
    assert_int_equal(vt_manifest_parse(&m, buf, len), VT_TLOG_EFORMAT);
    assert_int_equal(vt_manifest_parse(&m, manifest_text, len - 1), VT_TLOG_EFORMAT);
    assert_int_equal(vt_manifest_parse(&m, "vitrum-release/v1\nname a b\n", 27), VT_TLOG_EFORMAT);
}

static size_t put_section(uint8_t *out, uint8_t type, const void *v, size_t n)
{
    out[0] = type;
    vt_put_be32(out + 1, (uint32_t)n);
    memcpy(out + 5, v, n);
    return 5 + n;
}

static void bundles(void **state)
{
    uint8_t seed[32], pub[32], bundle[2048];
    char note[1024];
    vt_note_key k, other;
    vt_manifest m;
    vt_release_policy p;
    size_t nlen, blen, i;
    (void)state;
    openssl_key(seed, pub);
    assert_int_equal(vt_note_key_init(&k, "release.example/key", 19, VT_NOTE_TYPE_ED25519, pub),
                     VT_TLOG_OK);
    openssl_key(seed, pub); /* a second, unrelated key (same name) */
    assert_int_equal(vt_note_key_init(&other, "release.example/key", 19, VT_NOTE_TYPE_ED25519,
                                      pub), VT_TLOG_OK);
    openssl_key(seed, pub);
    assert_int_equal(vt_note_key_init(&k, "release.example/key", 19, VT_NOTE_TYPE_ED25519, pub),
                     VT_TLOG_OK);
    nlen = make_note(note, sizeof(note), manifest_text, &k, seed);
    memcpy(bundle, VT_BUNDLE_MAGIC, 8);
    blen = 8 + put_section(bundle + 8, VT_BUNDLE_MANIFEST, note, nlen);
    blen += put_section(bundle + blen, VT_BUNDLE_PAYLOAD, "hello", 5);
    memset(&p, 0, sizeof(p));
    p.release_keys = &k;
    p.nrelease = 1;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_OK);
    assert_true(m.svn == 7);
    /* another key: refused */
    p.release_keys = &other;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_ENOKEY);
    p.release_keys = &k;
    /* a changed payload byte */
    bundle[blen - 1] ^= 1;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EDIGEST);
    bundle[blen - 1] ^= 1;
    /* every truncation is refused */
    for (i = 0; i < blen; i++)
        assert_int_not_equal(vt_release_verify(bundle, i, &p, &m), VT_TLOG_OK);
    /* a changed byte anywhere is refused */
    for (i = 0; i < blen; i++) {
        bundle[i] ^= 0x20;
        assert_int_not_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_OK);
        bundle[i] ^= 0x20;
    }
    /* a detached payload */
    blen = 8 + 5 + nlen;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EDIGEST);
    p.payload = (const uint8_t *)"hello";
    p.payload_len = 5;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_OK);
    p.payload_len = 4;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EDIGEST);
    /* a repeated or unknown section */
    blen += put_section(bundle + blen, VT_BUNDLE_MANIFEST, note, nlen);
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EFORMAT);
    blen = 8 + 5 + nlen;
    blen += put_section(bundle + blen, 9, "x", 1);
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EFORMAT);
}

/* The log check of a bundle: checkpoint + inclusion proof of the manifest. */
static void bundle_in_log(void **state)
{
    uint8_t rseed[32], rpub[32], lseed[32], lpub[32], bundle[8192], incl[8 + 64 * 32];
    char note[1024], cp_text[256], cp_note[1024], b64[64];
    vt_note_key rk, lk;
    vt_manifest m;
    vt_release_policy p;
    vt_tlog_hash root, proof[64];
    size_t nlen, blen, cplen, n, i, base;
    const uint64_t index = 5, size = 11;
    (void)state;
    openssl_key(rseed, rpub);
    openssl_key(lseed, lpub);
    assert_int_equal(vt_note_key_init(&rk, "rel", 3, VT_NOTE_TYPE_ED25519, rpub), VT_TLOG_OK);
    assert_int_equal(vt_note_key_init(&lk, "log.example", 11, VT_NOTE_TYPE_ED25519, lpub),
                     VT_TLOG_OK);
    nlen = make_note(note, sizeof(note), manifest_text, &rk, rseed);
    fill_leaves();
    vt_tlog_leaf_hash(note, nlen, &leaves[index]);
    assert_int_equal(vt_tlog_root(get_leaf, NULL, size, &root), VT_TLOG_OK);
    assert_int_equal(vt_tlog_prove_inclusion(get_leaf, NULL, index, size, proof, 64, &n),
                     VT_TLOG_OK);
    vt_b64_encode(root.h, 32, b64, sizeof(b64));
    snprintf(cp_text, sizeof(cp_text), "log.example\n%u\n%s\n", (unsigned)size, b64);
    cplen = make_note(cp_note, sizeof(cp_note), cp_text, &lk, lseed);
    vt_put_be64(incl, index);
    for (i = 0; i < n; i++)
        memcpy(incl + 8 + 32 * i, proof[i].h, 32);
    memcpy(bundle, VT_BUNDLE_MAGIC, 8);
    blen = 8 + put_section(bundle + 8, VT_BUNDLE_MANIFEST, note, nlen);
    blen += put_section(bundle + blen, VT_BUNDLE_PAYLOAD, "hello", 5);
    blen += put_section(bundle + blen, VT_BUNDLE_CHECKPOINT, cp_note, cplen);
    base = blen;
    blen += put_section(bundle + blen, VT_BUNDLE_INCLUSION, incl, 8 + 32 * n);
    memset(&p, 0, sizeof(p));
    p.release_keys = &rk;
    p.nrelease = 1;
    p.log_key = &lk;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_OK);
    /* a forged proof / another index */
    bundle[base + 5 + 8 + 3] ^= 1;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EPROOF);
    bundle[base + 5 + 8 + 3] ^= 1;
    bundle[base + 5 + 7] ^= 1;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_EPROOF);
    bundle[base + 5 + 7] ^= 1;
    /* without the proof, or checked against the release key as log key */
    assert_int_equal(vt_release_verify(bundle, base, &p, &m), VT_TLOG_EPROOF);
    p.log_key = &rk;
    assert_int_equal(vt_release_verify(bundle, blen, &p, &m), VT_TLOG_ENOKEY);
}

/* Hostile input: random mutations of valid notes, checkpoints, manifests,
 * keys and bundles never read outside the buffer (the ASan run of this test
 * is the check) and never verify once a signed byte changed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

static void mutations(void **state)
{
    uint8_t seed[32], pub[32], bundle[2048], *buf;
    char note[1024];
    vt_note_key k;
    vt_release_policy p;
    vt_manifest m;
    vt_note n;
    vt_checkpoint c;
    vt_bundle b;
    size_t nlen, blen, iter;
    (void)state;
    openssl_key(seed, pub);
    assert_int_equal(vt_note_key_init(&k, "rel", 3, VT_NOTE_TYPE_ED25519, pub), VT_TLOG_OK);
    nlen = make_note(note, sizeof(note), manifest_text, &k, seed);
    memcpy(bundle, VT_BUNDLE_MAGIC, 8);
    blen = 8 + put_section(bundle + 8, VT_BUNDLE_MANIFEST, note, nlen);
    blen += put_section(bundle + blen, VT_BUNDLE_PAYLOAD, "hello", 5);
    memset(&p, 0, sizeof(p));
    p.release_keys = &k;
    p.nrelease = 1;
    for (iter = 0; iter < 3000; iter++) {
        size_t len = 1 + rnd() % blen, j, flips = 1 + rnd() % 4;
        bool changed = len != blen;
        /* an exact-size heap copy so ASan sees any overread */
        buf = malloc(len);
        assert_non_null(buf);
        memcpy(buf, bundle, len);
        for (j = 0; j < flips; j++) {
            size_t at = rnd() % len;
            uint8_t v = (uint8_t)rnd();
            changed |= buf[at] != v;
            buf[at] = v;
        }
        if (changed)
            assert_int_not_equal(vt_release_verify(buf, len, &p, &m), VT_TLOG_OK);
        (void)vt_bundle_parse(&b, buf, len);
        (void)vt_note_parse(&n, (const char *)buf, len);
        (void)vt_checkpoint_parse(&c, (const char *)buf, len);
        (void)vt_manifest_parse(&m, (const char *)buf, len);
        (void)vt_note_key_parse(&k, (const char *)buf, len);
        free(buf);
        /* the same for the note alone, in place */
        len = 1 + rnd() % nlen;
        buf = malloc(len);
        assert_non_null(buf);
        memcpy(buf, note, len);
        buf[rnd() % len] ^= (uint8_t)(1 + rnd() % 255);
        if (vt_note_parse(&n, (const char *)buf, len) == VT_TLOG_OK) {
            (void)vt_note_verify(&n, &k, 1, NULL, NULL);
            (void)vt_manifest_parse(&m, n.text, n.text_len);
        }
        free(buf);
        assert_int_equal(vt_note_key_init(&k, "rel", 3, VT_NOTE_TYPE_ED25519, pub), VT_TLOG_OK);
    }
}

/* ---- proofs from stored interior nodes ---- */

#define BIGN 3000u
static vt_tlog_hash *big_leaves;
static vt_tlog_hash *big_nodes; /* in vt_tlog_node_pos order */
static unsigned node_reads;

static int big_leaf(void *ctx, uint64_t i, vt_tlog_hash *out)
{
    (void)ctx;
    if (i >= BIGN)
        return -1;
    *out = big_leaves[i];
    return 0;
}

static int big_node(void *ctx, unsigned level, uint64_t index, vt_tlog_hash *out)
{
    uint64_t limit = *(const uint64_t *)ctx; /* the tree size the store holds */
    node_reads++;
    if (level >= 63 || ((index + 1) << level) > limit)
        return -1; /* an incomplete or absent node is never asked for */
    if (level == 0)
        *out = big_leaves[index];
    else
        *out = big_nodes[vt_tlog_node_pos(level, index)];
    return 0;
}

static void stored_nodes(void **state)
{
    vt_tlog_hash fr[64], a[VT_TLOG_MAX_PROOF], b[VT_TLOG_MAX_PROOF], ra, rb;
    uint64_t i, pos = 0, size, x, y;
    size_t na, nb;
    unsigned lv, round;
    (void)state;
    big_leaves = calloc(BIGN, sizeof(*big_leaves));
    big_nodes = calloc(BIGN, sizeof(*big_nodes));
    assert_non_null(big_leaves);
    assert_non_null(big_nodes);
    /* Append leaves as a store would: each new interior node lands at the
     * position vt_tlog_node_pos gives, in order, with no gap. */
    for (i = 0; i < BIGN; i++) {
        vt_tlog_hash cur;
        uint8_t d[8];
        vt_put_be64(d, i * 104729u + 3);
        vt_tlog_leaf_hash(d, sizeof(d), &big_leaves[i]);
        cur = big_leaves[i];
        for (lv = 0; (i >> lv) & 1; lv++) {
            vt_tlog_node_hash(&fr[lv], &cur, &cur);
            assert_int_equal(vt_tlog_node_pos(lv + 1, i >> (lv + 1)), pos);
            big_nodes[pos++] = cur;
        }
        fr[lv] = cur;
        assert_int_equal(vt_tlog_node_count(i + 1), pos);
    }
    /* Every size up to 300 and random sizes up to BIGN: roots, inclusion and
     * consistency proofs equal the O(size) functions', node reads are
     * O(log size), and a node missing from the store is an error. */
    for (round = 0; round < 1500; round++) {
        size = round < 300 ? round + 1 : 1 + rnd() % BIGN;
        x = rnd() % size;
        y = rnd() % (size + 1);
        assert_int_equal(vt_tlog_root(big_leaf, NULL, size, &ra), VT_TLOG_OK);
        node_reads = 0;
        assert_int_equal(vt_tlog_root_nodes(big_node, &size, size, &rb), VT_TLOG_OK);
        assert_memory_equal(ra.h, rb.h, 32);
        assert_true(node_reads <= 64);
        assert_int_equal(vt_tlog_prove_inclusion(big_leaf, NULL, x, size, a, VT_TLOG_MAX_PROOF,
                                                 &na), VT_TLOG_OK);
        node_reads = 0;
        assert_int_equal(vt_tlog_prove_inclusion_nodes(big_node, &size, x, size, b,
                                                       VT_TLOG_MAX_PROOF, &nb), VT_TLOG_OK);
        assert_true(node_reads <= 2 * 12 + 2); /* log2(3000) < 12 */
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof(a[0]));
        assert_int_equal(vt_tlog_verify_inclusion(&big_leaves[x], x, size, b, nb, &rb),
                         VT_TLOG_OK);
        assert_int_equal(vt_tlog_prove_consistency(big_leaf, NULL, y, size, a,
                                                   VT_TLOG_MAX_PROOF, &na), VT_TLOG_OK);
        node_reads = 0;
        assert_int_equal(vt_tlog_prove_consistency_nodes(big_node, &size, y, size, b,
                                                         VT_TLOG_MAX_PROOF, &nb), VT_TLOG_OK);
        assert_true(node_reads <= 3 * 12 + 2);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * sizeof(a[0]));
        assert_int_equal(vt_tlog_root(big_leaf, NULL, y, &ra), VT_TLOG_OK);
        assert_int_equal(vt_tlog_verify_consistency(y, size, &ra, &rb, b, nb), VT_TLOG_OK);
        /* a store holding fewer leaves than asked for fails cleanly */
        if (size > 1) {
            uint64_t less = size - 1;
            assert_int_not_equal(vt_tlog_root_nodes(big_node, &less, size, &rb), VT_TLOG_OK);
        }
    }
    assert_int_equal(vt_tlog_prove_inclusion_nodes(big_node, &size, size, size, b, 64, &nb),
                     VT_TLOG_ERANGE);
    size = BIGN;
    assert_int_equal(vt_tlog_prove_inclusion_nodes(big_node, &size, 5, size, b, 3, &nb),
                     VT_TLOG_ESPACE);
    assert_int_equal(vt_tlog_prove_consistency_nodes(big_node, &size, 9, 8, b, 64, &nb),
                     VT_TLOG_ERANGE);
    free(big_leaves);
    free(big_nodes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc6962_roots),   cmocka_unit_test(inclusion_all),
        cmocka_unit_test(consistency_all), cmocka_unit_test(codecs),
        cmocka_unit_test(note_go_vector),  cmocka_unit_test(mangled_vkeys),
        cmocka_unit_test(note_openssl_keys), cmocka_unit_test(cosignature),
        cmocka_unit_test(checkpoints),     cmocka_unit_test(manifests),
        cmocka_unit_test(bundles),         cmocka_unit_test(bundle_in_log),
        cmocka_unit_test(mutations),       cmocka_unit_test(stored_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
