/*
 * semlock.c - "sem:/name?lock": a POSIX semaphore used as a lock whose
 * holder's death the next waiter learns of.  The kernel keeps no undo for
 * POSIX semaphores, so beside sem.NAME lies /dev/shm/ipckit-semlock.NAME,
 * and each holder keeps an OFD read lock on its byte 0: the kernel drops
 * it when the holder's last descriptor to it closes, death included.
 */
#include "sem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

/* How often a waiter looks whether the holder is still alive. */
#define SEMLOCK_SLICE_MS 50

/* Holders share a read lock on TOKEN; whoever takes the semaphore or
 * judges a holder dead holds GUARD (a write lock) meanwhile. */
enum { SEMLOCK_TOKEN = 0, SEMLOCK_GUARD = 1 };

static int
semlock_cloexec(const struct ipk_sem *s)
{
	return (s->flags & SEM_F_INHERIT) ? 0 : O_CLOEXEC;
}

static int
semlock_ctl(const struct ipk_sem *s, int cmd, short type, off_t at,
            short *found)
{
	struct flock fl = {.l_type = type,
	                   .l_whence = SEEK_SET,
	                   .l_start = at,
	                   .l_len = 1};
	if (fcntl(s->lockfd, cmd, &fl) < 0)
		return -errno;
	if (found)
		*found = fl.l_type;
	return 0;
}

void
ipk__semlock_unlink(const struct ipk_sem *s)
{
	char path[PATH_MAX];
	ipk__psem_path(s, PSEM_LOCK_PREFIX, path, sizeof(path));
	unlink(path);
}

/* Made before the semaphore, exclusively: a squatter makes it -EEXIST. */
int
ipk__semlock_create(struct ipk_sem *s)
{
	char path[PATH_MAX];
	ipk__psem_path(s, PSEM_LOCK_PREFIX, path, sizeof(path));
	int fl = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | semlock_cloexec(s);
	s->lockfd = open(path, fl, 0600);
	if (s->lockfd < 0)
		return -errno;
	/* The umask may have narrowed it; make it the mode asked for. */
	if (fchmod(s->lockfd, s->mode) == 0)
		return 0;
	int rc = -errno;
	close(s->lockfd);
	s->lockfd = -1;
	unlink(path);
	return rc;
}

/* A lock created at 0 is held by its creator from the start. */
int
ipk__semlock_hold(struct ipk_sem *s)
{
	int rc = semlock_ctl(s, F_OFD_SETLK, F_RDLCK, SEMLOCK_TOKEN, NULL);
	s->held = rc == 0;
	return rc;
}

int
ipk__semlock_open(struct ipk_sem *s, bool share)
{
	char path[PATH_MAX];
	ipk__psem_path(s, PSEM_LOCK_PREFIX, path, sizeof(path));
	s->lockfd = open(path, O_RDWR | O_NOFOLLOW | semlock_cloexec(s));
	if (s->lockfd < 0)
		return errno == ENOENT ? -ENOLCK : -errno;
	struct stat st;
	int rc = share ? 0 : ipk__psem_check(s, s->lockfd, &st);
	if (rc < 0) {
		close(s->lockfd);
		s->lockfd = -1;
	}
	return rc;
}

/* The guard is held only while taking or judging, never while holding. */
static int
semlock_guard(const struct ipk_sem *s, int64_t deadline)
{
	int step = 1;
	for (;;) {
		int rc = semlock_ctl(s, F_OFD_SETLK, F_WRLCK, SEMLOCK_GUARD,
		                     NULL);
		if (rc != -EAGAIN && rc != -EACCES && rc != -EINTR)
			return rc;
		int left = ipk__remaining(deadline);
		if (left == 0)
			return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
		rc = ipk__sem_nap(left > 0 && left < step ? left : step);
		if (rc < 0)
			return rc;
		step = step < 16 ? step * 2 : step;
	}
}

static bool
semlock_holder_alive(const struct ipk_sem *s)
{
	short found = F_UNLCK;
	semlock_ctl(s, F_OFD_GETLK, F_WRLCK, SEMLOCK_TOKEN, &found);
	return found != F_UNLCK;
}

/*
 * Under the guard nobody else can take the semaphore, and a holder gives
 * it back (sem_post) before it drops its token: so a value of 0 with no
 * token left means the holder died holding it.
 */
static int
semlock_take(struct ipk_sem *s, int64_t deadline)
{
	for (;;) {
		int64_t end = deadline;
		if (deadline != 0 && ipk__remaining(deadline) != 0) {
			int64_t slice = ipk__now_ms() + SEMLOCK_SLICE_MS;
			end = slice < deadline ? slice : deadline;
		}
		int rc = ipk__psem_take(s, end);
		if (rc != -ETIMEDOUT && rc != -EAGAIN)
			return rc;
		if (!semlock_holder_alive(s))
			return sem_trywait(s->ps) == 0 ? 0 : -EOWNERDEAD;
		if (ipk__remaining(deadline) == 0)
			return rc;
	}
}

int
ipk__semlock_wait(struct ipk_sem *s, int64_t deadline)
{
	if (s->held)
		return -EDEADLK;
	int rc = semlock_guard(s, deadline);
	if (rc < 0)
		return rc;
	rc = semlock_take(s, deadline);
	if (rc == 0 || rc == -EOWNERDEAD) {
		int t = semlock_ctl(s, F_OFD_SETLK, F_RDLCK, SEMLOCK_TOKEN,
		                    NULL);
		if (t < 0 && rc == 0)
			sem_post(s->ps);
		rc = t < 0 ? t : rc;
		s->held = t == 0;
	}
	semlock_ctl(s, F_OFD_SETLK, F_UNLCK, SEMLOCK_GUARD, NULL);
	return rc;
}

/* Post first, then drop the token (see semlock_take). */
int
ipk__semlock_post(struct ipk_sem *s)
{
	if (!s->held)
		return -EPERM;
	if (sem_post(s->ps) < 0)
		return -errno;
	semlock_ctl(s, F_OFD_SETLK, F_UNLCK, SEMLOCK_TOKEN, NULL);
	s->held = false;
	return 0;
}
