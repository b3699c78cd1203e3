/*
 * tcptrace_pcap.c - the packets of tcp-trace: libpcap on "lo" with the
 * BPF filter "tcp port P", each segment's flags, seq, ack and length into
 * the timeline, and with --pcap the same packets into a file that
 * Wireshark and tshark read.  Built when CMake finds libpcap (IPK_PCAP).
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Headers only: lo's 64 KiB frames would fill the ring after some 30
 * packets, and the ring is read once the connection is over. */
#define CAP_SNAPLEN 128
#define CAP_BUFFER (4 << 20)
#define CAP_QUIET_MS 100 /* the capture is drained when this long silent */

struct tt_cap {
	pcap_t *p;
	struct tt_ports ports;
	int link;
	double off; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	struct tt_trace *tr;
	pcap_dumper_t *dump;
	int err;
	unsigned drops; /* the kernel's drop count once the filter was set */
};

static double
cap_clock_off(void)
{
	struct timespec r, m;
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (double)(r.tv_sec - m.tv_sec) + (r.tv_nsec - m.tv_nsec) * 1e-9;
}

/* "tcp and (port P or port Q ...)"; "tcp and port 0" for no ports. */
static int
cap_filter(struct tt_cap *c)
{
	char expr[32 + TT_MAXPORTS * 14] = "tcp and (port 0";
	struct bpf_program prog;
	size_t n = c->ports.n ? 9 : strlen(expr);
	for (size_t i = 0; i < c->ports.n; i++)
		n += (size_t)snprintf(expr + n, sizeof(expr) - n, "%sport %d",
		                      i ? " or " : "", c->ports.port[i]);
	snprintf(expr + n, sizeof(expr) - n, ")");
	if (pcap_compile(c->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN))
		return -EINVAL;
	int rc = pcap_setfilter(c->p, &prog);
	pcap_freecode(&prog);
	return rc ? -EINVAL : 0;
}

static void
cap_discard(u_char *arg, const struct pcap_pkthdr *h, const u_char *b)
{
	(void)arg, (void)h, (void)b;
}

/* Until the filter is set every packet on lo lands in the ring (other
 * programs' too): empty it, or it may be full when ours come. */
static void
cap_drain(struct tt_cap *c)
{
	struct pcap_stat st;
	while (pcap_dispatch(c->p, -1, cap_discard, NULL) > 0)
		;
	if (pcap_stats(c->p, &st) == 0)
		c->drops = st.ps_drop;
}

static int
cap_activate(struct tt_cap *c, const char **why)
{
	pcap_set_snaplen(c->p, CAP_SNAPLEN);
	pcap_set_buffer_size(c->p, CAP_BUFFER);
	pcap_set_immediate_mode(c->p, 1);
	int rc = pcap_activate(c->p);
	if (rc == PCAP_ERROR_PERM_DENIED ||
	    rc == PCAP_ERROR_PROMISC_PERM_DENIED) {
		*why = "capturing on lo needs root or CAP_NET_RAW";
		return -EPERM;
	}
	if (rc < 0) {
		*why = pcap_geterr(c->p);
		return -EIO;
	}
	c->link = pcap_datalink(c->p);
	if (cap_filter(c) || pcap_setnonblock(c->p, 1, NULL) == PCAP_ERROR) {
		*why = pcap_geterr(c->p);
		return -EIO;
	}
	cap_drain(c);
	return 0;
}

int
tt_cap_open(struct tt_cap **out, int port, const char *dev, const char **why)
{
	static char errbuf[PCAP_ERRBUF_SIZE];
	struct tt_cap *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ports = (struct tt_ports){.n = 1, .port = {port}};
	c->off = cap_clock_off();
	c->p = pcap_create(dev, errbuf);
	if (!c->p) {
		*why = errbuf;
		free(c);
		return -EIO;
	}
	int err = cap_activate(c, why);
	if (err) {
		/* why may point into the handle's buffer: keep a copy. */
		snprintf(errbuf, sizeof(errbuf), "%s", *why);
		*why = errbuf;
		tt_cap_close(c);
		return err;
	}
	*out = c;
	return 0;
}

