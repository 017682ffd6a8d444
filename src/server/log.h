/* The daemon's logger: one line per event, to stderr (the default), to
 * syslog, or to a file that SIGHUP reopens (for logrotate).
 *
 * Set up once at start, before the sandbox: everything that needs a system
 * call the seccomp list forbids (socket, connect, open, fork) happens in
 * vt_log_open.  After that, vt_log only formats into a stack buffer and
 * writes it with one write/send, so lines from several threads never
 * interleave.  Never pass a secret (key, passphrase, seed, auth value) to
 * vt_log: a log is read by more people than the TPM's owner. */
#ifndef VT_LOG_H
#define VT_LOG_H

#include <stddef.h>

typedef enum {
    VT_LOG_ERROR = 0,
    VT_LOG_WARN = 1,
    VT_LOG_INFO = 2,
    VT_LOG_DEBUG = 3,
} vt_log_level;

/* "error", "warn" (or "warning"), "info", "debug".  0, or -1. */
int vt_log_parse_level(const char *s, vt_log_level *out);

/* Is s a log target vt_log_open accepts: "stderr", "syslog", or an absolute
 * file path?  1 or 0. */
int vt_log_target_ok(const char *s);

/* Send the log to target (NULL or "stderr": standard error; "syslog": the
 * local syslog socket /dev/log, facility daemon; "/path": that file,
 * appended, written by a small helper process that reopens it on
 * vt_log_reopen) and drop lines above level.  On standard error under
 * systemd (JOURNAL_STREAM names stderr) each line carries its syslog
 * priority as "<N>" so the journal records the level.  Returns 0, or -1
 * with err set (the logger then stays on stderr). */
int vt_log_open(const char *target, vt_log_level level, char *err, size_t errlen);

/* Log one event.  The message is one line: a newline or other control
 * character in it is written as '?'. */
void vt_log(vt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Would a line at this level be written? */
int vt_log_enabled(vt_log_level level);

/* SIGHUP: reopen the log file (logrotate moved it away).  Safe to call from
 * the sandboxed serving loop: it only sends a request to the helper. */
void vt_log_reopen(void);

/* Stop the helper (after its last line is written) and go back to stderr. */
void vt_log_close(void);

#endif
