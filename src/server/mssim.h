/* The mssim protocol (the TPM 2.0 reference simulator's TCP protocol, as
 * tpm2-tss's mssim TCTI speaks it), as a pure byte-stream processor: bytes
 * in, bytes out, engine calls in between.  No sockets here, so the framing
 * can be fuzzed and unit-tested on its own.
 *
 * Command port: u32 code, then per code:
 *   8  SEND_COMMAND   u8 locality, u32 size, size bytes → u32 size, response, u32 0
 *   15 REMOTE_HANDSHAKE u32 client version → u32 server version, u32 flags, u32 0
 *   20 SESSION_END    → (connection closes)
 *   21 STOP           → u32 0, then the server stops
 * Platform port: u32 code → u32 0 for each signal (power, physical presence,
 *   NV, cancel, hash start/data/end, reset), 20 and 21 as above.
 * All integers big-endian. */
#ifndef VT_MSSIM_H
#define VT_MSSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vitrum/engine.h"

#define VT_MSSIM_SEND_COMMAND 8u
#define VT_MSSIM_POWER_ON 1u
#define VT_MSSIM_POWER_OFF 2u
#define VT_MSSIM_PP_ON 3u
#define VT_MSSIM_PP_OFF 4u
#define VT_MSSIM_HASH_START 5u
#define VT_MSSIM_HASH_DATA 6u
#define VT_MSSIM_HASH_END 7u
#define VT_MSSIM_CANCEL_ON 9u
#define VT_MSSIM_CANCEL_OFF 10u
#define VT_MSSIM_NV_ON 11u
#define VT_MSSIM_NV_OFF 12u
#define VT_MSSIM_KEY_CACHE_ON 13u
#define VT_MSSIM_KEY_CACHE_OFF 14u
#define VT_MSSIM_REMOTE_HANDSHAKE 15u
#define VT_MSSIM_RESET 17u
#define VT_MSSIM_RESTART 18u
#define VT_MSSIM_SESSION_END 20u
#define VT_MSSIM_STOP 21u

/* Largest frame we buffer: code, locality, size, a maximal command. */
#define VT_MSSIM_IN_MAX (4u + 1u + 4u + VT_MAX_COMMAND_SIZE)
#define VT_MSSIM_OUT_MAX (4u + VT_MAX_RESPONSE_SIZE + 4u)

typedef struct {
    bool platform;    /* the platform port (signals) or the command port */
    uint8_t in[VT_MSSIM_IN_MAX];
    size_t in_len;
    size_t discard;   /* bytes of an oversized command still to skip */
    bool close;       /* the peer ended the session or broke the protocol */
    bool stop;        /* the peer asked the server to stop */
} vt_mssim_conn;

void vt_mssim_init(vt_mssim_conn *c, bool platform);

/* Handle at most one complete request from c->in (shifting it out) and
 * write its reply to out (VT_MSSIM_OUT_MAX bytes of room).  Returns true if
 * a request was handled (call again: more may be buffered), false when more
 * bytes are needed or the connection must close. */
bool vt_mssim_step(vt_mssim_conn *c, vt_engine *e, uint8_t *out, size_t *out_len);

#endif
