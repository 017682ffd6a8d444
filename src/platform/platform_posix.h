/* The POSIX platform: getrandom(2) entropy, CLOCK_MONOTONIC, the file store. */
#ifndef VT_PLATFORM_POSIX_H
#define VT_PLATFORM_POSIX_H

#include "vitrum/platform.h"
#include "store/store.h"

void vt_platform_posix(vt_platform *p, vt_store *store);
/* Its entropy and clock, for platforms that store elsewhere (an in-memory
 * engine checking a state blob). */
int vt_posix_entropy(void *ctx, uint8_t *buf, size_t len);
uint64_t vt_posix_monotonic_ms(void *ctx);

#endif
