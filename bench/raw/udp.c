/*
 * udp.c - the raw baseline of udp: UDP over 127.0.0.1: two sockets on
 * kernel-chosen ports, each connected to the other; send/recv, a batch
 * with one sendmmsg. Lossy: the driver paces it (loop.c).
 */
#include "raw.h"

#include <sys/socket.h>

const struct raw_mech raw_udp = {
        .name = "udp",
        .family = AF_INET,
        .type = SOCK_DGRAM,
        .prepare = raw_sock_dgram,
        .open = raw_sock_dgram_open,
        .cleanup = raw_sock_cleanup,
};
