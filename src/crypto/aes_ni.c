/* AES-CFB on AES-NI (aes_ni.h).  FIPS 197 gives the key expansion and the
 * round structure; the instructions do one round each. */
#include "crypto/aes_ni.h"
#include "crypto/vt_crypto.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <wmmintrin.h>

#define AES_TARGET __attribute__((target("aes,sse2")))

bool vt_aes_ni_usable(void)
{
    /* the compiler's CPU model, filled in once before main */
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
}

/* SubWord (FIPS 197 §5.2) of one word: AESKEYGENASSIST puts
 * SubWord(X1) in dword 0 of its result. */
static AES_TARGET uint32_t sub_word(uint32_t w)
{
    __m128i v = _mm_set_epi32(0, 0, (int)w, 0);
    return (uint32_t)_mm_cvtsi128_si32(_mm_aeskeygenassist_si128(v, 0));
}

/* FIPS 197 §5.2 KeyExpansion into nr + 1 round keys.  Words are read
 * little-endian, so a round key loads straight into an xmm register in the
 * byte order AESENC expects; RotWord is then a right rotation by 8 and
 * Rcon sits in the low octet. */
static AES_TARGET void expand_key(const uint8_t *key, unsigned nk, unsigned nr, __m128i *rk)
{
    uint32_t w[60];
    uint32_t rcon = 1;
    unsigned i;

    for (i = 0; i < nk; i++)
        w[i] = (uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 | (uint32_t)key[4 * i + 2] << 16 |
               (uint32_t)key[4 * i + 3] << 24;
    for (i = nk; i < 4 * (nr + 1); i++) {
        uint32_t t = w[i - 1];
        if (i % nk == 0) {
            t = sub_word(t);
            t = ((t >> 8) | (t << 24)) ^ rcon;
            rcon = (rcon << 1) ^ ((rcon >> 7) * 0x11bu); /* xtime in GF(2^8) */
        } else if (nk > 6 && i % nk == 4) {
            t = sub_word(t);
        }
        w[i] = w[i - nk] ^ t;
    }
    for (i = 0; i <= nr; i++)
        rk[i] = _mm_set_epi32((int)w[4 * i + 3], (int)w[4 * i + 2], (int)w[4 * i + 1], (int)w[4 * i]);
    vt_wipe(w, sizeof(w));
}

static AES_TARGET __m128i encrypt_block(__m128i x, const __m128i *rk, unsigned nr)
{
    unsigned r;

    x = _mm_xor_si128(x, rk[0]);
    for (r = 1; r < nr; r++)
        x = _mm_aesenc_si128(x, rk[r]);
    return _mm_aesenclast_si128(x, rk[nr]);
}

AES_TARGET int vt_aes_ni_cfb(bool encrypt, const uint8_t *key, size_t key_bytes, uint8_t iv[16],
                             const uint8_t *in, size_t len, uint8_t *out)
{
    __m128i rk[15], fb, ks;
    unsigned nk = (unsigned)key_bytes / 4, nr = nk + 6;
    uint8_t block[16];
    size_t off = 0;

    if (key_bytes != 16 && key_bytes != 24 && key_bytes != 32)
        return -1;
    expand_key(key, nk, nr, rk);
    fb = _mm_loadu_si128((const __m128i *)iv);
    /* SP 800-38A §6.3: O = CIPH(I); C = P ^ O; the next I is C. */
    for (; len - off >= 16; off += 16) {
        __m128i data = _mm_loadu_si128((const __m128i *)(in + off)), res;
        ks = encrypt_block(fb, rk, nr);
        res = _mm_xor_si128(data, ks);
        _mm_storeu_si128((__m128i *)(out + off), res);
        fb = encrypt ? res : data;
    }
    if (off < len) {
        /* a partial last block: the keystream block keeps the ciphertext
         * octets in front, which is the IV OpenSSL hands back */
        size_t n = len - off, i;
        ks = encrypt_block(fb, rk, nr);
        _mm_storeu_si128((__m128i *)block, ks);
        for (i = 0; i < n; i++) {
            uint8_t c = in[off + i];
            out[off + i] = (uint8_t)(c ^ block[i]);
            block[i] = encrypt ? out[off + i] : c;
        }
        fb = _mm_loadu_si128((const __m128i *)block);
    }
    _mm_storeu_si128((__m128i *)iv, fb);
    vt_wipe(block, sizeof(block));
    vt_wipe(rk, sizeof(rk));
    return 0;
}

#else /* no AES-NI on this architecture: vt_aes_crypt uses EVP */

bool vt_aes_ni_usable(void)
{
    return false;
}

int vt_aes_ni_cfb(bool encrypt, const uint8_t *key, size_t key_bytes, uint8_t iv[16],
                  const uint8_t *in, size_t len, uint8_t *out)
{
    (void)encrypt, (void)key, (void)key_bytes, (void)iv, (void)in, (void)len, (void)out;
    return -1;
}
#endif
