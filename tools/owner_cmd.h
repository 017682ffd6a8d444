/* `vitrum owner`: the TPM owner's trust store for firmware releases
 * (docs/VENDOR-COMMANDS.md). */
#ifndef VT_OWNER_CMD_H
#define VT_OWNER_CMD_H

/* argv[0] is "owner".  Returns the process exit status. */
int vt_owner_main(int argc, char **argv);

#endif
