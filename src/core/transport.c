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
extern const struct ipk_transport ipk__shm, ipk__sysvshm;
extern const struct ipk_transport ipk__redis; /* when built: IPK_HAVE_REDIS */

const struct ipk_transport *const ipk__transports[] = {
        &ipk__pipe,       /* notes 6.1 */
        &ipk__fifo,       /* 6.2 */
        &ipk__shm,        /* 6.3 */
        &ipk__sysvshm,    /* 6.3 + 6.4 */
        &ipk__sysvmsg,    /* 6.5 */
        &ipk__mq,         /* 6.5 */
        &ipk__unix,       /* 6.6 */
        &ipk__unixpacket, /* 6.6 */
        &ipk__unixgram,   /* 6.6 */
        &ipk__tcp,        /* 6.6 */
        &ipk__udp,        /* 6.6 */
#ifdef IPK_HAVE_REDIS
        &ipk__redis, /* beyond one machine */
#endif
        NULL,
};

const struct ipk_transport *
ipk__transport_find(const char *scheme)
{
	for (size_t i = 0; ipk__transports[i]; i++)
		if (strcmp(ipk__transports[i]->scheme, scheme) == 0)
			return ipk__transports[i];
	return NULL;
}

const char *
ipk_transport(size_t i)
{
	size_t n = sizeof(ipk__transports) / sizeof(ipk__transports[0]) - 1;
	return i < n ? ipk__transports[i]->scheme : NULL;
}
