/* `vitrum state`: check, export and import a TPM's state directory. */
#ifndef VT_STATE_CMD_H
#define VT_STATE_CMD_H

/* argv[0] is "state".  Returns the process exit status. */
int vt_state_main(int argc, char **argv);

#endif
