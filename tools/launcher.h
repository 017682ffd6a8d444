/* The launcher: at the start of `vitrum serve`, run the build staged in an
 * update slot, if one verifies (docs/TRANSPARENCY.md, "Update slots"). */
#ifndef VT_LAUNCHER_H
#define VT_LAUNCHER_H

#include "vitrum/engine.h"

/* The internal option the launcher gives the slot binary: the bundle it
 * was verified with, for vt_launcher_set_firmware. */
#define VT_LAUNCHER_OPTION "firmware-bundle"

/* Called by `vitrum serve` after its options are parsed and its log is
 * open, before it opens the state directory.  argc/argv: the serve
 * command line as given (argv[0] "serve", before the configuration file is
 * merged).  When DIR/slots names a slot to run (next, else current, else
 * previous) whose binary and bundle the engine on DIR verifies (trust
 * store, SVN floor) and whose `selftest` passes, the binary (the very bytes
 * verified, from a sealed memfd) is exec'd with the same command line and
 * --firmware-bundle: this call does not return.  Otherwise (no slot, every
 * slot refused, with the reason logged; or this process is the slot binary
 * already: fw_bundle set) it returns and the caller serves as it is. */
void vt_launcher_run(const char *state, const char *key, const vt_engine_config *cfg,
                     const char *fw_bundle, int argc, char **argv);

/* In the slot binary, once its engine is loaded and before it serves:
 * vt_engine_set_firmware with the bundle at path and the SHA-256 of the
 * running image (/proc/self/exe).  0, or -1 (logged): the caller must not
 * serve. */
int vt_launcher_set_firmware(vt_engine *e, const char *path);

/* `vitrum selftest`: the engine's known-answer tests (TPM2_SelfTest(full)
 * on an in-memory TPM) and the release verifier's.  Exit status 0 or 1. */
int vt_selftest_main(int argc, char **argv);

#endif
