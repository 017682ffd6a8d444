/* `vitrum verify`: host image verification with PCR measurement and a TCG
 * event log entry (docs/TRANSPARENCY.md). */
#ifndef VT_VERIFY_CMD_H
#define VT_VERIFY_CMD_H

/* argv[0] is "verify".  Returns the process exit status. */
int vt_verify_main(int argc, char **argv);

#endif
