/*
 * udp_test.c - udp:// against RELIABILITY.md UDP-01 to UDP-03: no
 * truncated delivery, the drop counter from SO_RXQ_OVFL, refusals and
 * peer-locked dialers; plus replies to the last sender and sendmmsg
 * batches.
 */
#include "helpers.h"

#include "sock/sock.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT 10000

static int
port_of_fd(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* A listener on a free port, and a dialer connected to it. */
static void
open_pair(const char *query, ipk_chan **l, ipk_chan **d)
{
	char u[128];
	snprintf(u, sizeof(u), "udp://127.0.0.1:0%s", query);
	cr_assert_eq(ipk_listen(u, l), 0);
	snprintf(u, sizeof(u), "udp://127.0.0.1:%d%s", port_of_fd(ipk_fd(*l)),
	         query);
	cr_assert_eq(ipk_dial(u, d), 0);
}

Test(udp01, oversize_and_short_buffer_are_emsgsize)
{
	ipk_chan *l, *d;
	open_pair("?max=70000", &l, &d);
	char *buf = malloc(70000);
	th_fill(buf, 65507, 7);
	cr_expect_eq(ipk_send(d, buf, 65508, WAIT), -EMSGSIZE);
	cr_expect_eq(ipk_send(d, buf, 65507, WAIT), 0);
	char small[8];
	struct ipk_msg m = {.buf = small, .len = sizeof(small)};
	cr_expect_eq(ipk_recvmsg(l, &m, WAIT), -EMSGSIZE);
	cr_expect_eq(m.len, 65507, "the real length is reported");
	memset(buf, 0, 70000);
	cr_expect_eq(ipk_recv(l, buf, 70000, WAIT), 65507, "it stayed");
	cr_expect(th_check(buf, 65507, 7));
	free(buf);
	ipk_close(d);
	ipk_close(l);
}

Test(udp02, drops_are_counted)
{
	ipk_chan *l, *d;
	open_pair("", &l, &d);
	int small = 4096;
	cr_assert_eq(setsockopt(ipk_fd(l), SOL_SOCKET, SO_RCVBUF, &small,
	                        sizeof(small)),
	             0);
	char buf[1000] = {0};
	struct iovec iov[1000];
	for (int i = 0; i < 1000; i++)
		iov[i] = (struct iovec){buf, sizeof(buf)};
	cr_expect_eq(ipk_send_batch(d, iov, 1000, WAIT), 1000,
	             "every send succeeds");
	int got = 0;
	while (ipk_recv(l, buf, sizeof(buf), 50) == 1000)
		got++;
	cr_expect_lt(got, 1000, "nothing was dropped?");
	/* The count is the kernel's at the moment of asking: no datagram
	 * needs to get through first to bring it. */
	cr_expect_eq(ipk_drops(l), 1000 - got, "before the next datagram");
	cr_assert_eq(ipk_send(d, "x", 1, WAIT), 0);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), WAIT), 1);
	uint32_t drops = ipk__sock_drops(l);
	cr_expect_eq(ipk_drops(l), (long long)drops, "public count differs");
	cr_expect_eq(drops, (uint32_t)(1000 - got), "drops %u, lost %d", drops,
	             1000 - got);
	ipk_close(d);
	ipk_close(l);
}

Test(udp03, refusal_is_peer_gone)
{
	ipk_chan *l, *d;
	open_pair("", &l, &d);
	ipk_close(l); /* the port closes: ICMP port unreachable */
	char buf[8];
	int rc = ipk_send(d, "a", 1, WAIT);
	cr_expect_eq(rc, 0);
	usleep(50000);
	ssize_t r = ipk_recv(d, buf, sizeof(buf), 500);
	cr_expect_eq(r, -EPIPE, "got %zd (%s)", r, ipk_strerror((int)r));
	ipk_close(d);
}

Test(udp03, dialer_is_peer_locked)
{
	ipk_chan *l, *d;
	open_pair("", &l, &d);
	int foreign = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port =
	                                 htons((uint16_t)port_of_fd(ipk_fd(d))),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(sendto(foreign, "evil", 4, 0, (struct sockaddr *)&to,
	                    sizeof(to)),
	             4);
	cr_assert_eq(ipk_send(d, "hi", 2, WAIT), 0);
	char buf[8];
	struct ipk_peer p;
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .peer = &p};
	cr_assert_eq(ipk_recvmsg(l, &m, WAIT), 2);
	cr_expect_eq(p.addr.ss_family, AF_INET);
	cr_expect_eq(p.pid, -1);
	cr_expect_eq(ipk_send(l, "back", 4, WAIT), 0, "reply to last sender");
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), WAIT), 4);
	cr_expect_eq(memcmp(buf, "back", 4), 0, "a foreign datagram came in");
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), 100), -ETIMEDOUT);
	close(foreign);
	ipk_close(d);
	ipk_close(l);
}

Test(udp, listener_without_sender_cannot_send)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen("udp://127.0.0.1:0", &l), 0);
	cr_expect_eq(ipk_send(l, "x", 1, 0), -EDESTADDRREQ);
	ipk_close(l);
}

Test(udp, batch_keeps_order)
{
	ipk_chan *l, *d;
	open_pair("", &l, &d);
	unsigned v[100];
	struct iovec iov[100];
	for (unsigned i = 0; i < 100; i++) {
		v[i] = i;
		iov[i] = (struct iovec){&v[i], sizeof(v[i])};
	}
	cr_expect_eq(ipk_send_batch(d, iov, 100, WAIT), 100);
	for (unsigned i = 0; i < 100; i++) {
		unsigned got = ~0u;
		cr_expect_eq(ipk_recv(l, &got, sizeof(got), WAIT), 4);
		cr_expect_eq(got, i);
	}
	ipk_close(d);
	ipk_close(l);
}
