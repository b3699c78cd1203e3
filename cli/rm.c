/*
 * rm.c - `ipckit rm URL...` and `ipckit rm --stale`: removes IPC objects
 * found by inspect.c.  Live objects and other users' are refused without
 * --force; --stale removes only the caller's objects whose owner record
 * says the owner is gone, never one without a record.
 */
#include "cli.h"
#include "inspect.h"

#include <errno.h>
#include <getopt.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static const char rm_help[] =
        "usage: ipckit rm [--force] [--dry-run] URL...\n"
        "       ipckit rm --stale [--dry-run]\n"
        "Removes IPC objects: sysvmsg:KEY sysvshm:KEY sysvsem:KEY mq:/name "
        "shm:/name\nsem:/name fifo:/path unix:/path (unixgram:, "
        "unixpacket:).\n"
        "  --stale    remove exactly your objects whose ipckit owner record "
        "says\n             the owner is gone (never one without a "
        "record), each listed\n             with the reason\n"
        "  --force    also remove live objects (attached, open, "
        "listened on) and\n             other users' objects\n"
        "  --dry-run  say what would be removed, remove nothing\n"
        "Exit status: 0 done, 1 an object could not be removed, 2 wrong "
        "usage.\nExamples:\n"
        "  ipckit rm mq:/orders sysvmsg:0x1234\n"
        "  ipckit rm --stale --dry-run\n"
        "  ipckit rm --force unix:/run/app.sock\n";

/* The object's file, for kinds that have one named by a path. */
static bool
rm_is_path(const char *kind)
{
	return !strcmp(kind, "fifo") || !strncmp(kind, "unix", 4);
}

static int
rm_bells(const char *prefix)
{
	char p[INS_NAME + 32];
	for (int i = 0; i < 2; i++) {
		struct stat st;
		snprintf(p, sizeof(p), "%s.bell.%d", prefix, i);
		if (lstat(p, &st) == 0 && S_ISFIFO(st.st_mode))
			unlink(p); /* the doorbells of an ipckit ring */
	}
	return 0;
}

static int
rm_sysv(const struct ins_obj *o)
{
	int rc;
	if (!strcmp(o->kind, "sysvmsg"))
		rc = msgctl((int)o->id, IPC_RMID, NULL);
	else if (!strcmp(o->kind, "sysvsem"))
		rc = semctl((int)o->id, 0, IPC_RMID);
	else
		rc = shmctl((int)o->id, IPC_RMID, NULL);
	if (rc < 0)
		return -errno;
	if (!strcmp(o->kind, "sysvshm") && o->id2 >= 0) {
		char bell[64];
		semctl((int)o->id2, 0, IPC_RMID); /* the ring's set */
		snprintf(bell, sizeof(bell), "/dev/shm/ipckit-sysvshm-0x%08llx",
		         o->key);
		rm_bells(bell);
	}
	return 0;
}

static int
rm_posix(const struct ins_obj *o)
{
	char bell[INS_NAME + 16];
	if (!strcmp(o->kind, "mq"))
		return mq_unlink(o->name) < 0 ? -errno : 0;
	if (!strcmp(o->kind, "sem"))
		return sem_unlink(o->name) < 0 ? -errno : 0;
	if (shm_unlink(o->name) < 0)
		return -errno;
	snprintf(bell, sizeof(bell), "/dev/shm%s", o->name);
	return rm_bells(bell);
}

/* Remove o itself, then its record. */
static int
rm_object(const struct ins_obj *o)
{
	int rc;
	struct stat st;
	if (o->key != INS_NA)
		rc = rm_sysv(o);
	else if (!rm_is_path(o->kind))
		rc = rm_posix(o);
	else if (lstat(o->name, &st) < 0)
		rc = -errno;
	else if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		rc = -EEXIST; /* not what we were asked to remove */
	else if (o->ino && !o->is_sock && st.st_ino != o->ino)
		rc = -ESTALE; /* replaced since we looked */
	else
		rc = unlink(o->name) < 0 ? -errno : 0;
	if (rc == 0 && o->record[0])
		unlink(o->record);
	return rc;
}

static const char *
rm_live_why(const struct ins_obj *o)
{
	if (o->state == INS_LIVE || o->npids || o->nattch > 0)
		return "it is in use";
	if (!strcmp(o->sock_state, "LISTEN") || !strcmp(o->sock_state, "BOUND"))
		return "a socket is bound to it";
	return NULL;
}

static int
rm_refuse(const char *url, const struct ins_obj *o, const char *why)
{
	char user[32] = "?";
	if (o->uid != INS_NA)
		ins_user((uid_t)o->uid, user, sizeof(user));
	if (why)
		fprintf(stderr,
		        "ipckit: rm: %s: %s (%s); stop its users first, or "
		        "--force\n",
		        url, why, o->reason);
	else
		fprintf(stderr,
		        "ipckit: rm: %s: it belongs to user %s; --force "
		        "removes "
		        "it anyway\n",
		        url, user);
	return 1;
}

