/*
 * tcp.c - the raw baseline of tcp: TCP over 127.0.0.1 with TCP_NODELAY:
 * listen/accept/connect as unix.c, length-prefixed frames on the stream.
 */
#include "raw.h"

#include <sys/socket.h>

const struct raw_mech raw_tcp = {
        .name = "tcp",
        .family = AF_INET,
        .type = SOCK_STREAM,
        .prepare = raw_sock_listen,
        .open = raw_sock_connect,
        .cleanup = raw_sock_cleanup,
};
