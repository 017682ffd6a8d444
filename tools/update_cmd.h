/* `vitrum update apply|status`: stage verified vitrum builds in update
 * slots (docs/TRANSPARENCY.md, "Update slots"). */
#ifndef VT_UPDATE_CMD_H
#define VT_UPDATE_CMD_H

/* argv[0] is "update".  Returns the process exit status. */
int vt_update_main(int argc, char **argv);

#endif
