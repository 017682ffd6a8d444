/* The daemon's sandbox after start-up: no core dumps, memory locked, and a
 * seccomp allow-list of the system calls serving needs.  Everything that
 * opens files or sockets happens before it is entered. */
#ifndef VT_SANDBOX_H
#define VT_SANDBOX_H

#include <stddef.h>

/* Keep secrets out of core dumps and swap: PR_SET_DUMPABLE 0, RLIMIT_CORE 0,
 * and the secret region [p, p+len) locked in memory and excluded from
 * dumps.  Returns 0, or -1 with warn set; mlock failing for lack of
 * RLIMIT_MEMLOCK is reported in warn but not fatal. */
int vt_harden_process(const void *p, size_t len, char *warn, size_t warn_len);

/* Install the seccomp filter on this thread and every thread it creates
 * later.  Returns 0 or -1 with err set. */
int vt_sandbox_enter(char *err, size_t err_len);
/* The same, for `serve --instances`, which also opens an instance's state
 * files when a VM connects (openat, mkdir, flock), locks its secrets
 * (mlock), and makes and removes the sockets of instances a SIGHUP finds
 * (getdents64, socket, bind, listen, unlink, umask). */
int vt_sandbox_enter_instances(char *err, size_t err_len);

#endif
