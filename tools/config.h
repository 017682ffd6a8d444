/* vitrum.conf: the configuration file of `vitrum serve`.
 *
 *   # a comment
 *   port = 2321
 *   log-level = info
 *
 * One `key = value` a line; blank lines and lines starting with '#' are
 * ignored.  Every key is a `vitrum serve` option without its "--"
 * (vitrum.conf(5)); options given on the command line win.  An unknown key,
 * a bad value or a key given twice is refused with "FILE:LINE: reason". */
#ifndef VT_CONFIG_H
#define VT_CONFIG_H

#include <stddef.h>

#define VT_CONFIG_DEFAULT "/etc/vitrum/vitrum.conf"

/* "yes"/"true"/"on"/"1" → 1, "no"/"false"/"off"/"0" → 0, else -1. */
int vt_config_bool(const char *s);

/* "65536", "64K", "64KiB", "1M": a size in octets.  0, or -1. */
int vt_config_parse_size(const char *s, size_t *out);

/* Build the serve command line with the configuration file's settings in
 * front of the given ones, so that getopt sees the command line's last and
 * it wins.  The file is the one of --config FILE in argv, else
 * $VITRUM_CONFIG, else VT_CONFIG_DEFAULT if it exists (none: argv as is).
 * argv[0] is kept first.  On success returns 0 with *out_argc and *out_argv
 * (free with vt_config_free); on a bad file prints one line
 * "FILE:LINE: reason" (or "vitrum: cannot read FILE: ...") on stderr and
 * returns 2, the usage-error exit status. */
int vt_config_merge(int argc, char **argv, int *out_argc, char ***out_argv);
void vt_config_free(int argc, char **argv);

/* The configuration file vt_config_merge read ("" for none). */
const char *vt_config_path(void);

/* The default state directory (VITRUM_STATE, /var/lib/vitrum, XDG). */
void vt_default_state_dir(char *buf, size_t len);

#endif
