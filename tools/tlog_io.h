/* Host-side helpers shared by `vitrum release`, `vitrum log` and `vitrum
 * witness`: files written durably, key files, proof files (formats in
 * docs/TRANSPARENCY.md). */
#ifndef VT_TLOG_IO_H
#define VT_TLOG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlog/tlog.h"

/* Read a whole file (at most max bytes) into a malloc'd buffer with a NUL
 * after the data.  0 on success; prints "vitrum: PATH: reason" on failure. */
int vt_io_read(const char *path, uint8_t **buf, size_t *len, size_t max);
/* Replace path durably: write a temporary file in the same directory,
 * fsync it, rename it over path, fsync the directory. */
int vt_io_write_atomic(const char *path, const void *data, size_t len, int mode);
int vt_io_fsync_dir(const char *dir);
/* Replace path (temporary file, rename) without syncing: for many files
 * made durable together afterwards (syncfs). */
int vt_io_write_replace(const char *path, const void *data, size_t len, int mode);
int vt_io_write_all(int fd, const void *p, size_t n);

/* A signer key file: "PRIVATE+KEY+name+hex8+base64(type||seed)\n" (the
 * golang.org/x/mod/sumdb/note signer key format). */
typedef struct {
    vt_note_key key;
    uint8_t seed[32];
} vt_signer;
int vt_signer_generate(vt_signer *s, const char *name, uint8_t type);
int vt_signer_load(vt_signer *s, const char *path);
int vt_signer_save(const vt_signer *s, const char *path);
void vt_signer_wipe(vt_signer *s);
/* A verifier key given as a string, or as a file holding one. */
int vt_vkey_load(vt_note_key *k, const char *arg);

/* Sign text as a note: text || "\n" || a signature line per signer.  The
 * result is malloc'd.  For type 0x04 signers, t is the cosignature time. */
int vt_note_sign(const char *text, size_t text_len, const vt_signer *signers, size_t n,
                 uint64_t t, char **out, size_t *out_len);
/* Append one signature line by s to an existing note. */
int vt_note_cosign(const char *note, size_t note_len, const vt_note *parsed,
                   const vt_signer *s, uint64_t t, char **out, size_t *out_len);

/* Proof files:
 *   vitrum-proof/v1
 *   inclusion INDEX SIZE        or   consistency OLD NEW
 *   base64 hash, one a line */
typedef struct {
    bool consistency;
    uint64_t a, b; /* index, size / old, new */
    size_t n;
    vt_tlog_hash hash[VT_TLOG_MAX_PROOF];
} vt_proof_file;
int vt_proof_parse(vt_proof_file *p, const char *text, size_t len);
/* Returns a malloc'd text. */
char *vt_proof_format(const vt_proof_file *p);

/* A file name for a key name ('/' and other odd bytes become '_'). */
void vt_key_file_base(const char *name, char *out, size_t cap);

#endif
