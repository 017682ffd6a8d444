/* `vitrum swtpm socket ...` and the `swtpm` name: a drop-in for swtpm 0.7. */
#ifndef VT_SWTPM_CLI_H
#define VT_SWTPM_CLI_H
/* argv[0] is "swtpm" (or anything), argv[1] must be "socket". */
int vt_swtpm_main(int argc, char **argv);
#endif
