/*
 * owner.c - owner records: for each object a listener (or ipk_sem_create)
 * makes, a small file in <runtime dir>/owners/ that holds an OFD write
 * lock for the owner's life, so the kernel itself says when the owner is
 * gone.  `ipckit ls` reads the lock with F_OFD_GETLK; the file format is
 * "key=value" lines: kind, url, object, id, id2, ino, pid, start, uid.
 */
#include "core.h"
#include "sysvkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#define OWNER_DIR "owners"

struct ipk__owner {
	int fd;    /* holds the lock; O_CLOEXEC */
	pid_t pid; /* the creator: only its close removes the record */
	char path[4096];
};

/* What the record says about the object it names. */
struct owner_obj {
	const char *kind;
	char object[4096]; /* path, or the SysV key as 0x%08x */
	long long id, id2; /* SysV ids (sysvshm: segment, set), or -1 */
	unsigned long long ino;
};

/* Objects the kernel frees with their last holder need no record. */
static int
owner_path_obj(struct owner_obj *o, const char *prefix, const char *rest)
{
	char rel[4096];
	if (prefix) {
		if (snprintf(rel, sizeof(rel), "%s%s", prefix, rest) >=
		    (int)sizeof(rel))
			return -ENAMETOOLONG;
		rest = rel;
	}
	int rc = ipk__runtime_path(rest, o->object, sizeof(o->object));
	struct stat st;
	if (rc == 0 && stat(o->object, &st) == 0)
		o->ino = (unsigned long long)st.st_ino;
	return rc;
}

static int
owner_sysv_obj(struct owner_obj *o, const char *rest)
{
	key_t key;
	int rc = ipk__sysv_key(rest, &key);
	if (rc < 0 || key == IPC_PRIVATE)
		return rc < 0 ? rc : -ENOTSUP; /* no key to find it by */
	snprintf(o->object, sizeof(o->object), "0x%08x", (unsigned)key);
	if (!strcmp(o->kind, "sysvmsg"))
		o->id = msgget(key, 0);
	else if (!strcmp(o->kind, "sysvsem"))
		o->id = semget(key, 0, 0);
	else {
		o->id = shmget(key, 0, 0);
		o->id2 = semget(key, 0, 0);
	}
	return 0;
}

static int
owner_identify(const struct ipk_url *u, struct owner_obj *o)
{
	const char *k = u->scheme;
	o->kind = k;
	o->id = o->id2 = -1;
	if (!strcmp(k, "fifo"))
		return owner_path_obj(o, NULL, u->rest);
	if (!strcmp(k, "unix") || !strcmp(k, "unixgram") ||
	    !strcmp(k, "unixpacket"))
		return u->rest[0] == '@' ? -ENOTSUP
		                         : owner_path_obj(o, NULL, u->rest);
	if (!strcmp(k, "mq"))
		return owner_path_obj(o, "/dev/mqueue", u->rest);
	if (!strcmp(k, "shm"))
		return owner_path_obj(o, "/dev/shm", u->rest);
	if (!strcmp(k, "sem"))
		return owner_path_obj(o, "/dev/shm/sem.", u->rest + 1);
	if (!strcmp(k, "sysvmsg") || !strcmp(k, "sysvshm") ||
	    !strcmp(k, "sysvsem"))
		return owner_sysv_obj(o, u->rest);
	return -ENOTSUP; /* tcp, udp: the kernel frees them with the owner */
}

/* Field 22 of /proc/self/stat: with the pid, it names one process. */
static unsigned long long
owner_start_time(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	unsigned long long t = 0;
	if (p)
		sscanf(p + 2,
		       "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		       "%*s %*s %*s %*s %*s %*s %*s %llu",
		       &t);
	return t;
}

/* FNV-1a: one file name per object, so a new owner replaces the old. */
static unsigned long long
owner_hash(const char *s)
{
	unsigned long long h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int
owner_dir(char *out, size_t size)
{
	int rc = ipk__runtime_path(OWNER_DIR, out, size);
	if (rc < 0)
		return rc;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(out, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? ipk__check_owner(&st, 0700) : -EPERM;
}

static int
owner_lock(int fd, short type, int cmd)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
	return fcntl(fd, cmd, &fl) < 0 ? -errno : 0;
}

static int
owner_write(struct ipk__owner *ow, const struct owner_obj *o, const char *url)
{
	char buf[9000];
	int n = snprintf(buf, sizeof(buf),
	                 "kind=%s\nurl=%s\nobject=%s\nid=%lld\nid2=%lld\n"
	                 "ino=%llu\npid=%d\nstart=%llu\nuid=%u\n",
	                 o->kind, url, o->object, o->id, o->id2, o->ino,
	                 (int)ow->pid, owner_start_time(), (unsigned)geteuid());
	if (n < 0 || (size_t)n >= sizeof(buf) || strchr(url, '\n'))
		return -EINVAL;
	if (ftruncate(ow->fd, 0) < 0 || pwrite(ow->fd, buf, n, 0) != n)
		return -EIO;
	return 0;
}

/* A record already locked by a live owner (?share) is left to it. */
static struct ipk__owner *
owner_create(const struct owner_obj *o, const char *url)
{
	struct ipk__owner *ow = calloc(1, sizeof(*ow));
	if (!ow)
		return NULL;
	size_t dl;
	if (owner_dir(ow->path, sizeof(ow->path)) < 0)
		goto out_free;
	dl = strlen(ow->path);
	snprintf(ow->path + dl, sizeof(ow->path) - dl, "/%s-%016llx", o->kind,
	         owner_hash(o->object));
	ow->fd =
	        open(ow->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ow->fd < 0)
		goto out_free;
	ow->pid = getpid();
	if (owner_lock(ow->fd, F_WRLCK, F_OFD_SETLK) < 0)
		goto out_close;
	if (owner_write(ow, o, url) == 0)
		return ow;
	unlink(ow->path);
out_close:
	close(ow->fd);
out_free:
	free(ow);
	return NULL;
}

struct ipk__owner *
ipk__owner_new(const char *url)
{
	struct ipk_url u;
	if (!url || ipk__url_parse(url, &u) < 0)
		return NULL;
	struct owner_obj *o = calloc(1, sizeof(*o));
	struct ipk__owner *ow = NULL;
	if (o && owner_identify(&u, o) == 0)
		ow = owner_create(o, url);
	free(o);
	ipk__url_free(&u);
	return ow;
}

struct ipk__owner *
ipk__owner_listen(const struct ipk_chan *c)
{
	char name[4096];
	if (ipk_name(c, name, sizeof(name)) < 0)
		return NULL;
	return ipk__owner_new(name);
}

void
ipk__owner_free(struct ipk__owner *ow)
{
	if (!ow)
		return;
	/* Unlinked while still locked: a reader never sees it stale. */
	if (ow->pid == getpid())
		unlink(ow->path);
	close(ow->fd);
	free(ow);
}
