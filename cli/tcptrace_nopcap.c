/*
 * tcptrace_nopcap.c - tcp-trace built without libpcap (IPK_PCAP off or
 * libpcap-dev absent): no packets, and a message saying so; the states
 * still come from the kernel.
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>

int
tt_cap_open(struct tt_cap **c, int port, const char *dev, const char **why)
{
	(void)port, (void)dev;
	*c = NULL;
	*why = "this ipckit was built without libpcap (install libpcap-dev "
	       "and rebuild)";
	return -ENOTSUP;
}

int
tt_cap_collect(struct tt_cap *c, struct tt_trace *tr, const char *file)
{
	(void)c, (void)tr, (void)file;
	return -ENOTSUP;
}

int
tt_cap_fd(struct tt_cap *c)
{
	(void)c;
	return -1;
}

int
tt_cap_read(struct tt_cap *c, struct tt_trace *tr)
{
	(void)c, (void)tr;
	return -ENOTSUP;
}

int
tt_cap_ports(struct tt_cap *c, const struct tt_ports *s)
{
	(void)c, (void)s;
	return -ENOTSUP;
}

void
tt_cap_close(struct tt_cap *c)
{
	(void)c;
}
