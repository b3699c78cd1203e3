/*
 * ls.c - `ipckit ls`: every IPC object on the machine (inspect.c finds
 * them), one line each in 100 columns, or a JSON array with numbers as
 * numbers.  --kind, --user and --stale pick rows.
 */
#include "cli.h"
#include "inspect.h"

#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ls_help[] =
        "usage: ipckit ls [--kind K[,K...]] [--user U] [--stale] [--json]\n"
        "Every IPC object on this machine: SysV queues, segments and "
        "semaphore\nsets, POSIX shm, semaphores and queues, FIFOs and "
        "Unix sockets in use,\nTCP and UDP sockets.  STATE is live or "
        "stale for objects an ipckit\nlistener made (its owner record "
        "says whether the owner lives), unknown\nfor the rest, with what "
        "the kernel tells.  PIDS is creator/holders.\n"
        "  --kind K   only these kinds: sysvmsg sysvshm sysvsem mq shm "
        "sem fifo\n             unix unixgram unixpacket tcp udp\n"
        "  --user U   only objects of user U (name or uid)\n"
        "  --stale    only objects whose owner is gone\n"
        "  --json     a JSON array, one object per row\n"
        "Examples:\n"
        "  ipckit ls\n"
        "  ipckit ls --kind sysvmsg,mq --json\n"
        "  ipckit ls --stale        (what 'ipckit rm --stale' would "
        "remove)\n";

static const char *const ls_states[] = {"unknown", "live", "stale"};

static bool
ls_kind_in(const char *kind, const char *list)
{
	size_t n = strlen(kind);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, kind, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static const char ls_kinds[] = "sysvmsg,sysvshm,sysvsem,mq,shm,sem,fifo,unix,"
                               "unixgram,unixpacket,tcp,udp";

/* The first kind in list that ls does not know, or NULL. */
static const char *
ls_bad_kind(const char *list, char *buf, size_t size)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		snprintf(buf, size, "%.*s", (int)len, p);
		if (!ls_kind_in(buf, ls_kinds))
			return buf;
		p += len + (p[len] == ',');
	}
	return NULL;
}

static bool
ls_wanted(const struct ls_args *a, const struct ins_obj *o)
{
	if (a->kinds && !ls_kind_in(o->kind, a->kinds))
		return false;
	if (a->uid != INS_NA && o->uid != a->uid)
		return false;
	return !a->stale || o->state == INS_STALE;
}

static void
ls_size(const struct ins_obj *o, char *buf, size_t size)
{
	if (o->messages != INS_NA)
		snprintf(buf, size, "%lldB/%lldm", o->bytes, o->messages);
	else if (o->nattch != INS_NA)
		snprintf(buf, size, "%lldB a%lld", o->bytes, o->nattch);
	else if (o->nsems != INS_NA)
		snprintf(buf, size, "%lld sems", o->nsems);
	else if (o->value != INS_NA)
		snprintf(buf, size, "value %lld", o->value);
	else if (o->txq != INS_NA)
		snprintf(buf, size, "rx%lld tx%lld", o->bytes, o->txq);
	else if (o->conns != INS_NA)
		snprintf(buf, size, "%lld conns", o->conns);
	else if (o->bytes != INS_NA)
		snprintf(buf, size, "%lldB", o->bytes);
	else
		snprintf(buf, size, "-");
}

static void
ls_pids(const struct ins_obj *o, char *buf, size_t size)
{
	int n = o->creator ? snprintf(buf, size, "%d/", (int)o->creator)
	                   : snprintf(buf, size, "-/");
	for (size_t i = 0; i < o->npids && (size_t)n < size; i++)
		n += snprintf(buf + n, size - (size_t)n, "%s%d", i ? "," : "",
		              (int)o->pids[i]);
	if (!o->npids && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "-");
}

/* s cut to w columns: a '~' marks what was cut. */
static void
ls_cell(const char *s, int w)
{
	int n = (int)strlen(s);
	if (n <= w)
		printf("%-*s ", w, s);
	else
		printf("%.*s~ ", w - 1, s);
}

/* The columns of the plain listing: 74 columns, then the state. */
#define LS_HEAD "%-10s %-26s %-8s %-4s %-11s %-9s %s\n"

static void
ls_row(const struct ins_obj *o)
{
	char url[INS_NAME + 16], user[32] = "-", mode[8] = "-", size[40],
	                         pids[64], state[200];
	ins_url(o, url, sizeof(url));
	if (o->uid != INS_NA)
		ins_user((uid_t)o->uid, user, sizeof(user));
	if (o->mode >= 0)
		snprintf(mode, sizeof(mode), "%03o", (unsigned)o->mode & 0777);
	ls_size(o, size, sizeof(size));
	ls_pids(o, pids, sizeof(pids));
	/* "unknown" says there is no record: the hints get the room. */
	const char *why = o->reason;
	if (o->state == INS_UNKNOWN && !strncmp(why, "no record", 9))
		why += why[9] == ';' ? 11 : 9;
	snprintf(state, sizeof(state), "%s%s%s", ls_states[o->state],
	         *why ? ": " : "", why);
	ls_cell(o->kind, 10);
	ls_cell(url, 26);
	ls_cell(user, 8);
	ls_cell(mode, 4);
	ls_cell(size, 11);
	ls_cell(pids, 9);
	printf("%.*s\n", 99 - 74, state);
}

