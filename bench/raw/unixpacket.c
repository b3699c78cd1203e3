/*
 * unixpacket.c - the raw baseline of unixpacket: unix seqpacket socket:
 * listen/accept/connect as unix.c; one message per send/recv, a batch with
 * one sendmmsg.
 */
#include "raw.h"

#include <sys/socket.h>

const struct raw_mech raw_unixpacket = {
        .name = "unixpacket",
        .family = AF_UNIX,
        .type = SOCK_SEQPACKET,
        .prepare = raw_sock_listen,
        .open = raw_sock_connect,
        .cleanup = raw_sock_cleanup,
};
