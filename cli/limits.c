/*
 * limits.c - `ipckit limits`: the kernel limits that bound each
 * mechanism, read where the kernel keeps them (/proc/sys, getrlimit,
 * fpathconf, statvfs), with the usage the kernel tells, who may raise
 * each one and the exact command.  Plain text or --json.
 */
#include "cli.h"

#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define LIM_MAXV 4

static const char limits_help[] =
        "usage: ipckit limits [--json]\n"
        "The kernel limits that bound each mechanism, with current use "
        "where the\nkernel tells it, and how to raise each (root: needs "
        "root; a sysctl\nunder kernel.msg*, kernel.shm*, kernel.sem and "
        "fs.mqueue.* is per IPC\nnamespace).  In --json, -1 stands for "
        "unlimited.\nExamples:\n  ipckit limits\n"
        "  ipckit limits --json | python3 -m json.tool\n";

enum lim_src { LIM_SYSCTL, LIM_RLIMIT, LIM_PIPE_BUF, LIM_PIPE_SIZE, LIM_SHM };
enum lim_use {
	USE_NONE,
	USE_MQ,
	USE_MSG,
	USE_SHM,
	USE_SHMALL,
	USE_SEM,
	USE_DEVSHM,
	USE_FILES
};

struct lim {
	const char *name;
	enum lim_src src;
	int arg; /* the RLIMIT_ */
	enum lim_use use;
	bool root;
	const char *bounds, *raise;
};

static const struct lim lims[] = {
        {"PIPE_BUF", LIM_PIPE_BUF, 0, USE_NONE, false,
         "pipe:, fifo: largest write kept whole among many writers",
         "fixed by the kernel"},
        {"pipe default size", LIM_PIPE_SIZE, 0, USE_NONE, false,
         "pipe:, fifo: bytes a new pipe buffers",
         "per pipe: fcntl(F_SETPIPE_SZ) up to fs.pipe-max-size"},
        {"fs.pipe-max-size", LIM_SYSCTL, 0, USE_NONE, true,
         "largest pipe buffer an unprivileged process may set",
         "sysctl -w fs.pipe-max-size=N"},
        {"fs.pipe-user-pages-hard", LIM_SYSCTL, 0, USE_NONE, true,
         "pages of pipe buffers one user may hold (0: no limit)",
         "sysctl -w fs.pipe-user-pages-hard=N"},
        {"fs.pipe-user-pages-soft", LIM_SYSCTL, 0, USE_NONE, true,
         "above it a user's new pipes get one page",
         "sysctl -w fs.pipe-user-pages-soft=N"},
        {"fs.mqueue.queues_max", LIM_SYSCTL, 0, USE_MQ, true,
         "mq: queues in this IPC namespace (ENOSPC)",
         "sysctl -w fs.mqueue.queues_max=N"},
        {"fs.mqueue.msg_max", LIM_SYSCTL, 0, USE_NONE, true,
         "mq: ?depth= ceiling for unprivileged creators (EINVAL)",
         "sysctl -w fs.mqueue.msg_max=N"},
        {"fs.mqueue.msgsize_max", LIM_SYSCTL, 0, USE_NONE, true,
         "mq: ?msgsize= ceiling for unprivileged creators (EINVAL)",
         "sysctl -w fs.mqueue.msgsize_max=N"},
        {"fs.mqueue.msg_default", LIM_SYSCTL, 0, USE_NONE, true,
         "mq: depth of a queue made without attributes",
         "sysctl -w fs.mqueue.msg_default=N"},
        {"fs.mqueue.msgsize_default", LIM_SYSCTL, 0, USE_NONE, true,
         "mq: message size of a queue made without attributes",
         "sysctl -w fs.mqueue.msgsize_default=N"},
        {"RLIMIT_MSGQUEUE", LIM_RLIMIT, RLIMIT_MSGQUEUE, USE_NONE, false,
         "mq: bytes of queues one user may make (EMFILE)",
         "ulimit -q N up to the hard limit; the hard one needs root"},
        {"kernel.msgmax", LIM_SYSCTL, 0, USE_NONE, true,
         "sysvmsg: largest message", "sysctl -w kernel.msgmax=N"},
        {"kernel.msgmnb", LIM_SYSCTL, 0, USE_NONE, true,
         "sysvmsg: bytes a new queue holds (root may raise msg_qbytes)",
         "sysctl -w kernel.msgmnb=N"},
        {"kernel.msgmni", LIM_SYSCTL, 0, USE_MSG, true,
         "sysvmsg: queues in this IPC namespace (ENOSPC)",
         "sysctl -w kernel.msgmni=N"},
        {"kernel.shmmax", LIM_SYSCTL, 0, USE_NONE, true,
         "sysvshm: largest segment, bytes (EINVAL)",
         "sysctl -w kernel.shmmax=N"},
        {"kernel.shmall", LIM_SYSCTL, 0, USE_SHMALL, true,
         "sysvshm: pages of all segments (ENOSPC)",
         "sysctl -w kernel.shmall=N"},
        {"kernel.shmmni", LIM_SYSCTL, 0, USE_SHM, true,
         "sysvshm: segments in this IPC namespace (ENOSPC)",
         "sysctl -w kernel.shmmni=N"},
        {"kernel.sem", LIM_SYSCTL, 0, USE_SEM, true,
         "sysvsem, sysvshm: SEMMSL SEMMNS SEMOPM SEMMNI (ENOSPC)",
         "sysctl -w kernel.sem='MSL MNS OPM MNI'"},
        {"net.core.rmem_default", LIM_SYSCTL, 0, USE_NONE, true,
         "sockets: receive buffer of a new socket",
         "sysctl -w net.core.rmem_default=N"},
        {"net.core.rmem_max", LIM_SYSCTL, 0, USE_NONE, true,
         "sockets: largest SO_RCVBUF a process may set",
         "sysctl -w net.core.rmem_max=N"},
        {"net.core.wmem_default", LIM_SYSCTL, 0, USE_NONE, true,
         "sockets: send buffer of a new socket",
         "sysctl -w net.core.wmem_default=N"},
        {"net.core.wmem_max", LIM_SYSCTL, 0, USE_NONE, true,
         "sockets: largest SO_SNDBUF a process may set",
         "sysctl -w net.core.wmem_max=N"},
        {"net.ipv4.tcp_rmem", LIM_SYSCTL, 0, USE_NONE, true,
         "tcp: receive buffer min, default, max (autotuned)",
         "sysctl -w net.ipv4.tcp_rmem='MIN DEF MAX'"},
        {"net.ipv4.tcp_wmem", LIM_SYSCTL, 0, USE_NONE, true,
         "tcp: send buffer min, default, max (autotuned)",
         "sysctl -w net.ipv4.tcp_wmem='MIN DEF MAX'"},
        {"net.unix.max_dgram_qlen", LIM_SYSCTL, 0, USE_NONE, true,
         "unixgram: datagrams queued before senders block",
         "sysctl -w net.unix.max_dgram_qlen=N"},
        {"/dev/shm", LIM_SHM, 0, USE_DEVSHM, true,
         "shm:, sem: bytes: size and free of the tmpfs",
         "mount -o remount,size=N /dev/shm"},
        {"RLIMIT_NOFILE", LIM_RLIMIT, RLIMIT_NOFILE, USE_NONE, false,
         "every fd: descriptors per process (EMFILE)",
         "ulimit -n N up to the hard limit (fs.nr_open); the hard one "
         "needs root"},
        {"fs.file-max", LIM_SYSCTL, 0, USE_FILES, true,
         "every fd: open files in the whole system (ENFILE)",
         "sysctl -w fs.file-max=N"},
        {"fs.nr_open", LIM_SYSCTL, 0, USE_NONE, true,
         "every fd: ceiling of RLIMIT_NOFILE's hard limit",
         "sysctl -w fs.nr_open=N"},
};

