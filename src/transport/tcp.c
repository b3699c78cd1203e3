/*
 * tcp.c - "tcp://host:port" (IPv4, IPv6 as [::1]:port, names resolved;
 * no host is 127.0.0.1): the TCP socket of notes section 6.6, framed by
 * io.c, TCP_NODELAY on, SO_REUSEADDR on, SO_REUSEPORT off.  The shared
 * code is in sock.c.
 */
#include "../sock/sock.h"
#include "../core/transport.h"

const struct ipk_transport ipk__tcp = {
        .scheme = "tcp",
        .size = sizeof(struct ipk__sock),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_ACCEPT | IPK_CAP_FD,
        .options = ipk__sock_inet_options,
        .check = ipk__sock_check,
        .listen = ipk__sock_listen,
        .dial = ipk__sock_dial,
        .accept = ipk__sock_accept,
        .shutdown = ipk__sock_shutdown,
        .send = ipk__sock_stream_send,
        .recv = ipk__sock_stream_recv,
        .send_batch = ipk__stream_send,
        .name = ipk__sock_name,
        .stats = ipk__sock_stats,
        .close = ipk__sock_close,
};
