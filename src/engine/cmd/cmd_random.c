/* Random number generator commands (TPM 2.0 Part 3 §16). */
#include "engine/engine_internal.h"

TPM2_RC vt_cmd_get_random(vt_cmd *c)
{
    uint16_t n;
    uint8_t buf[VT_MAX_DIGEST];

    RETURN_IF_ERROR(vt_in_u16(&c->in, &n));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    /* At most the size of the largest digest (Part 3 §16.1). */
    if (n > sizeof(buf))
        n = sizeof(buf);
    RETURN_IF_ERROR(vt_random(c->e, buf, n));
    vt_out_2b(&c->out, buf, n);
    vt_wipe(buf, sizeof(buf));
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_stir_random(vt_cmd *c)
{
    const uint8_t *data;
    uint16_t n;

    /* TPM2B_SENSITIVE_DATA: at most MAX_SYM_DATA (128) octets. */
    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, 128));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_drbg_stir(c->e, data, n);
    return TPM2_RC_SUCCESS;
}
