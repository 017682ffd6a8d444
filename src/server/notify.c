/* systemd readiness notification (Type=notify), without libsystemd.
 *
 * The protocol (sd_notify(3), "NOTIFY_SOCKET"): the service manager puts
 * the path of a datagram socket in $NOTIFY_SOCKET ("/run/..." or, for an
 * abstract socket, "@name"); the service sends it newline-separated
 * VAR=VALUE assignments, e.g. "READY=1".  The socket is made in
 * vt_notify_init, before the sandbox (which forbids socket(2)); sending is
 * a sendto(2), which the sandbox allows. */
#define _GNU_SOURCE
#include "server/notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

int vt_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t n;

    if (notify_fd >= 0)
        return 1;
    if (!path || (path[0] != '/' && path[0] != '@'))
        return 0;
    n = strlen(path);
    if (n < 2 || n >= sizeof(notify_addr.sun_path))
        return -1;
    memset(&notify_addr, 0, sizeof(notify_addr));
    notify_addr.sun_family = AF_UNIX;
    memcpy(notify_addr.sun_path, path, n);
    if (path[0] == '@')
        notify_addr.sun_path[0] = '\0'; /* abstract namespace: no NUL at the end */
    notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return notify_fd >= 0 ? 1 : -1;
}

int vt_notify(const char *state)
{
    if (notify_fd < 0)
        return 0;
    return sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&notify_addr,
                  notify_len) >= 0
               ? 1
               : -1;
}

void vt_notify_ready(void)
{
    (void)vt_notify("READY=1\nSTATUS=serving");
}
