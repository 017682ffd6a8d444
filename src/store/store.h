/* The state directory: one TPM's durable state on a POSIX file system.
 *
 * Two slot files, state.0 and state.1, each holding one framed copy of the
 * state with the TPM's id and a sequence number.  A commit overwrites the
 * older slot and fdatasyncs it: one flush per commit, and a crash at any
 * byte leaves the other slot intact, so the loader finds the old or the new
 * state, never a mix.  With an owner key each slot's payload is sealed with
 * AES-256-GCM bound to its header; the loader refuses a wrong key, a slot
 * from another TPM, a replayed older slot and any damage a crash cannot
 * explain (docs/FORMAT.md).  A lock file keeps two servers off one
 * directory. */
#ifndef VT_STORE_H
#define VT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/seal.h"

#define VT_TPM_ID_SIZE 16u

/* What the loader found in one slot file. */
typedef enum {
    VT_SLOT_MISSING = 0,
    VT_SLOT_OK,
    VT_SLOT_SHORT,      /* shorter than a header */
    VT_SLOT_FOREIGN,    /* not a vitrum slot (magic) */
    VT_SLOT_VERSION,    /* unknown slot format version */
    VT_SLOT_HEADER_BAD, /* header fails its check: modified */
    VT_SLOT_TRUNCATED,  /* header intact, file shorter than its frame */
    VT_SLOT_BODY_BAD,   /* header intact, payload fails authentication */
    VT_SLOT_UNREAD,     /* header intact, payload not checked (key mismatch) */
} vt_slot_status;

typedef struct {
    vt_slot_status status;
    unsigned version;
    bool encrypted, passphrase;
    uint8_t id[VT_TPM_ID_SIZE];
    uint64_t seq;
    uint32_t len;       /* payload length */
    uint64_t file_size;
    bool key_matches;   /* encrypted: the key check value matched */
} vt_slot_info;

typedef struct {
    char dir[4096];
    int dir_fd;
    int lock_fd;
    int slot_fd[2];
    uint64_t seq;   /* sequence number of the newest valid slot */
    int newest;     /* its index, -1 when there is none */
    uint8_t id[VT_TPM_ID_SIZE];
    bool have_id;   /* id is known (loaded or set) */
    vt_seal_key *key;  /* NULL: state not encrypted */
    bool kdf_pending;  /* passphrase, new directory: write the kdf file at the first commit */
    vt_kdf_params kdf;
    vt_slot_info slot[2]; /* what the last load found */
    int journal_fd;        /* the journal file, open from vt_store_open on */
    uint64_t journal_end;  /* where the next record goes */
    uint32_t journal_n;    /* records since the newest slot */
    char err[512];  /* last error, one line for the user */
    char warn[512]; /* a load that succeeded but found something to report */
} vt_store;

/* Open (creating if needed, mode 0700) and lock the directory.  0 or -1
 * with store->err set. */
int vt_store_open(vt_store *s, const char *dir);
void vt_store_close(vt_store *s);
/* Seal the state with the key from SPEC (seal.h); call before load.  A
 * passphrase uses the directory's kdf file, or new parameters written at
 * the first commit of a new TPM.  0 or -1 with err set. */
int vt_store_set_key(vt_store *s, const char *spec);
/* Give a new state directory this TPM id (import); before the first commit. */
void vt_store_set_id(vt_store *s, const uint8_t id[VT_TPM_ID_SIZE]);
/* Copy the newest valid state blob into buf: its length, 0 if there is no
 * state yet, -1 (err set) if the state cannot be used.  s->warn is set
 * when one slot was left damaged by an interrupted commit. */
long vt_store_load(vt_store *s, uint8_t *buf, size_t cap);
/* Make blob the durable state: a full snapshot into the older slot, one
 * fdatasync; the journal starts again after it (its old records name the
 * older slot and are no longer replayed).  0 or -1 with store->err set. */
int vt_store_commit(vt_store *s, const uint8_t *blob, size_t len);

/* The journal (docs/FORMAT.md): records that each change a small part of
 * the state, appended after the newest slot, one fdatasync each.
 * vt_store_append makes rec durable as the next record; it needs a slot to
 * follow (after vt_store_load found one, or a first commit).  0, -1 (err
 * set), or 1 when the journal has no room: commit the whole state then. */
int vt_store_append(vt_store *s, const uint8_t *rec, size_t len);
/* After vt_store_load: hand every valid record that follows the newest slot
 * to apply(), in order.  A record cut short at the end of the file (a crash
 * during its append, never acknowledged) ends the journal; damage anywhere
 * else is refused.  Returns the number of records, or -1 (err set; also
 * when apply returns non-zero). */
long vt_store_replay(vt_store *s, int (*apply)(void *ctx, const uint8_t *rec, size_t len), void *ctx);

const char *vt_slot_status_str(vt_slot_status st);

#endif
