/* The serving loop: sockets, poll, signals.  Framing lives in mssim.c. */
#ifndef VT_SERVER_H
#define VT_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include "vitrum/engine.h"

/* Bind and listen on addr:port (IPv4 or IPv6 literal, or "localhost").
 * Returns the fd, or -1 with err (one line) filled in. */
int vt_listen_tcp(const char *addr, uint16_t port, char *err, size_t errlen);

/* Serve the mssim command port and platform port until SIGTERM/SIGINT or
 * an mssim STOP.  What a connection leaves loaded is flushed when it closes
 * (vt_engine_client_gone) unless keep_loaded.  Returns the signal number
 * that stopped it, 0 for STOP, or -1 on a fatal error. */
int vt_serve_mssim(vt_engine *e, int cmd_fd, int plat_fd, bool keep_loaded);

#endif
