/* `vitrum status`: what a running TPM is, for a person. */
#ifndef VT_STATUS_H
#define VT_STATUS_H

/* argv[0] is "status".  Returns the process exit status. */
int vt_status_main(int argc, char **argv);

#endif