static int
rm_one(const struct rm_args *a, const char *url, const struct ins_obj *o)
{
	if (!strcmp(o->kind, "tcp") || !strcmp(o->kind, "udp"))
		return cli_fail_hint("rm", url, -ENOTSUP,
		                     "a socket goes when its holder closes it");
	if (!a->force && o->uid != INS_NA && o->uid != (long long)geteuid())
		return rm_refuse(url, o, NULL);
	if (!a->force && rm_live_why(o))
		return rm_refuse(url, o, rm_live_why(o));
	if (a->dry) {
		printf("would remove %s (%s: %s)\n", url,
		       o->state == INS_LIVE    ? "live"
		       : o->state == INS_STALE ? "stale"
		                               : "unknown",
		       o->reason);
		return 0;
	}
	int rc = rm_object(o);
	if (rc < 0)
		return cli_fail_hint("rm", url, rc,
		                     rc == -EPERM || rc == -EACCES
		                             ? "only its owner or root may "
		                               "remove it"
		                             : NULL);
	printf("removed %s\n", url);
	return 0;
}

/* The object a URL names: "kind:name", a KEY for SysV, a path for files. */
static bool
rm_match(const struct ins_obj *o, const char *kind, const char *rest)
{
	if (strcmp(o->kind, kind))
		return false;
	if (o->key == INS_NA)
		return !strcmp(o->name, rest);
	const char *colon = strrchr(rest, ':');
	char path[INS_NAME];
	long long key;
	if (colon && (size_t)(colon - rest) < sizeof(path)) {
		snprintf(path, sizeof(path), "%.*s", (int)(colon - rest), rest);
		key = (unsigned)ftok(path, atoi(colon + 1));
	} else {
		char *end;
		key = strtoll(rest, &end, 0);
		if (*end)
			return false;
		key = (unsigned)(int)key;
	}
	return o->key == key;
}

/* A FIFO or socket file nobody holds and no record names: still ours. */
static struct ins_obj *
rm_file_obj(struct ins_list *l, const char *kind, const char *path)
{
	struct stat st;
	if (!rm_is_path(kind) || lstat(path, &st) < 0 ||
	    !(kind[0] == 'f' ? S_ISFIFO(st.st_mode) : S_ISSOCK(st.st_mode)))
		return NULL;
	struct ins_obj *o = ins_add(l, kind);
	if (!o)
		return NULL;
	snprintf(o->name, sizeof(o->name), "%s", path);
	o->uid = st.st_uid;
	o->mode = st.st_mode & 07777;
	snprintf(o->reason, sizeof(o->reason), "no record; no holder");
	return o;
}

/* "kind" and the name part of url into rest (runtime dir for "name"). */
static int
rm_split(const char *url, char *kind, size_t ksize, char *rest, size_t rsize)
{
	size_t k = strcspn(url, ":");
	if (!url[k] || k == 0 || k >= ksize)
		return -EINVAL;
	snprintf(kind, ksize, "%.*s", (int)k, url);
	const char *r = url + k + 1;
	r += strncmp(r, "//", 2) ? 0 : 2;
	size_t n = strcspn(r, "?");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!rm_is_path(kind) || r[0] == '/' || r[0] == '@')
		snprintf(rest, rsize, "%.*s", (int)n, r);
	else if (xdg && xdg[0] == '/')
		snprintf(rest, rsize, "%s/ipckit/%.*s", xdg, (int)n, r);
	else
		snprintf(rest, rsize, "/tmp/ipckit-%u/%.*s",
		         (unsigned)geteuid(), (int)n, r);
	return n ? 0 : -EINVAL;
}

/*
 * A sysvshm: ring is a segment and a semaphore set of one key.  Its
 * record names the set; without one, the set of the segment's key is
 * taken as its, and must pass the same checks before either goes.
 */
static int
rm_shm_pair(const struct rm_args *a, const char *url, struct ins_list *l,
            struct ins_obj *o)
{
	for (size_t i = 0; o->id2 < 0 && o->key != 0 && i < l->n; i++) {
		const struct ins_obj *s = &l->v[i];
		if (strcmp(s->kind, "sysvsem") || s->key != o->key)
			continue;
		if (!a->force && s->uid != INS_NA &&
		    s->uid != (long long)geteuid())
			return rm_refuse(url, s, NULL);
		if (!a->force && rm_live_why(s))
			return rm_refuse(url, s, rm_live_why(s));
		o->id2 = s->id;
	}
	return rm_one(a, url, o);
}

