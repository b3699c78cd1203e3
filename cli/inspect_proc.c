/*
 * inspect_proc.c - who holds what: every open descriptor of every process
 * we may look at (/proc/[pid]/fd), by the device and inode it refers to,
 * so that ls can name the pids behind a queue, a FIFO or a socket; and
 * every shared-memory mapping (/proc/[pid]/maps), since a process that
 * mapped a segment and closed its descriptor still uses it.
 */
#include "inspect.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static struct ins_fd *
fds_push(struct ins_fds *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct ins_fd *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		f->v = v, f->cap = cap;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[0]));
	return &f->v[f->n++];
}

/* A named FIFO's link is its path; a pipe's is "pipe:[ino]". */
static void
fds_one(struct ins_fds *f, pid_t pid, const char *link)
{
	struct stat st;
	if (stat(link, &st) < 0)
		return;
	struct ins_fd *d = fds_push(f);
	if (!d)
		return;
	d->pid = pid;
	d->dev = st.st_dev;
	d->ino = (unsigned long long)st.st_ino;
	d->sock = S_ISSOCK(st.st_mode);
	d->fifo = S_ISFIFO(st.st_mode);
	char to[INS_NAME];
	ssize_t n = d->fifo ? readlink(link, to, sizeof(to) - 1) : -1;
	if (n > 0 && to[0] == '/') {
		to[n] = '\0';
		d->path = strdup(to);
	}
}

/*
 * One line of maps: "/dev/shm/NAME" is a POSIX object, by device and
 * inode; "/SYSV%08x (deleted)" a SysV segment, whose inode is its shm id
 * (its key may be IPC_PRIVATE, shared by many).  A mapping spans several
 * lines when split by mprotect; the list keeps one.
 */
static void
maps_one(struct ins_fds *f, pid_t pid, const char *line)
{
	unsigned maj, min;
	unsigned long long ino;
	int at = 0;
	int n = sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino,
	               &at);
	if (n != 3 || !at)
		return;
	bool sysv = !strncmp(line + at, "/SYSV", 5);
	if (!sysv && strncmp(line + at, "/dev/shm/", 9))
		return;
	const struct ins_fd *last = f->n ? &f->v[f->n - 1] : NULL;
	dev_t dev = makedev(maj, min);
	if (last && last->pid == pid && last->ino == ino && last->dev == dev)
		return;
	struct ins_fd *d = fds_push(f);
	if (!d)
		return;
	d->pid = pid, d->dev = dev, d->ino = ino, d->sysv = sysv;
}

static void
maps_pid(struct ins_fds *f, pid_t pid)
{
	char path[64], line[INS_NAME + 128];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *m = fopen(path, "re");
	if (!m)
		return; /* gone, or not ours to see */
	while (fgets(line, sizeof(line), m))
		maps_one(f, pid, line);
	fclose(m);
}

static void
fds_pid(struct ins_fds *f, pid_t pid)
{
	char dir[64], link[600];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return; /* gone, or not ours to see */
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		fds_one(f, pid, link);
	}
	closedir(d);
}

int
ins_scan_fds(struct ins_fds *f)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	pid_t self = getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && pid != self) {
			fds_pid(f, pid);
			maps_pid(f, pid);
		}
	}
	closedir(d);
	return 0;
}

void
ins_fds_free(struct ins_fds *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static bool
holds(const struct ins_obj *o, const struct ins_fd *d)
{
	if (o->is_sock)
		return d->sock && d->ino == o->ino;
	if (d->sysv)
		return !strcmp(o->kind, "sysvshm") &&
		       d->ino == (unsigned long long)o->id;
	return o->ino && !d->sock && d->dev == o->dev && d->ino == o->ino;
}

static void
add_pid(struct ins_obj *o, pid_t pid)
{
	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return;
	pid_t *v = realloc(o->pids, (o->npids + 1) * sizeof(*v));
	if (!v)
		return;
	o->pids = v;
	o->pids[o->npids++] = pid;
}

void
ins_holders(struct ins_obj *o, const struct ins_fds *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (holds(o, &f->v[i]))
			add_pid(o, f->v[i].pid);
}

static bool
fifo_listed(const struct ins_list *l, const struct ins_fd *d)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].kind, "fifo") && l->v[i].dev == d->dev &&
		    l->v[i].ino == d->ino)
			return true;
	return false;
}

void
ins_scan_fifos(struct ins_list *l, const struct ins_fds *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct ins_fd *d = &f->v[i];
		struct stat st;
		if (!d->fifo || !d->path || fifo_listed(l, d) ||
		    stat(d->path, &st) < 0 || st.st_ino != d->ino)
			continue; /* a pipe, or a FIFO since unlinked */
		struct ins_obj *o = ins_add(l, "fifo");
		if (!o)
			return;
		snprintf(o->name, sizeof(o->name), "%s", d->path);
		o->dev = st.st_dev;
		o->ino = (unsigned long long)st.st_ino;
		o->uid = st.st_uid;
		o->mode = st.st_mode & 07777;
	}
}

bool
ins_pid_alive(pid_t pid)
{
	char p[32];
	snprintf(p, sizeof(p), "/proc/%d", (int)pid);
	return pid > 0 && access(p, F_OK) == 0;
}
