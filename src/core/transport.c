/*
 * transport.c - the one table of transports, one line each.  Adding a
 * mechanism is its file in src/transport/ and a line here.
 */
#include "transport.h"

#include <string.h>

extern const struct ipk_transport ipk__pipe, ipk__fifo;
extern const struct ipk_transport ipk__sysvmsg, ipk__mq;
extern const struct ipk_transport ipk__unix, ipk__unixpacket, ipk__unixgram;
extern const struct ipk_transport ipk__tcp, ipk__udp;
extern const struct ipk_transport ipk__shm;

const struct ipk_transport *const ipk__transports[] = {
        &ipk__pipe, &ipk__fifo,       &ipk__sysvmsg,  &ipk__mq,
        &ipk__unix, &ipk__unixpacket, &ipk__unixgram, &ipk__tcp,
        &ipk__udp,  &ipk__shm,        NULL,
};

const struct ipk_transport *
ipk__transport_find(const char *scheme)
{
	for (size_t i = 0; ipk__transports[i]; i++)
		if (strcmp(ipk__transports[i]->scheme, scheme) == 0)
			return ipk__transports[i];
	return NULL;
}