static int
rm_url(const struct rm_args *a, struct ins_list *l, const char *url)
{
	char kind[16], rest[INS_NAME];
	if (rm_split(url, kind, sizeof(kind), rest, sizeof(rest)) < 0)
		return cli_usage("rm", "'%s' is not a URL (kind:name)", url);
	int rc = 0, found = 0;
	for (size_t i = 0; i < l->n; i++)
		if (rm_match(&l->v[i], kind, rest) && ++found)
			rc |= strcmp(kind, "sysvshm")
			              ? rm_one(a, url, &l->v[i])
			              : rm_shm_pair(a, url, l, &l->v[i]);
	struct ins_obj *o = found ? NULL : rm_file_obj(l, kind, rest);
	if (o)
		return rm_one(a, url, o);
	if (!found)
		return cli_fail_hint("rm", url, -ENOENT,
		                     "nothing there; 'ipckit ls' lists what "
		                     "exists");
	return rc;
}

static int
rm_stale_one(const struct rm_args *a, const struct ins_obj *o)
{
	char url[INS_NAME + 16];
	int fd;
	ins_url(o, url, sizeof(url));
	if (o->npids || o->nattch > 0) {
		printf("kept %s (its owner is gone, %s)\n", url, o->reason);
		return 0;
	}
	if (!ins_record_claim(o->record, &fd))
		return 0; /* a new owner took it, or its pair went with it */
	int rc = a->dry ? 0 : rm_object(o);
	close(fd);
	if (rc < 0)
		return cli_fail("rm", url, rc);
	printf("%s %s (%s%s)\n", a->dry ? "would remove" : "removed", url,
	       o->reason,
	       o->id2 >= 0 && !strcmp(o->kind, "sysvshm") ? "; with its set"
	                                                  : "");
	return 0;
}

/* The set of a sysvshm ring goes with its segment, under one record. */
static bool
rm_stale_pair(const struct ins_list *l, const struct ins_obj *o)
{
	for (size_t i = 0; strcmp(o->kind, "sysvsem") == 0 && i < l->n; i++)
		if (!strcmp(l->v[i].kind, "sysvshm") &&
		    !strcmp(l->v[i].record, o->record))
			return true;
	return false;
}

static int
rm_stale(const struct rm_args *a, struct ins_list *l)
{
	int rc = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct ins_obj *o = &l->v[i];
		if (o->state == INS_STALE && o->record[0] &&
		    o->uid == (long long)geteuid() && !rm_stale_pair(l, o))
			rc |= rm_stale_one(a, o);
	}
	size_t gone = 0;
	for (size_t i = 0; i < l->norphans; i++) {
		struct stat st;
		int fd;
		if (stat(l->orphans[i], &st) < 0 || st.st_uid != geteuid() ||
		    !ins_record_claim(l->orphans[i], &fd))
			continue;
		if (!a->dry)
			unlink(l->orphans[i]);
		close(fd);
		gone++;
	}
	if (gone)
		printf("%s %zu owner records whose objects were already gone\n",
		       a->dry ? "would remove" : "removed", gone);
	return rc;
}

int
cmd_rm_parse(int argc, char **argv, struct rm_args *a)
{
	static const struct option opts[] = {
	        {"stale", no_argument, NULL, 's'},
	        {"force", no_argument, NULL, 'f'},
	        {"dry-run", no_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	*a = (struct rm_args){0};
	optind = 0; /* as cli_parse: forget an earlier call's cluster */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+sfnh", opts, NULL)) != -1) {
		if (c == 's')
			a->stale = true;
		else if (c == 'f')
			a->force = true;
		else if (c == 'n')
			a->dry = true;
		else if (c == 'h')
			return a->help = true, fputs(rm_help, stdout), 0;
		else
			return cli_bad_option("rm", c, argv, opts);
	}
	if (a->stale && optind < argc)
		return cli_usage("rm", "--stale takes no URL");
	if (a->stale && a->force)
		return cli_usage("rm", "--stale removes only dead owners' "
		                       "objects; it takes no --force");
	if (!a->stale && optind == argc)
		return cli_usage("rm", "no URL given");
	a->urls = argv + optind;
	a->nurls = argc - optind;
	return 0;
}

int
cmd_rm(int argc, char **argv)
{
	struct rm_args a;
	int rc = cmd_rm_parse(argc, argv, &a);
	if (rc || a.help)
		return rc;
	struct ins_list l;
	rc = ins_scan(&l);
	if (rc < 0)
		return cli_fail("rm", "/proc", rc);
	if (a.stale)
		rc = rm_stale(&a, &l);
	for (int i = 0; i < a.nurls; i++)
		rc |= rm_url(&a, &l, a.urls[i]);
	ins_free(&l);
	return rc ? (rc & EXIT_USAGE ? EXIT_USAGE : 1) : 0;
}
