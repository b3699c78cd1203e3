/*
 * sem.c - the semaphores of notes section 6.4 as a primitive: the public
 * ipk_sem_* calls, their URL options, and "sem:/name", the POSIX named
 * semaphore.  Its ?lock token is semlock.c, the SysV kind sysvsem.c;
 * sem.h holds what they share.
 */
#include "sem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PSEM_NAME_MAX (NAME_MAX - 4) /* room for "sem." in /dev/shm */

/* The options every kind takes; each kind lists its own beside these. */
static const char *const sem_common[] = {"mode", "keep", "share", NULL};
static const char *const psem_options[] = {"lock", "inherit", NULL};
static const struct ipk__sem_kind *const sem_kinds[] = {&ipk__psem,
                                                        &ipk__sysvsem};

static bool
sem_cancelled(void)
{
	struct pollfd p = {.fd = ipk__cancel_default(), .events = POLLIN};
	return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

int
ipk__sem_retry(int err, int64_t deadline)
{
	if (err == EINTR)
		return sem_cancelled() ? -ECANCELED : 0;
	if (err == EAGAIN || err == ETIMEDOUT)
		return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
	return -err;
}

int
ipk__sem_first(int err, int64_t deadline)
{
	if (err != EAGAIN && err != EINTR)
		return -err;
	if (deadline == 0)
		return -EAGAIN;
	return sem_cancelled() ? -ECANCELED : 1;
}

int
ipk__sem_nap(int ms)
{
	struct pollfd p = {.fd = ipk__cancel_default(), .events = POLLIN};
	int n = poll(&p, 1, ms);
	if (n < 0 && errno == EINTR)
		return sem_cancelled() ? -ECANCELED : 0;
	return n > 0 && p.fd >= 0 ? -ECANCELED : 0;
}

static bool
sem_known(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static int
sem_flag(const struct ipk_url *u, const char *key, unsigned bit,
         unsigned *flags)
{
	int on = ipk__url_flag(u, key);
	if (on > 0)
		*flags |= bit;
	return on;
}

/* The options every kind has; the kind parses its own. */
static int
sem_options(struct ipk_sem *s, const struct ipk_url *u, bool creating)
{
	for (size_t i = 0; i < u->nq; i++)
		if (!sem_known(sem_common, u->q[i].key) &&
		    !sem_known(s->kind->options, u->q[i].key))
			return -EINVAL;
	long long mode = 0600;
	if (ipk__url_num(u, "mode", 0, 0777, &mode) < 0 ||
	    ipk__url_flag(u, "share") < 0 ||
	    (creating && ipk__url_has(u, "share")))
		return -EINVAL;
	s->mode = (mode_t)mode | 0600;
	if (sem_flag(u, "keep", SEM_F_KEEP, &s->flags) < 0 ||
	    sem_flag(u, "undo", SEM_F_UNDO, &s->flags) < 0 ||
	    sem_flag(u, "lock", SEM_F_LOCK, &s->flags) < 0 ||
	    sem_flag(u, "inherit", SEM_F_INHERIT, &s->flags) < 0)
		return -EINVAL;
	if ((s->flags & SEM_F_INHERIT) && !(s->flags & SEM_F_LOCK))
		return -EINVAL;
	return 0;
}

static int
sem_new(const char *url, struct ipk_url *u, struct ipk_sem **out, bool creating)
{
	if (!url || !out)
		return -EINVAL;
	*out = NULL;
	int rc = ipk__url_parse(url, u);
	if (rc < 0)
		return rc;
	const struct ipk__sem_kind *kind = NULL;
	for (size_t i = 0; i < sizeof(sem_kinds) / sizeof(sem_kinds[0]); i++)
		if (strcmp(sem_kinds[i]->scheme, u->scheme) == 0)
			kind = sem_kinds[i];
	struct ipk_sem *s = kind ? calloc(1, sizeof(*s)) : NULL;
	rc = !kind ? -EPROTONOSUPPORT : !s ? -ENOMEM : 0;
	if (rc == 0) {
		s->kind = kind;
		s->lockfd = -1;
		s->id = -1;
		rc = sem_options(s, u, creating);
	}
	if (rc < 0) {
		free(s);
		ipk__url_free(u);
		return rc;
	}
	*out = s;
	return 0;
}

static int
sem_finish(struct ipk_sem *s, struct ipk_url *u, int rc, ipk_sem **out)
{
	ipk__url_free(u);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
ipk_sem_create(const char *url, unsigned value, ipk_sem **out)
{
	struct ipk_url u;
	struct ipk_sem *s;
	int rc = sem_new(url, &u, &s, true);
	if (rc < 0)
		return rc;
	rc = s->kind->create(s, &u, value);
	if (rc == 0)
		s->owner = getpid();
	if (rc == 0)
		s->record = ipk__owner_new(url);
	return sem_finish(s, &u, rc, out);
}

int
ipk_sem_open(const char *url, ipk_sem **out)
{
	struct ipk_url u;
	struct ipk_sem *s;
	int rc = sem_new(url, &u, &s, false);
	if (rc < 0)
		return rc;
	rc = s->kind->open(s, &u, ipk__url_flag(&u, "share") > 0);
	return sem_finish(s, &u, rc, out);
}

int
ipk_sem_wait(ipk_sem *s, int timeout_ms)
{
	return s ? s->kind->wait(s, ipk__deadline(timeout_ms)) : -EINVAL;
}

int
ipk_sem_trywait(ipk_sem *s)
{
	return ipk_sem_wait(s, 0);
}

int
ipk_sem_post(ipk_sem *s)
{
	return s ? s->kind->post(s) : -EINVAL;
}

int
ipk_sem_value(ipk_sem *s)
{
	return s ? s->kind->value(s) : -EINVAL;
}

int
ipk_sem_unlink(ipk_sem *s)
{
	if (!s)
		return -EINVAL;
	int rc = s->kind->unlink(s);
	if (rc == 0)
		s->flags |= SEM_F_GONE;
	return rc;
}

void
ipk_sem_close(ipk_sem *s)
{
	if (!s)
		return;
	if (s->owner == getpid() && !(s->flags & (SEM_F_KEEP | SEM_F_GONE)))
		s->kind->unlink(s);
	ipk__owner_free(s->record);
	s->kind->close(s);
	free(s);
}

/* --- sem:/name ------------------------------------------------------- */

/* 251 characters at most (sem.NAME in /dev/shm); fewer with ?lock. */
static int
psem_name(struct ipk_sem *s, const char *name)
{
	size_t room = PSEM_NAME_MAX;
	if (s->flags & SEM_F_LOCK)
		room = NAME_MAX - strlen(PSEM_LOCK_PREFIX);
	int rc = ipk__posix_name(name, room);
	if (rc == 0 && !(s->name = strdup(name)))
		rc = -ENOMEM;
	return rc;
}

void
ipk__psem_path(const struct ipk_sem *s, const char *prefix, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", PSEM_DIR, prefix, s->name + 1);
}

int
ipk__psem_check(const struct ipk_sem *s, int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -EPERM;
	return ipk__check_owner(st, s->mode);
}

/*
 * sem_open's file goes through the umask: open it (never following a
 * link) to set the mode asked for.  /dev/shm is sticky, so the file of
 * ours that sem_open made cannot have been replaced by anyone else.
 */
static int
psem_fix_mode(const struct ipk_sem *s)
{
	char path[PATH_MAX];
	ipk__psem_path(s, "sem.", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, s->mode) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int
psem_create(struct ipk_sem *s, const struct ipk_url *u, unsigned value)
{
	int rc = psem_name(s, u->rest);
	if (rc == 0 &&
	    (value > SEM_VALUE_MAX || ((s->flags & SEM_F_LOCK) && value > 1)))
		rc = -EINVAL;
	if (rc == 0 && (s->flags & SEM_F_LOCK))
		rc = ipk__semlock_create(s);
	if (rc < 0)
		goto out_name;
	s->ps = sem_open(s->name, O_CREAT | O_EXCL, 0600, value);
	if (s->ps == SEM_FAILED) {
		rc = -errno;
		goto out_lock;
	}
	rc = psem_fix_mode(s);
	if (rc == 0 && (s->flags & SEM_F_LOCK) && value == 0)
		rc = ipk__semlock_hold(s);
	if (rc == 0)
		return 0;
	sem_close(s->ps);
	sem_unlink(s->name);
out_lock:
	if (s->lockfd >= 0) {
		ipk__semlock_unlink(s);
		close(s->lockfd);
	}
out_name:
	free(s->name);
	return rc;
}

/*
 * sem_t gives no descriptor to fstat: the file is opened and checked
 * first, and after sem_open the name must still be that same file.
 */
static int
psem_attach(struct ipk_sem *s, bool share)
{
	char path[PATH_MAX];
	ipk__psem_path(s, "sem.", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	struct stat st, now;
	int rc = share ? fstat(fd, &st) < 0 ? -errno : 0
	               : ipk__psem_check(s, fd, &st);
	if (rc == 0) {
		s->ps = sem_open(s->name, 0);
		rc = s->ps == SEM_FAILED ? -errno : 0;
	}
	if (rc == 0 && (stat(path, &now) < 0 || now.st_ino != st.st_ino ||
	                now.st_dev != st.st_dev)) {
		sem_close(s->ps);
		rc = -EPERM; /* replaced between the check and sem_open */
	}
	close(fd);
	return rc;
}

static int
psem_open(struct ipk_sem *s, const struct ipk_url *u, bool share)
{
	int rc = psem_name(s, u->rest);
	if (rc < 0)
		return rc;
	rc = psem_attach(s, share);
	if (rc == 0 && (s->flags & SEM_F_LOCK)) {
		rc = ipk__semlock_open(s, share);
		if (rc < 0)
			sem_close(s->ps);
	}
	if (rc < 0)
		free(s->name);
	return rc;
}

int
ipk__psem_take(struct ipk_sem *s, int64_t deadline)
{
	struct timespec ts = {deadline / 1000, (deadline % 1000) * 1000000};
	int rc = sem_trywait(s->ps) == 0 ? 0 : ipk__sem_first(errno, deadline);
	if (rc <= 0)
		return rc;
	for (;;) {
		int r;
		if (deadline == IPK_NEVER)
			r = sem_wait(s->ps);
		else
			r = sem_clockwait(s->ps, CLOCK_MONOTONIC, &ts);
		if (r == 0)
			return 0;
		rc = ipk__sem_retry(errno, deadline);
		if (rc < 0)
			return rc;
	}
}

static int
psem_wait(struct ipk_sem *s, int64_t deadline)
{
	if (s->flags & SEM_F_LOCK)
		return ipk__semlock_wait(s, deadline);
	return ipk__psem_take(s, deadline);
}

static int
psem_post(struct ipk_sem *s)
{
	if (s->flags & SEM_F_LOCK)
		return ipk__semlock_post(s);
	return sem_post(s->ps) < 0 ? -errno : 0;
}

static int
psem_value(struct ipk_sem *s)
{
	int v;
	if (sem_getvalue(s->ps, &v) < 0)
		return -errno;
	return v < 0 ? 0 : v;
}

static int
psem_unlink(struct ipk_sem *s)
{
	if (sem_unlink(s->name) < 0)
		return -errno;
	if (s->lockfd >= 0)
		ipk__semlock_unlink(s);
	return 0;
}

static void
psem_close(struct ipk_sem *s)
{
	sem_close(s->ps);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->name);
}

const struct ipk__sem_kind ipk__psem = {
        .scheme = "sem",
        .options = psem_options,
        .create = psem_create,
        .open = psem_open,
        .wait = psem_wait,
        .post = psem_post,
        .value = psem_value,
        .unlink = psem_unlink,
        .close = psem_close,
};
