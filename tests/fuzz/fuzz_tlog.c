/* libFuzzer target: the transparency verification core (src/tlog), which the
 * engine will run on bundles from the host.  The input is handed to every
 * parser (bundle, note, checkpoint, manifest, verifier key, the whole
 * release check with and without a log key) as an exact-size heap buffer;
 * none may read outside it or crash, and a release check may only succeed
 * for a manifest signed by the fixed key below (the fuzzer does not have
 * its private key, so success is an invariant violation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlog/tlog.h"

/* The golang.org/x/mod/sumdb/note example key (its private key is public,
 * so seeds signed by it reach the code after signature checks). */
static const char vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    vt_note_key k, parsed;
    vt_release_policy p;
    vt_manifest m;
    vt_note n;
    vt_checkpoint c;
    vt_bundle b;
    uint64_t t[1];

    if (!buf || vt_note_key_parse(&k, vkey, strlen(vkey)) != VT_TLOG_OK)
        abort();
    memcpy(buf, data, size);
    (void)vt_bundle_parse(&b, buf, size);
    if (vt_note_parse(&n, (const char *)buf, size) == VT_TLOG_OK) {
        (void)vt_note_verify(&n, &k, 1, NULL, t);
        (void)vt_checkpoint_parse(&c, n.text, n.text_len);
        (void)vt_manifest_parse(&m, n.text, n.text_len);
    }
    (void)vt_checkpoint_parse(&c, (const char *)buf, size);
    (void)vt_manifest_parse(&m, (const char *)buf, size);
    (void)vt_note_key_parse(&parsed, (const char *)buf, size);
    memset(&p, 0, sizeof(p));
    p.release_keys = &k;
    p.nrelease = 1;
    p.manifest_only = true;
    (void)vt_release_verify(buf, size, &p, &m);
    p.log_key = &k;
    (void)vt_release_verify(buf, size, &p, &m);
    free(buf);
    return 0;
}
