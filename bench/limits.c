/*
 * limits.c - the kernel limits that stop a message size, named in the
 * row instead of a bare error: kernel.msgmax (sysvmsg), UDP's 65507
 * bytes, SO_SNDBUF (net.core.wmem_default) for Unix datagrams and
 * seqpackets, fs.mqueue.msgsize_max and RLIMIT_MSGQUEUE (mq).
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static long
lim_sysctl(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");
	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static const char *
lim_mq(int err, char *buf, size_t n)
{
	struct rlimit rl;
	if (err == -EINVAL)
		snprintf(buf, n, "fs.mqueue.msgsize_max = %ld",
		         lim_sysctl("/proc/sys/fs/mqueue/msgsize_max"));
	else if (err == -EMFILE && getrlimit(RLIMIT_MSGQUEUE, &rl) == 0)
		snprintf(buf, n, "RLIMIT_MSGQUEUE = %llu bytes (depth 10)",
		         (unsigned long long)rl.rlim_cur);
	else
		return NULL;
	return buf;
}

const char *
bench_limit(const struct bench_target *t, size_t size, int err, char *buf,
            size_t n)
{
	long max = -1;
	const char *name = NULL;
	if (t->raw == &raw_sysvmsg) {
		name = "kernel.msgmax";
		max = lim_sysctl("/proc/sys/kernel/msgmax");
	} else if (t->raw == &raw_udp) {
		name = "UDP payload limit (IPv4)";
		max = 65507;
	} else if (t->raw == &raw_unixgram || t->raw == &raw_unixpacket) {
		name = "SO_SNDBUF = net.core.wmem_default";
		max = lim_sysctl("/proc/sys/net/core/wmem_default");
	} else if (t->raw == &raw_mq && err) {
		return lim_mq(err, buf, n);
	}
	/* A Unix datagram may be SO_SNDBUF - 32 bytes long. */
	long fits = t->raw == &raw_unixgram || t->raw == &raw_unixpacket
	                    ? max - 32
	                    : max;
	if (!name || max < 0 || size <= (size_t)fits)
		return NULL;
	snprintf(buf, n, "%s = %ld", name, max);
	return buf;
}
