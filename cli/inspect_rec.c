/*
 * inspect_rec.c - reads the owner records that src/core/owner.c writes
 * ("key=value" lines in <runtime dir>/owners/, OFD-locked while the owner
 * lives) and lays them over the objects found: F_OFD_GETLK tells live
 * from stale.  Root also reads other users' runtime dirs.
 */
#include "inspect.h"

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rec {
	char kind[12], object[INS_NAME], path[INS_NAME];
	long long id, id2, pid, uid;
	unsigned long long ino, start;
	bool locked;
};

static void
rec_field(struct rec *r, const char *k, const char *v)
{
	if (!strcmp(k, "kind"))
		snprintf(r->kind, sizeof(r->kind), "%s", v);
	else if (!strcmp(k, "object"))
		snprintf(r->object, sizeof(r->object), "%s", v);
	else if (!strcmp(k, "id"))
		r->id = atoll(v);
	else if (!strcmp(k, "id2"))
		r->id2 = atoll(v);
	else if (!strcmp(k, "ino"))
		r->ino = strtoull(v, NULL, 10);
	else if (!strcmp(k, "pid"))
		r->pid = atoll(v);
	else if (!strcmp(k, "start"))
		r->start = strtoull(v, NULL, 10);
	else if (!strcmp(k, "uid"))
		r->uid = atoll(v);
}

static int
rec_lock_state(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -1;
	return fl.l_type != F_UNLCK;
}

/* A record file, owned by the uid it names and still linked. */
static bool
rec_read(const char *path, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->id = r->id2 = r->uid = -1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	int locked = rec_lock_state(fd);
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	          st.st_nlink > 0 && locked >= 0;
	FILE *f = ok ? fdopen(fd, "r") : NULL;
	if (!f) {
		close(fd);
		return false;
	}
	char line[INS_NAME + 16];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (eq && (*eq = '\0', 1))
			rec_field(r, line, eq + 1);
	}
	fclose(f);
	r->locked = locked > 0;
	return r->kind[0] && r->object[0] && r->uid == (long long)st.st_uid;
}

/* The file an object is, for the kinds that are files. */
static bool
obj_path(const struct ins_obj *o, char *buf, size_t size)
{
	int n;
	if (!strcmp(o->kind, "mq"))
		n = snprintf(buf, size, "/dev/mqueue%s", o->name);
	else if (!strcmp(o->kind, "shm"))
		n = snprintf(buf, size, "/dev/shm%s", o->name);
	else if (!strcmp(o->kind, "sem"))
		n = snprintf(buf, size, "/dev/shm/sem.%s", o->name + 1);
	else if (o->name[0] == '/' && o->key == INS_NA)
		n = snprintf(buf, size, "%s", o->name);
	else
		return false;
	return n > 0 && (size_t)n < size;
}

static bool
rec_matches(const struct rec *r, const struct ins_obj *o, bool set)
{
	char path[INS_NAME];
	struct stat st;
	if (set) /* the semaphore set of a sysvshm record */
		return !strcmp(o->kind, "sysvsem") && o->id == r->id2;
	if (strcmp(o->kind, r->kind))
		return false;
	if (o->key != INS_NA)
		return o->id == r->id && o->key == strtoll(r->object, NULL, 16);
	if (!obj_path(o, path, sizeof(path)) || strcmp(path, r->object))
		return false;
	if (o->is_sock) /* the socket's inode is not its file's */
		return stat(path, &st) == 0 && st.st_ino == r->ino;
	return o->ino == r->ino;
}