static void
ls_json_str(const char *key, const char *s)
{
	printf("\"%s\":", key);
	if (s)
		out_json_text(stdout, (const unsigned char *)s, strlen(s));
	else
		fputs("null", stdout);
}

static void
ls_json_num(const char *key, long long v)
{
	if (v == INS_NA)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%lld", key, v);
}

static void
ls_json_obj(const struct ins_obj *o)
{
	char url[INS_NAME + 16], user[32];
	ins_url(o, url, sizeof(url));
	fputs("{", stdout);
	ls_json_str("kind", o->kind);
	putchar(',');
	ls_json_str("name", o->name);
	putchar(',');
	ls_json_str("url", url);
	ls_json_num("key", o->key);
	ls_json_num("id", o->id);
	ls_json_num("uid", o->uid);
	if (o->uid != INS_NA)
		ins_user((uid_t)o->uid, user, sizeof(user));
	putchar(',');
	ls_json_str("user", o->uid != INS_NA ? user : NULL);
	ls_json_num("mode", o->mode >= 0 ? o->mode : INS_NA);
	ls_json_num("bytes", o->bytes);
	ls_json_num("messages", o->messages);
	ls_json_num("nattch", o->nattch);
	ls_json_num("nsems", o->nsems);
	ls_json_num("value", o->value);
	ls_json_num("connections", o->conns);
	ls_json_num("tx_queue", o->txq);
	ls_json_num("creator", o->creator ? o->creator : INS_NA);
	fputs(",\"pids\":[", stdout);
	for (size_t i = 0; i < o->npids; i++)
		printf("%s%d", i ? "," : "", (int)o->pids[i]);
	fputs("],", stdout);
	ls_json_str("socket_state", o->sock_state[0] ? o->sock_state : NULL);
	putchar(',');
	ls_json_str("state", ls_states[o->state]);
	putchar(',');
	ls_json_str("reason", o->reason);
	putchar(',');
	ls_json_str("record", o->record[0] ? o->record : NULL);
	fputs("}", stdout);
}

static void
ls_print(const struct ls_args *a, const struct ins_list *l)
{
	size_t shown = 0;
	if (a->json)
		putchar('[');
	else
		printf(LS_HEAD, "KIND", "URL", "OWNER", "MODE", "SIZE/COUNT",
		       "PIDS", "STATE");
	for (size_t i = 0; i < l->n; i++) {
		if (!ls_wanted(a, &l->v[i]))
			continue;
		if (a->json)
			fputs(shown ? ",\n" : "\n", stdout);
		if (a->json)
			ls_json_obj(&l->v[i]);
		else
			ls_row(&l->v[i]);
		shown++;
	}
	if (a->json)
		fputs(shown ? "\n]\n" : "]\n", stdout);
}

static int
ls_user(const char *s, long long *uid)
{
	struct passwd *pw = getpwnam(s);
	if (pw) {
		*uid = pw->pw_uid;
		return 0;
	}
	return cli_num(s, 0, 0xfffffffe, uid) ? 0 : -1;
}

int
cmd_ls_parse(int argc, char **argv, struct ls_args *a)
{
	static const struct option opts[] = {
	        {"kind", required_argument, NULL, 'k'},
	        {"user", required_argument, NULL, 'u'},
	        {"stale", no_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	*a = (struct ls_args){.uid = INS_NA};
	optind = 0; /* as cli_parse: forget an earlier call's cluster */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:k:u:sjh", opts, NULL)) != -1) {
		if (c == 'k')
			a->kinds = optarg;
		else if (c == 'u' && ls_user(optarg, &a->uid) < 0)
			return cli_usage("ls", "no such user '%s'", optarg);
		else if (c == 's' || c == 'j')
			*(c == 's' ? &a->stale : &a->json) = true;
		else if (c == 'h')
			return a->help = true, fputs(ls_help, stdout), 0;
		else if (c == '?' || c == ':')
			return cli_bad_option("ls", c, argv, opts);
	}
	char bad[32];
	if (a->kinds && ls_bad_kind(a->kinds, bad, sizeof(bad)))
		return cli_usage("ls", "unknown kind '%s'", bad);
	if (optind < argc)
		return cli_usage("ls", "unexpected argument '%s'",
		                 argv[optind]);
	return 0;
}

int
cmd_ls(int argc, char **argv)
{
	struct ls_args a;
	int rc = cmd_ls_parse(argc, argv, &a);
	if (rc || a.help)
		return rc;
	if (!ins_mqueue_mounted())
		fputs("ipckit: ls: /dev/mqueue is not mounted, so POSIX queues "
		      "are not listed (mount -t mqueue none /dev/mqueue)\n",
		      stderr);
	struct ins_list l;
	rc = ins_scan(&l);
	if (rc < 0)
		return cli_fail("ls", "/proc", rc);
	ls_print(&a, &l);
	ins_free(&l);
	return fflush(stdout) == 0 ? 0 : 1;
}
