/*
 * unix.c - "unix:/path", "unix:name" (in the private runtime directory)
 * and "unix:@name" (abstract: only when named so): the Unix stream socket
 * of notes section 6.6.  A byte stream, so io.c frames it; descriptors
 * (SCM_RIGHTS) ride on a frame's first byte.  A listener admits only its
 * own euid unless ?allow=any or ?uid=N.  The shared code is in sock.c.
 */
#include "../sock/sock.h"
#include "../core/transport.h"

const struct ipk_transport ipk__unix = {
        .scheme = "unix",
        .size = sizeof(struct ipk__sock),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_ACCEPT | IPK_CAP_FD | IPK_CAP_PAIR |
                IPK_CAP_FDPASS,
        .options = ipk__sock_unix_options,
        .check = ipk__sock_check,
        .listen = ipk__sock_listen,
        .dial = ipk__sock_dial,
        .pair = ipk__sock_pair,
        .accept = ipk__sock_accept,
        .shutdown = ipk__sock_shutdown,
        .send = ipk__sock_stream_send,
        .recv = ipk__sock_stream_recv,
        .send_batch = ipk__stream_send,
        .name = ipk__sock_name,
        .stats = ipk__sock_stats,
        .close = ipk__sock_close,
};
