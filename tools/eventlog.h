/* A TCG PC Client crypto-agile event log (the format of
 * /sys/kernel/security/tpm0/binary_bios_measurements), written by
 * `vitrum verify` (docs/TRANSPARENCY.md, "Host image verification").
 *
 * TCG PC Client Platform Firmware Profile Specification (PFP) 1.05:
 *  - §10.2.1 TCG_PCClientPCREvent: the first event, SHA-1 log format, type
 *    EV_NO_ACTION, PCR 0, 20 zero bytes of digest, whose data is
 *  - §10.2.1.1 TCG_EfiSpecIdEvent ("Spec ID Event03"): the algorithms
 *    (and digest sizes) every later event carries;
 *  - §10.2.2 TCG_PCR_EVENT2: pcrIndex, eventType, TPML_DIGEST_VALUES
 *    (count, then TPMT_HA: hashAlg || digest), eventSize, event.
 * Every integer is little-endian (§10.2: "UEFI byte order"); the
 * TPMI_ALG_HASH values and digest sizes are those of TPM 2.0 Part 2. */
#ifndef VT_EVENTLOG_H
#define VT_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#define VT_EV_NO_ACTION 0x00000003u
#define VT_EV_IPL 0x0000000Du /* PFP Table 9: "IPL code": a loaded image */
#define VT_EVLOG_MAX_ALGS 8u
#define VT_EVLOG_MAX_EVENT_DATA (1u << 20)

typedef struct {
    uint16_t alg;  /* TPM_ALG_ID */
    uint16_t size; /* digest size */
} vt_evlog_alg;

typedef struct {
    size_t nalgs;
    vt_evlog_alg algs[VT_EVLOG_MAX_ALGS];
} vt_evlog_spec;

/* The header event (TCG_PCClientPCREvent carrying TCG_EfiSpecIdEvent) for
 * these algorithms.  Returns its length, or 0 when cap is too small. */
size_t vt_evlog_header(const vt_evlog_spec *spec, uint8_t *out, size_t cap);

/* One TCG_PCR_EVENT2: digests[i] is the digest in spec->algs[i].  Returns
 * its length, or 0 when cap is too small. */
size_t vt_evlog_event2(const vt_evlog_spec *spec, uint32_t pcr, uint32_t type,
                       const uint8_t *const digests[], const void *data, uint32_t data_len,
                       uint8_t *out, size_t cap);

/* Parse a whole log: the header event (its algorithms into *spec), then
 * every TCG_PCR_EVENT2 whose digests follow spec in order.  *whole gets the
 * length of the whole events (a final event cut short by a crash is not
 * counted), *nevents their number (header excluded).  0, or -1 with err set
 * when the bytes are not such a log. */
int vt_evlog_parse(const uint8_t *buf, size_t len, vt_evlog_spec *spec, size_t *whole,
                   size_t *nevents, char *err, size_t errlen);

/* An open log, checked and locked (flock) for appending. */
typedef struct {
    int fd;
    int dir_fd;     /* its directory, to fsync a new file's entry */
    size_t end;     /* where the next event goes */
    size_t nevents; /* events after the header */
    int created;    /* the file was made (or was empty) by vt_evlog_open */
    char path[4096];
} vt_evlog_file;

/* Open the log FILE for appending, creating it when it does not exist.  An
 * existing non-empty log must be such a log made for the same algorithms,
 * in the same order; an event cut short at its end (a crash) is dropped
 * when the next one is written.  Nothing is written yet.  0, or -1 with
 * err set. */
int vt_evlog_open(vt_evlog_file *f, const char *path, const vt_evlog_spec *spec, char *err,
                  size_t errlen);
/* Append one event (and first the header when the log is new), fsync.
 * 0, or -1 with err set. */
int vt_evlog_write(vt_evlog_file *f, const vt_evlog_spec *spec, uint32_t pcr, uint32_t type,
                   const uint8_t *const digests[], const void *data, uint32_t data_len,
                   char *err, size_t errlen);
/* Close; a log this open created and nothing was written to is removed. */
void vt_evlog_close(vt_evlog_file *f);

#endif