static uint32_t
cap_be32(const u_char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The IP packet in a frame of the capture's link type, or NULL. */
static const u_char *
cap_ip(const struct tt_cap *c, const u_char *b, size_t *n)
{
	size_t skip = c->link == DLT_EN10MB      ? 14
	              : c->link == DLT_LINUX_SLL ? 16
	              : c->link == DLT_RAW       ? 0
	                                         : (size_t)-1;
	if (skip == (size_t)-1 || *n < skip + 40)
		return NULL;
	*n -= skip;
	return b + skip;
}

/* Fill e from the TCP segment in the IP packet at ip, n bytes captured. */
static bool
cap_parse(const struct tt_cap *c, const u_char *ip, size_t n,
          struct tt_event *e)
{
	size_t iph, total;
	if (ip[0] >> 4 == 4) {
		iph = (size_t)(ip[0] & 15) * 4;
		total = (size_t)ip[2] << 8 | ip[3];
	} else if (ip[0] >> 4 == 6 && ip[6] == IPPROTO_TCP) {
		iph = 40;
		total = 40 + ((size_t)ip[4] << 8 | ip[5]);
	} else {
		return false;
	}
	/* Only the headers are captured (n bytes); lengths come from them. */
	if (iph + 20 > n || iph + 20 > total)
		return false;
	const u_char *t = ip + iph;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || iph + doff > total)
		return false;
	int sport = t[0] << 8 | t[1];
	e->kind = TT_PACKET;
	e->side = tt_ports_has(&c->ports, sport) ? TT_SERVER : TT_CLIENT;
	e->sport = (uint16_t)sport;
	e->dport = (uint16_t)(t[2] << 8 | t[3]);
	e->seq = cap_be32(t + 4);
	e->ack = cap_be32(t + 8);
	e->flags = t[13];
	e->len = (uint32_t)(total - iph - doff);
	return true;
}

static void
cap_one(u_char *arg, const struct pcap_pkthdr *h, const u_char *b)
{
	struct tt_cap *c = (void *)arg;
	struct tt_trace *tr = c->tr;
	struct tt_event e = {0};
	size_t n = h->caplen;
	const u_char *ip = cap_ip(c, b, &n);
	if (c->dump)
		pcap_dump((u_char *)c->dump, h, b);
	if (!ip || !cap_parse(c, ip, n, &e))
		return;
	e.t = (double)h->ts.tv_sec + h->ts.tv_usec * 1e-6 - c->off;
	/* Each SYN starts a connection; watching takes them as shown. */
	if ((e.flags & TT_SYN) && !tr->isn_shown) {
		tr->isn[e.side] = e.seq;
		tr->have_isn[e.side] = true;
	}
	if (!c->err)
		c->err = tt_add(tr, &e);
}

int
tt_cap_collect(struct tt_cap *c, struct tt_trace *tr, const char *file)
{
	c->tr = tr;
	if (file && !(c->dump = pcap_dump_open(c->p, file)))
		return -EIO;
	struct pollfd p = {.fd = pcap_get_selectable_fd(c->p),
	                   .events = POLLIN};
	int n;
	do {
		n = pcap_dispatch(c->p, -1, cap_one, (u_char *)c);
	} while (n > 0 || (n == 0 && poll(&p, 1, CAP_QUIET_MS) > 0));
	struct pcap_stat st;
	if (pcap_stats(c->p, &st) == 0 && st.ps_drop > c->drops)
		fprintf(stderr,
		        "ipckit: tcp-trace: the capture dropped %u packets "
		        "(its ring was full): the packet list is incomplete\n",
		        st.ps_drop - c->drops);
	if (c->dump &&
	    (pcap_dump_flush(c->dump) || ferror(pcap_dump_file(c->dump))))
		c->err = c->err ? c->err : -EIO;
	if (c->dump)
		pcap_dump_close(c->dump);
	c->dump = NULL;
	return n < 0 ? -EIO : c->err;
}

int
tt_cap_fd(struct tt_cap *c)
{
	return pcap_get_selectable_fd(c->p);
}

int
tt_cap_read(struct tt_cap *c, struct tt_trace *tr)
{
	c->tr = tr;
	int n;
	while ((n = pcap_dispatch(c->p, -1, cap_one, (u_char *)c)) > 0)
		;
	return n < 0 ? -EIO : c->err;
}

int
tt_cap_ports(struct tt_cap *c, const struct tt_ports *s)
{
	c->ports = *s;
	return cap_filter(c);
}

void
tt_cap_close(struct tt_cap *c)
{
	if (!c)
		return;
	if (c->p)
		pcap_close(c->p);
	free(c);
}
