/* One safe cursor for every untrusted byte.
 *
 * vt_in reads a command's bytes through libtss2-mu and knows which handle,
 * session or parameter it is reading, so a failure comes back as the TPM
 * response code with the right index (TPM_RC_SIZE + RC_P + RC_2 …) without
 * any handler computing it.  Every top-level read is one parameter: the
 * cursor counts them.  Lengths are unsigned and every read is bounds checked.
 *
 * vt_out writes a response; it never writes past its capacity and remembers
 * that it overflowed (the dispatcher turns that into TPM_RC_FAILURE). */
#ifndef VT_MARSHAL_H
#define VT_MARSHAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>
#include <tss2/tss2_mu.h>

/* Response-code helpers, TPM 2.0 Part 2 §6.6: format-one codes carry the
 * number (1..15) of the handle, parameter or session that caused them. */
#define VT_RC_P(rc, n) ((TPM2_RC)((rc) + TPM2_RC_P + ((TPM2_RC)(n) << 8)))
#define VT_RC_H(rc, n) ((TPM2_RC)((rc) + TPM2_RC_H + ((TPM2_RC)(n) << 8)))
#define VT_RC_S(rc, n) ((TPM2_RC)((rc) + TPM2_RC_S + ((TPM2_RC)(n) << 8)))

/* Propagate a failure; the happy path reads straight down. */
#define RETURN_IF_ERROR(expr)             \
    do {                                  \
        TPM2_RC rc_ = (expr);             \
        if (rc_ != TPM2_RC_SUCCESS)       \
            return rc_;                   \
    } while (0)

typedef enum { VT_AREA_HANDLE, VT_AREA_PARAM, VT_AREA_SESSION } vt_area;

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t off;
    vt_area area;
    unsigned index; /* number of the item being read, 1-based */
    bool ended;     /* vt_in_end() succeeded */
} vt_in;

void vt_in_init(vt_in *in, const uint8_t *buf, size_t len, vt_area area);
/* Error code `rc` decorated with the index of the item last read. */
TPM2_RC vt_in_rc(const vt_in *in, TPM2_RC rc);
/* Same with an explicit item number in the cursor's area. */
TPM2_RC vt_in_rc_at(const vt_in *in, TPM2_RC rc, unsigned index);
size_t vt_in_left(const vt_in *in);

/* Each call reads one item (parameter) and advances the item counter. */
TPM2_RC vt_in_u8(vt_in *in, uint8_t *v);
TPM2_RC vt_in_u16(vt_in *in, uint16_t *v);
TPM2_RC vt_in_u32(vt_in *in, uint32_t *v);
TPM2_RC vt_in_u64(vt_in *in, uint64_t *v);
TPM2_RC vt_in_i8(vt_in *in, int8_t *v);
/* Any TPM2B: a uint16 size then that many bytes, at most `cap` bytes.
 * Points into the command buffer (no copy). */
TPM2_RC vt_in_2b(vt_in *in, const uint8_t **data, uint16_t *size, size_t cap);

/* Generic MU-backed read of one structure. */
typedef TSS2_RC (*vt_mu_unmarshal_fn)(const uint8_t *, size_t, size_t *, void *);
TPM2_RC vt_in_mu(vt_in *in, vt_mu_unmarshal_fn fn, void *out);
#define VT_IN(in, TYPE, ptr) \
    vt_in_mu((in), (vt_mu_unmarshal_fn)Tss2_MU_##TYPE##_Unmarshal, (void *)(ptr))

/* All parameters read: TPM_RC_SIZE when bytes are left over (Part 3 §5.?). */
TPM2_RC vt_in_end(vt_in *in);

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t off;
    bool overflow;
} vt_out;

void vt_out_init(vt_out *o, uint8_t *buf, size_t cap);
void vt_out_u8(vt_out *o, uint8_t v);
void vt_out_u16(vt_out *o, uint16_t v);
void vt_out_u32(vt_out *o, uint32_t v);
void vt_out_u64(vt_out *o, uint64_t v);
void vt_out_bytes(vt_out *o, const void *p, size_t n);
void vt_out_2b(vt_out *o, const void *p, uint16_t n);
size_t vt_out_room(const vt_out *o);

typedef TSS2_RC (*vt_mu_marshal_fn)(const void *, uint8_t *, size_t, size_t *);
void vt_out_mu(vt_out *o, vt_mu_marshal_fn fn, const void *src);
#define VT_OUT(o, TYPE, ptr) \
    vt_out_mu((o), (vt_mu_marshal_fn)Tss2_MU_##TYPE##_Marshal, (const void *)(ptr))

#endif
