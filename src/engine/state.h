/* The state walker: one function per structure lists its fields and is run
 * by both the writer and the reader of the stored state, so the two cannot
 * drift apart.  Integers are stored big-endian as 64 bits whatever their
 * size in memory; a value out of range on reading marks the walk bad. */
#ifndef VT_STATE_H
#define VT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    bool writing;  /* true: fields -> buf; false: buf -> fields */
    uint8_t *buf;
    size_t cap, off;
    bool bad;      /* overflow, or a value out of range while reading */
    unsigned version; /* reading: the stored format version */
} vt_walker;

void vt_w_bytes(vt_walker *w, void *p, size_t n);
void vt_w_u64(vt_walker *w, uint64_t *v);
void vt_w_u32(vt_walker *w, uint32_t *v);
void vt_w_u16(vt_walker *w, uint16_t *v);
void vt_w_u8(vt_walker *w, uint8_t *v);
void vt_w_bool(vt_walker *w, bool *v);
/* A length-prefixed value in a buffer of VT_MAX_DIGEST octets. */
void vt_w_auth(vt_walker *w, uint8_t *buf, uint16_t *len);

#endif
