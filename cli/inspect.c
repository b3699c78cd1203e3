/*
 * inspect.c - the table of IPC objects behind `ipckit ls` and `ipckit rm`:
 * gathers every source (inspect_*.c) in order, then judges each object
 * live, stale or unknown, with the reason.
 */
#include "inspect.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>

struct ins_obj *
ins_add(struct ins_list *l, const char *kind)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ins_obj *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v, l->cap = cap;
	}
	struct ins_obj *o = &l->v[l->n++];
	memset(o, 0, sizeof(*o));
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	o->key = o->id = o->id2 = INS_NA;
	o->bytes = o->messages = o->nattch = o->nsems = INS_NA;
	o->conns = o->value = o->txq = o->uid = INS_NA;
	o->mode = -1;
	return o;
}

void
ins_free(struct ins_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].pids);
	for (size_t i = 0; i < l->norphans; i++)
		free(l->orphans[i]);
	free(l->orphans);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* The kernel frees a socket with its last descriptor: no record needed. */
static void
judge_socket(struct ins_obj *o)
{
	if (o->npids) {
		o->state = INS_LIVE;
		snprintf(o->reason, sizeof(o->reason), "%s, pid %d",
		         o->sock_state, (int)o->pids[0]);
	} else {
		snprintf(o->reason, sizeof(o->reason), "%s, no holder seen",
		         o->sock_state);
	}
}

static void
judge_unknown(struct ins_obj *o)
{
	char hint[96];
	if (o->npids)
		snprintf(hint, sizeof(hint), "; in use by pid %d",
		         (int)o->pids[0]);
	else if (o->reason[0])
		snprintf(hint, sizeof(hint), "; %.80s", o->reason);
	else
		hint[0] = '\0';
	snprintf(o->reason, sizeof(o->reason), "no record%s", hint);
}

void
ins_judge(struct ins_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct ins_obj *o = &l->v[i];
		size_t len = strlen(o->reason);
		if (!o->record[0] && o->is_sock)
			judge_socket(o);
		else if (!o->record[0])
			judge_unknown(o);
		else if (o->state == INS_STALE && o->npids)
			snprintf(o->reason + len, sizeof(o->reason) - len,
			         "; still in use by pid %d", (int)o->pids[0]);
	}
}

int
ins_scan(struct ins_list *l)
{
	memset(l, 0, sizeof(*l));
	struct ins_fds fds = {0};
	int rc = ins_scan_sysv(l);
	if (rc == 0)
		rc = ins_scan_posix(l);
	if (rc == 0)
		rc = ins_scan_net(l);
	if (rc == 0)
		rc = ins_scan_fds(&fds);
	if (rc < 0) {
		ins_free(l);
		return rc;
	}
	ins_scan_fifos(l, &fds);
	ins_scan_records(l);
	for (size_t i = 0; i < l->n; i++)
		ins_holders(&l->v[i], &fds);
	ins_fds_free(&fds);
	ins_judge(l);
	return 0;
}

void
ins_url(const struct ins_obj *o, char *buf, size_t size)
{
	if (!strcmp(o->kind, "tcp") || !strcmp(o->kind, "udp")) {
		size_t n = strcspn(o->name, "-"); /* the local end */
		snprintf(buf, size, "%s://%.*s", o->kind, (int)n, o->name);
	} else {
		snprintf(buf, size, "%s:%s", o->kind, o->name);
	}
}

void
ins_user(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
}
