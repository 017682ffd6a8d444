/* `vitrum release`: keys, signed release bundles and their verification
 * (docs/TRANSPARENCY.md). */
#ifndef VT_RELEASE_CMD_H
#define VT_RELEASE_CMD_H

/* argv[0] is "release".  Returns the process exit status. */
int vt_release_main(int argc, char **argv);

#endif
