/*
 * unixpacket.c - "unixpacket:/path": the Unix SOCK_SEQPACKET socket,
 * connected like unix: but keeping message boundaries, so no framing.
 * Credentials come with every message (SO_PASSCRED), which also tells a
 * peer's EOF from an empty message.  The shared code is in sock.c.
 */
#include "../sock/sock.h"
#include "../core/transport.h"

const struct ipk_transport ipk__unixpacket = {
        .scheme = "unixpacket",
        .size = sizeof(struct ipk__sock),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES | IPK_CAP_ACCEPT |
                IPK_CAP_FD | IPK_CAP_PAIR | IPK_CAP_FDPASS,
        .options = ipk__sock_unix_options,
        .check = ipk__sock_check,
        .listen = ipk__sock_listen,
        .dial = ipk__sock_dial,
        .pair = ipk__sock_pair,
        .accept = ipk__sock_accept,
        .shutdown = ipk__sock_shutdown,
        .send = ipk__sock_dgram_send,
        .recv = ipk__sock_dgram_recv,
        .send_batch = ipk__sock_dgram_batch,
        .name = ipk__sock_name,
        .stats = ipk__sock_stats,
        .close = ipk__sock_close,
};
