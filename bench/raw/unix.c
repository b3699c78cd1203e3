/*
 * unix.c - the raw baseline of unix: unix stream socket (a path in
 * /tmp): the coordinator binds and listens, the server accepts, the driver
 * connects; messages are length-prefixed frames on the stream (common.c).
 */
#include "raw.h"

#include <sys/socket.h>

const struct raw_mech raw_unix = {
        .name = "unix",
        .family = AF_UNIX,
        .type = SOCK_STREAM,
        .prepare = raw_sock_listen,
        .open = raw_sock_connect,
        .cleanup = raw_sock_cleanup,
};
