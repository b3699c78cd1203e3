/*
 * tcptrace_fs.c - TCP state changes from the kernel's
 * sock:inet_sock_set_state tracepoint, through a tracefs instance of our
 * own (instances/ipckit-PID): its own buffer, filter and clock, so the
 * global trace settings are never touched.  tracefs is mounted on a
 * temporary directory when it is not mounted already, and unmounted after.
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_EVENT "events/sock/inet_sock_set_state/"

struct tt_fs {
	char mnt[64];          /* our own mount point, or "" */
	char inst[PATH_MAX];   /* the instance directory */
	struct tt_ports ports; /* the servers' ports */
	int pid;               /* connects made by this task too, or 0 */
	int pipe;              /* trace_pipe for tt_fs_read, or -1 */
	char line[1024];       /* a line read in part */
	size_t have;
};

static const char *const fs_names[] = {
        "",          "ESTABLISHED", "SYN_SENT",     "SYN_RECV",   "FIN_WAIT1",
        "FIN_WAIT2", "TIME_WAIT",   "CLOSE",        "CLOSE_WAIT", "LAST_ACK",
        "LISTEN",    "CLOSING",     "NEW_SYN_RECV",
};

const char *
tt_state_name(int st)
{
	if (st <= 0 || st >= (int)(sizeof(fs_names) / sizeof(fs_names[0])))
		return "?";
	return fs_names[st];
}

static int
fs_state(const char *name)
{
	for (int i = 1; i < (int)(sizeof(fs_names) / sizeof(fs_names[0])); i++)
		if (!strcmp(fs_names[i], name))
			return i;
	return 0;
}

static int
fs_write(const struct tt_fs *fs, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", fs->inst, file);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* The tracefs root: the usual mount, else one of our own. */
static int
fs_root(struct tt_fs *fs, char *root, size_t size)
{
	if (access("/sys/kernel/tracing/instances", F_OK) == 0) {
		snprintf(root, size, "/sys/kernel/tracing");
		return 0;
	}
	snprintf(fs->mnt, sizeof(fs->mnt), "/tmp/ipckit-tracefs.XXXXXX");
	if (!mkdtemp(fs->mnt)) {
		fs->mnt[0] = '\0';
		return -errno;
	}
	if (mount("nodev", fs->mnt, "tracefs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
	          NULL)) {
		int err = -errno;
		rmdir(fs->mnt);
		fs->mnt[0] = '\0';
		return err;
	}
	snprintf(root, size, "%s", fs->mnt);
	return 0;
}

bool
tt_ports_has(const struct tt_ports *s, int port)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->port[i] == port)
			return true;
	return false;
}

/* "sport == P || dport == P ..." for each port, and the task's connects;
 * "0" (nothing) when there is neither. */
static int
fs_filter(const struct tt_fs *fs)
{
	char filter[64 + TT_MAXPORTS * 40] = "";
	size_t n = 0;
	if (fs->pid)
		n += (size_t)snprintf(filter, sizeof(filter),
		                      "(common_pid == %d && newstate == %d)",
		                      fs->pid, 2 /* TCP_SYN_SENT */);
	for (size_t i = 0; i < fs->ports.n; i++)
		n += (size_t)snprintf(filter + n, sizeof(filter) - n,
		                      "%ssport == %d || dport == %d",
		                      n ? " || " : "", fs->ports.port[i],
		                      fs->ports.port[i]);
	return fs_write(fs, FS_EVENT "filter", n ? filter : "sport == 0");
}

int
tt_fs_ports(struct tt_fs *fs, const struct tt_ports *s, int pid)
{
	fs->ports = *s;
	fs->pid = pid;
	return fs_filter(fs);
}

static int
fs_setup(struct tt_fs *fs)
{
	int err = fs_write(fs, "trace_clock", "mono");
	if (!err)
		err = fs_filter(fs);
	if (!err)
		err = fs_write(fs, FS_EVENT "enable", "1");
	return err;
}

int
tt_fs_open(struct tt_fs **out, int port)
{
	struct tt_fs *fs = calloc(1, sizeof(*fs));
	char root[64];
	if (!fs)
		return -ENOMEM;
	fs->ports = (struct tt_ports){.n = 1, .port = {port}};
	fs->pipe = -1;
	int err = fs_root(fs, root, sizeof(root));
	if (err)
		goto out_free;
	snprintf(fs->inst, sizeof(fs->inst), "%s/instances/ipckit-%d", root,
	         (int)getpid());
	if (mkdir(fs->inst, 0700)) {
		err = -errno;
		fs->inst[0] = '\0';
		goto out_free;
	}
	err = fs_setup(fs);
	if (err)
		goto out_free;
	*out = fs;
	return 0;
out_free:
	tt_fs_close(fs);
	return err;
}