/* RLIM_INFINITY reads "unlimited" (-1 in JSON); sysctls may use 64 bits. */
#define LIM_UNLIMITED ULLONG_MAX

struct lim_val {
	unsigned long long v[LIM_MAXV];
	int n;          /* 0: could not be read */
	long long used; /* -2: the kernel does not tell */
};

static int
lim_read_nums(const char *path, unsigned long long *v, int max)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int n = 0;
	while (n < max && fscanf(f, "%llu", &v[n]) == 1)
		n++;
	fclose(f);
	return n;
}

static void
lim_sysctl_path(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/sys/%s", name);
	for (char *p = buf + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
}

/* Rows of a /proc/sysvipc file; with col >= 0, the sum of that column. */
static long long
lim_sysvipc(const char *path, int col, long long page)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -2;
	char line[512];
	long long rows = -1, sum = 0;
	while (fgets(line, sizeof(line), f)) {
		long long c[4] = {0};
		rows++;
		if (rows && col >= 0 &&
		    sscanf(line, "%*d %*d %*o %lld", &c[0]) == 1)
			sum += page ? (c[0] + page - 1) / page : c[0];
	}
	fclose(f);
	return col >= 0 ? sum : rows;
}

static long long
lim_count(const char *pattern)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	long long n = (long long)g.gl_pathc;
	globfree(&g);
	return n;
}

static long long
lim_used(const struct lim *l, const struct lim_val *v)
{
	unsigned long long x[3];
	switch (l->use) {
	case USE_MQ:
		return lim_count("/dev/mqueue/*");
	case USE_MSG:
		return lim_sysvipc("/proc/sysvipc/msg", -1, 0);
	case USE_SHM:
		return lim_sysvipc("/proc/sysvipc/shm", -1, 0);
	case USE_SHMALL:
		return lim_sysvipc("/proc/sysvipc/shm", 3,
		                   sysconf(_SC_PAGESIZE));
	case USE_SEM:
		return lim_sysvipc("/proc/sysvipc/sem", -1, 0);
	case USE_DEVSHM:
		return v->n == 2 ? (long long)(v->v[0] - v->v[1]) : -2;
	case USE_FILES:
		return lim_read_nums("/proc/sys/fs/file-nr", x, 3) == 3
		               ? (long long)x[0]
		               : -2;
	case USE_NONE:
		break;
	}
	return -2;
}

