/*
 * unixgram.c - "unixgram:/path": the Unix datagram socket.  The listener
 * binds the path and answers the last sender; a dialer binds an autobind
 * name so it can be answered.  Reliable and ordered on Linux, so a full
 * receiver makes the sender wait.  The shared code is in sock.c.
 */
#include "../sock/sock.h"
#include "../core/transport.h"

const struct ipk_transport ipk__unixgram = {
        .scheme = "unixgram",
        .size = sizeof(struct ipk__sock),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES | IPK_CAP_FD | IPK_CAP_FDPASS,
        .options = ipk__sock_unix_options,
        .check = ipk__sock_check,
        .listen = ipk__sock_listen,
        .dial = ipk__sock_dial,
        .send = ipk__sock_dgram_send,
        .recv = ipk__sock_dgram_recv,
        .send_batch = ipk__sock_dgram_batch,
        .name = ipk__sock_name,
        .stats = ipk__sock_stats,
        .close = ipk__sock_close,
};
