/* `vitrum witness`: cosign a log's checkpoints after checking consistency
 * (docs/TRANSPARENCY.md). */
#ifndef VT_WITNESS_CMD_H
#define VT_WITNESS_CMD_H

/* argv[0] is "witness".  Returns the process exit status. */
int vt_witness_main(int argc, char **argv);

#endif