/* "... 10431.020580: inet_sock_set_state: family=AF_INET ... sport=N
 * dport=N ... oldstate=TCP_X newstate=TCP_Y" into an event. */
/* The task's pid in "  comm-1234   [001] ...". */
static int
fs_pid(const char *line, const char *end)
{
	const char *cpu = strstr(line, " [");
	if (!cpu || cpu > end)
		return 0;
	while (cpu > line && cpu[-1] == ' ')
		cpu--;
	while (cpu > line && cpu[-1] >= '0' && cpu[-1] <= '9')
		cpu--;
	return cpu > line && cpu[-1] == '-' ? atoi(cpu) : 0;
}

static bool
fs_parse(const char *line, const struct tt_ports *ports, struct tt_event *e)
{
	const char *p = strstr(line, ": inet_sock_set_state: ");
	const char *ts = p;
	while (ts && ts > line && ts[-1] != ' ')
		ts--;
	const char *sp = strstr(line, " sport="), *dp = strstr(line, " dport=");
	const char *os = strstr(line, " oldstate=TCP_");
	const char *ns = strstr(line, " newstate=TCP_");
	if (!p || !sp || !dp || !os || !ns)
		return false;
	char old[16], new[16];
	int sport = atoi(sp + 7), dport = atoi(dp + 7);
	if (sscanf(os + 14, "%15[A-Z0-9_]", old) != 1 ||
	    sscanf(ns + 14, "%15[A-Z0-9_]", new) != 1)
		return false;
	/* The listener (dport 0) is not part of the connection. */
	if (tt_ports_has(ports, sport) && dport == 0)
		return false;
	memset(e, 0, sizeof(*e));
	e->t = strtod(ts, NULL);
	e->kind = TT_STATE;
	e->side = tt_ports_has(ports, sport) ? TT_SERVER : TT_CLIENT;
	e->sport = (uint16_t)sport;
	e->dport = (uint16_t)dport;
	e->pid = fs_pid(line, p);
	e->oldst = fs_state(old);
	e->newst = fs_state(new);
	return true;
}

int
tt_fs_collect(struct tt_fs *fs, struct tt_trace *tr)
{
	char path[PATH_MAX + 16], line[1024];
	snprintf(path, sizeof(path), "%s/trace", fs->inst);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int err = 0;
	struct tt_event e;
	while (!err && fgets(line, sizeof(line), f))
		if (line[0] != '#' && fs_parse(line, &fs->ports, &e))
			err = tt_add(tr, &e);
	fclose(f);
	return err;
}

int
tt_fs_pipe(struct tt_fs *fs)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/trace_pipe", fs->inst);
	fs->pipe = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return fs->pipe < 0 ? -errno : fs->pipe;
}

/* Each whole line of buf[0..n) to tr; a partial one waits in fs->line. */
static int
fs_lines(struct tt_fs *fs, const char *buf, size_t n, struct tt_trace *tr)
{
	struct tt_event e;
	int err = 0;
	for (size_t i = 0; i < n && !err; i++) {
		if (buf[i] != '\n') {
			if (fs->have < sizeof(fs->line) - 1)
				fs->line[fs->have++] = buf[i];
			continue;
		}
		fs->line[fs->have] = '\0';
		fs->have = 0;
		if (fs_parse(fs->line, &fs->ports, &e))
			err = tt_add(tr, &e);
	}
	return err;
}

int
tt_fs_read(struct tt_fs *fs, struct tt_trace *tr)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(fs->pipe, buf, sizeof(buf))) > 0) {
		int err = fs_lines(fs, buf, (size_t)n, tr);
		if (err)
			return err;
	}
	return n < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
}

void
tt_fs_close(struct tt_fs *fs)
{
	if (!fs)
		return;
	/* An open trace_pipe keeps the instance busy (EBUSY). */
	if (fs->pipe >= 0)
		close(fs->pipe);
	if (fs->inst[0]) {
		fs_write(fs, FS_EVENT "enable", "0");
		rmdir(fs->inst);
	}
	if (fs->mnt[0]) {
		umount2(fs->mnt, MNT_DETACH);
		rmdir(fs->mnt);
	}
	free(fs);
}
