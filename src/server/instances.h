/* `vitrum serve --instances DIR`: one vTPM per subdirectory of DIR, all in
 * one process, each speaking the swtpm socket protocol on DIR/NAME.ctrl
 * (control, SET_DATAFD as QEMU uses it) and DIR/NAME.data (raw TPM
 * commands), with DIR/NAME as its state directory.  An instance's engine and
 * state files are opened when its first connection arrives and released
 * when it is idle again.  docs/SWTPM.md "Many instances". */
#ifndef VT_INSTANCES_H
#define VT_INSTANCES_H

#include <stdbool.h>

#include "vitrum/engine.h"

#define VT_INSTANCE_NAME_MAX 64

typedef struct {
    const char *dir;              /* DIR (created, mode 0700, if missing) */
    const char *key;              /* --key SPEC for every instance's state, or NULL */
    vt_engine_config engine_cfg;  /* --nv-size */
    bool sandbox;                 /* enter the seccomp sandbox once the sockets are up */
    int log_level;                /* swtpm's levels: 1 errors, 5 control commands, 20 TPM commands */
} vt_instances_cfg;

/* Is name one that --instances serves: [A-Za-z0-9][A-Za-z0-9._-]*, at most
 * 64 characters, not ending in .ctrl or .data (the sockets' names)? */
bool vt_instance_name_ok(const char *name);

/* Serve until SIGTERM/SIGINT, with every open instance's state saved.
 * Returns the exit status: 0, or 1 with the reason logged. */
int vt_instances_serve(const vt_instances_cfg *cfg);

#endif
