/*
 * unixgram.c - the raw baseline of unixgram: unix datagram sockets: two
 * bound paths, each connected to the other; send/recv one message per
 * call, a batch with one sendmmsg. Never lossy: a full receiver blocks the
 * sender.
 */
#include "raw.h"

#include <sys/socket.h>

const struct raw_mech raw_unixgram = {
        .name = "unixgram",
        .family = AF_UNIX,
        .type = SOCK_DGRAM,
        .prepare = raw_sock_dgram,
        .open = raw_sock_dgram_open,
        .cleanup = raw_sock_cleanup,
};