static void
lim_value(const struct lim *l, struct lim_val *v)
{
	char path[256];
	struct rlimit rl;
	struct statvfs vfs;
	int p[2];
	v->n = 0;
	switch (l->src) {
	case LIM_SYSCTL:
		lim_sysctl_path(l->name, path, sizeof(path));
		v->n = lim_read_nums(path, v->v, LIM_MAXV);
		break;
	case LIM_RLIMIT:
		if (getrlimit(l->arg, &rl) == 0) {
			v->v[0] = rl.rlim_cur == RLIM_INFINITY ? LIM_UNLIMITED
			                                       : rl.rlim_cur;
			v->v[1] = rl.rlim_max == RLIM_INFINITY ? LIM_UNLIMITED
			                                       : rl.rlim_max;
			v->n = 2;
		}
		break;
	case LIM_PIPE_BUF:
	case LIM_PIPE_SIZE:
		if (pipe2(p, O_CLOEXEC) < 0)
			break;
		v->v[0] = (unsigned long long)(l->src == LIM_PIPE_BUF
		                                       ? fpathconf(p[0],
		                                                   _PC_PIPE_BUF)
		                                       : fcntl(p[0],
		                                               F_GETPIPE_SZ));
		v->n = 1;
		close(p[0]);
		close(p[1]);
		break;
	case LIM_SHM:
		if (statvfs("/dev/shm", &vfs) == 0) {
			v->v[0] = vfs.f_blocks * vfs.f_frsize;
			v->v[1] = vfs.f_bavail * vfs.f_frsize;
			v->n = 2;
		}
		break;
	}
	v->used = lim_used(l, v);
}

/* One value: a number, or unlimited as -1 (json) or "unlimited". */
static int
lim_num(char *buf, size_t size, unsigned long long v, bool json)
{
	if (v == LIM_UNLIMITED)
		return snprintf(buf, size, "%s", json ? "-1" : "unlimited");
	return snprintf(buf, size, "%llu", v);
}

/* The values, space-separated (json: an array when more than one). */
static void
lim_values(const struct lim_val *v, bool json, char *buf, size_t size)
{
	size_t n = 0;
	snprintf(buf, size, "%s", v->n ? "" : json ? "null" : "?");
	if (json && v->n > 1)
		n += (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < v->n && n < size; i++) {
		if (i)
			n += (size_t)snprintf(buf + n, size - n,
			                      json ? "," : " ");
		if (n < size)
			n += (size_t)lim_num(buf + n, size - n, v->v[i], json);
	}
	if (json && v->n > 1 && n < size)
		snprintf(buf + n, size - n, "]");
}

static void
lim_json(const struct lim *l, const struct lim_val *v, bool first)
{
	char path[256], val[128];
	lim_values(v, true, val, sizeof(val));
	printf("%s{\"name\":\"%s\",\"value\":%s", first ? "\n" : ",\n", l->name,
	       val);
	if (v->used >= 0)
		printf(",\"used\":%lld", v->used);
	else
		fputs(",\"used\":null", stdout);
	lim_sysctl_path(l->name, path, sizeof(path));
	if (l->src == LIM_SYSCTL)
		printf(",\"sysctl\":\"%s\"", path);
	else
		fputs(",\"sysctl\":null", stdout);
	printf(",\"root\":%s,\"bounds\":", l->root ? "true" : "false");
	out_json_text(stdout, (const unsigned char *)l->bounds,
	              strlen(l->bounds));
	fputs(",\"raise\":", stdout);
	out_json_text(stdout, (const unsigned char *)l->raise,
	              strlen(l->raise));
	putchar('}');
}

static void
lim_plain(const struct lim *l, const struct lim_val *v)
{
	char val[128], used[32] = "-";
	lim_values(v, false, val, sizeof(val));
	if (v->used >= 0)
		snprintf(used, sizeof(used), "%lld", v->used);
	printf("%-26s %-34s %-11s %s\n", l->name, val, used,
	       l->root ? "root" : "user");
	printf("    %s\n    raise: %s\n", l->bounds, l->raise);
}

int
cmd_limits_parse(int argc, char **argv, struct limits_args *a)
{
	*a = (struct limits_args){0};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return a->help = true, fputs(limits_help, stdout), 0;
		else
			return cli_usage("limits", "unexpected argument '%s'",
			                 argv[i]);
	}
	return 0;
}

int
cmd_limits(int argc, char **argv)
{
	struct limits_args a;
	int rc = cmd_limits_parse(argc, argv, &a);
	if (rc || a.help)
		return rc;
	bool json = a.json;
	if (json)
		putchar('[');
	else
		printf("%-26s %-34s %-11s %s\n", "LIMIT", "VALUE", "USED",
		       "RAISED BY");
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		struct lim_val v;
		lim_value(&lims[i], &v);
		if (json)
			lim_json(&lims[i], &v, i == 0);
		else
			lim_plain(&lims[i], &v);
	}
	if (json)
		puts("\n]");
	return fflush(stdout) == 0 ? 0 : 1;
}