static void
rec_apply(const struct rec *r, struct ins_obj *o)
{
	snprintf(o->record, sizeof(o->record), "%s", r->path);
	o->creator = (pid_t)r->pid;
	o->state = r->locked ? INS_LIVE : INS_STALE;
	o->id2 = r->id2;
	if (r->locked) {
		snprintf(o->reason, sizeof(o->reason),
		         ins_pid_alive((pid_t)r->pid)
		                 ? "pid %lld holds it"
		                 : "a fork of pid %lld holds it",
		         r->pid);
		return;
	}
	char p[64], buf[1024] = "";
	snprintf(p, sizeof(p), "/proc/%lld/stat", r->pid);
	FILE *f = fopen(p, "re");
	unsigned long long start = 0;
	if (f) {
		const char *rp =
		        fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (rp)
			sscanf(rp + 2,
			       "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			       "%*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			       &start);
		fclose(f);
	}
	snprintf(o->reason, sizeof(o->reason),
	         start && start == r->start ? "pid %lld let go of it (exec?)"
	                                    : "pid %lld is gone",
	         r->pid);
}

/* A FIFO or socket file left with no holder: only the record finds it. */
static bool
rec_add_file(struct ins_list *l, const struct rec *r)
{
	struct stat st;
	if (r->object[0] != '/' ||
	    (strncmp(r->kind, "fifo", 4) && strncmp(r->kind, "unix", 4)))
		return false;
	if (lstat(r->object, &st) < 0 || st.st_ino != r->ino ||
	    st.st_uid != (uid_t)r->uid)
		return false;
	struct ins_obj *o = ins_add(l, r->kind);
	if (!o)
		return false;
	snprintf(o->name, sizeof(o->name), "%s", r->object);
	o->dev = st.st_dev;
	o->ino = (unsigned long long)st.st_ino;
	o->uid = st.st_uid;
	o->mode = st.st_mode & 07777;
	if (S_ISSOCK(st.st_mode))
		snprintf(o->sock_state, sizeof(o->sock_state), "NO SOCKET");
	rec_apply(r, o);
	return true;
}

static void
rec_orphan(struct ins_list *l, const struct rec *r)
{
	char **v = realloc(l->orphans, (l->norphans + 1) * sizeof(*v));
	if (!v)
		return;
	l->orphans = v;
	if ((v[l->norphans] = strdup(r->path)))
		l->norphans++;
}

static void
rec_one(struct ins_list *l, const char *path)
{
	struct rec r;
	if (!rec_read(path, &r))
		return;
	bool found = false;
	for (size_t i = 0; i < l->n; i++) {
		struct ins_obj *o = &l->v[i];
		/* A record speaks only for its own user's objects. */
		if (o->record[0] || (o->uid != INS_NA && o->uid != r.uid))
			continue;
		bool set = r.id2 >= 0 && rec_matches(&r, o, true);
		if (set || rec_matches(&r, o, false)) {
			rec_apply(&r, o);
			found = true;
		}
	}
	if (!found && !rec_add_file(l, &r) && !r.locked)
		rec_orphan(l, &r);
}

/* Every record matching pattern but those under skip (read already). */
static void
rec_glob(struct ins_list *l, const char *pattern, const char *skip)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		if (!skip || strncmp(g.gl_pathv[i], skip, strlen(skip)))
			rec_one(l, g.gl_pathv[i]);
	globfree(&g);
}

void
ins_scan_records(struct ins_list *l)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char own[INS_NAME];
	if (xdg && xdg[0] == '/')
		snprintf(own, sizeof(own), "%s/ipckit/owners/", xdg);
	else
		snprintf(own, sizeof(own), "/tmp/ipckit-%u/owners/",
		         (unsigned)geteuid());
	char pattern[INS_NAME + 2];
	snprintf(pattern, sizeof(pattern), "%s*", own);
	rec_glob(l, pattern, NULL);
	if (geteuid() != 0)
		return; /* others' runtime dirs are 0700 */
	rec_glob(l, "/tmp/ipckit-*/owners/*", own);
	rec_glob(l, "/run/user/*/ipckit/owners/*", own);
}

bool
ins_record_claim(const char *path, int *fd)
{
	*fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return false;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct stat st;
	if (fcntl(*fd, F_OFD_SETLK, &fl) == 0 && fstat(*fd, &st) == 0 &&
	    st.st_nlink > 0)
		return true;
	close(*fd);
	*fd = -1;
	return false;
}
