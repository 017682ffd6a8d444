/* systemd readiness notification (sd_notify protocol, no libsystemd). */
#ifndef VT_NOTIFY_H
#define VT_NOTIFY_H

/* Read $NOTIFY_SOCKET and make the socket to reach it.  Call before the
 * sandbox.  Returns 1 when notifications will be sent, 0 when not under a
 * service manager that wants them, -1 on an unusable $NOTIFY_SOCKET. */
int vt_notify_init(void);

/* Send state ("READY=1", "STOPPING=1", "STATUS=...", newline-separated)
 * to the service manager.  1 sent, 0 nobody to tell, -1 error. */
int vt_notify(const char *state);

/* The listening sockets are ready and the TPM answers: READY=1. */
void vt_notify_ready(void);

#endif
