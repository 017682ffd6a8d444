/* `vitrum log`: an append-only transparency log of release manifests
 * (docs/TRANSPARENCY.md). */
#ifndef VT_LOG_CMD_H
#define VT_LOG_CMD_H

/* argv[0] is "log".  Returns the process exit status. */
int vt_log_main(int argc, char **argv);

#endif
