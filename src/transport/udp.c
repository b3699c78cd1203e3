/*
 * udp.c - "udp://host:port": UDP.  The listener binds and answers the
 * last sender; a dialer is connected (peer-locked: other sources are not
 * delivered, ICMP refusals surface as -ECONNREFUSED).  Unreliable by
 * nature: ipk_drops reads the kernel's drop count (SO_MEMINFO).
 */
#include "../sock/sock.h"
#include "../core/transport.h"

const struct ipk_transport ipk__udp = {
        .scheme = "udp",
        .size = sizeof(struct ipk__sock),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES | IPK_CAP_FD,
        .options = ipk__sock_inet_options,
        .check = ipk__sock_check,
        .listen = ipk__sock_listen,
        .dial = ipk__sock_dial,
        .send = ipk__sock_dgram_send,
        .recv = ipk__sock_dgram_recv,
        .send_batch = ipk__sock_dgram_batch,
        .drops = ipk__sock_drops,
        .name = ipk__sock_name,
        .stats = ipk__sock_stats,
        .close = ipk__sock_close,
};
