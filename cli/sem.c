/*
 * sem.c - `ipckit sem create|wait|post|value|rm URL` and `ipckit sem run
 * URL -- CMD`: the semaphores of notes section 6.4 from the shell.  run
 * holds the semaphore exactly as long as CMD runs, as flock(1) does: the
 * process that becomes CMD takes it (SysV with SEM_UNDO, which survives
 * exec; POSIX with ?lock&inherit), so CMD's end gives it back.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char sem_help[] =
        "usage: ipckit sem create URL [--value N]\n"
        "       ipckit sem wait URL [--timeout MS]\n"
        "       ipckit sem post|value|rm URL\n"
        "       ipckit sem run URL [--timeout MS] -- CMD [ARGS...]\n"
        "URL is sem:/name (POSIX) or sysvsem:KEY[?nsems=N&index=I].\n"
        "  create   make it (value N, default 1); it stays until 'rm'\n"
        "  wait     P: take one for good (no undo); --timeout MS, default "
        "forever\n"
        "  post     V: give one back\n"
        "  value    print the value\n"
        "  rm       remove it\n"
        "  run      take it, run CMD, give it back when CMD ends (even "
        "if ipckit\n"
        "           is killed meanwhile); exits with CMD's status.  "
        "sem:/ needs a\n"
        "           semaphore created with ?lock.\n"
        "Options ride in the query: ?mode=0600&keep&share&undo&lock "
        "(docs/guide/semaphores.md).\n"
        "Examples:\n"
        "  ipckit sem create sem:/slots --value 3\n"
        "  ipckit sem wait sem:/slots --timeout 500\n"
        "  ipckit sem create 'sem:/job?lock' && ipckit sem run "
        "'sem:/job?lock' -- make\n"
        "  ipckit sem value 'sysvsem:0x20?nsems=2&index=1'\n";

/* Hints by errno; "" for errors that need none. */
static const char *
sem_hint(int err, const char *verb)
{
	switch (-err) {
	case EEXIST:
		return "it exists already; 'ipckit sem rm URL' removes it";
	case ENOENT:
		return "no such semaphore; 'ipckit sem create URL' makes one";
	case EPERM:
		return "it belongs to another user or is open to group/others; "
		       "add ?share to use it anyway";
	case ETIMEDOUT:
		return strcmp(verb, "wait") && strcmp(verb, "run")
		               ? "the set was never marked ready (made by "
		                 "ipcmk?); add ?share to use it as it is"
		               : "it stayed at 0; --timeout MS waits longer";
	case ENOLCK:
		return "not made with ?lock: 'ipckit sem create "
		       "\"sem:/NAME?lock\"'";
	case EINVAL:
		return "sem:/name or sysvsem:KEY?nsems=N&index=I; options "
		       "mode, keep, share, undo (sysvsem), lock (sem)";
	case ENAMETOOLONG:
		return "at most 251 characters after the slash, 240 with ?lock";
	case EPROTONOSUPPORT:
		return "sem takes sem:/name or sysvsem:KEY";
	case EOVERFLOW:
		return "it is at its maximum already";
	case EIDRM:
		return "the set was removed meanwhile";
	}
	return NULL;
}

static int
sem_fail(const struct sem_args *a, int err)
{
	const char *hint = sem_hint(err, a->verb);
	if (err == -EPERM && !strcmp(a->verb, "post") &&
	    cli_url_flag(a->url, "lock"))
		hint = "only its holder gives a ?lock back; 'ipckit sem run' "
		       "holds one for a command";
	return cli_fail_hint("sem", a->url, err, hint);
}

/* url with the bare flags added that it lacks (malloc'd). */
static char *
sem_url_with(const char *url, const char *f1, const char *f2)
{
	size_t n = strlen(url) + 32;
	char *s = malloc(n);
	if (!s)
		return NULL;
	snprintf(s, n, "%s", url);
	const char *flags[] = {f1, f2};
	for (int i = 0; i < 2; i++) {
		if (!flags[i] || cli_url_flag(url, flags[i]))
			continue;
		size_t len = strlen(s);
		snprintf(s + len, n - len, "%c%s", strchr(s, '?') ? '&' : '?',
		         flags[i]);
	}
	return s;
}

static int
sem_opt(struct sem_args *a, char **argv, int *i, int argc)
{
	const char *o = argv[*i];
	if (strcmp(o, "--timeout") && strcmp(o, "--value"))
		return cli_usage("sem", "unknown option '%s'", o);
	if (*i + 1 >= argc)
		return cli_usage("sem", "%s needs a number", o);
	const char *v = argv[++*i];
	long long n;
	if (!strcmp(o, "--timeout")) {
		if (!cli_num(v, -1, 0x7fffffff, &n))
			return cli_usage("sem", "bad --timeout '%s' (ms, -1)",
			                 v);
		a->timeout = (int)n;
		a->timeout_set = true;
		return 0;
	}
	if (!cli_num(v, 0, 0x7fffffff, &a->value))
		return cli_usage("sem", "bad --value '%s'", v);
	a->value_set = true;
	return 0;
}

/* 0 (with a->help after --help, printed) or 2 (usage, printed). */
static int
sem_words(int argc, char **argv, struct sem_args *a)
{
	memset(a, 0, sizeof(*a));
	a->timeout = -1;
	a->value = 1;
	int pos = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(sem_help, stdout);
			a->help = true;
			return 0;
		}
		if (!strcmp(argv[i], "--")) {
			a->cmd = argv + i + 1;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			int rc = sem_opt(a, argv, &i, argc);
			if (rc)
				return rc;
			continue;
		}
		if (pos == 2)
			return cli_usage("sem", "unexpected '%s'", argv[i]);
		*(pos++ ? &a->url : &a->verb) = argv[i];
	}
	if (!a->verb)
		return cli_usage("sem", "no verb given");
	return a->url ? 0 : cli_usage("sem", "%s needs a URL", a->verb);
}

static int
sem_create(const struct sem_args *a)
{
	char *url = sem_url_with(a->url, "keep", NULL);
	ipk_sem *s;
	int rc = url ? ipk_sem_create(url, (unsigned)a->value, &s) : -ENOMEM;
	free(url);
	if (rc < 0)
		return sem_fail(a, rc);
	ipk_sem_close(s);
	return 0;
}

/* Open, do one thing, close: wait, post, value and rm. */
static int
sem_simple(const struct sem_args *a)
{
	ipk_sem *s;
	int rc = ipk_sem_open(a->url, &s);
	if (rc < 0)
		return cli_exit_code(sem_fail(a, rc));
	if (!strcmp(a->verb, "wait")) {
		rc = ipk_sem_wait(s, a->timeout);
		rc = rc == -EOWNERDEAD ? 0 : rc; /* ?lock: ours now */
	} else if (!strcmp(a->verb, "post")) {
		rc = ipk_sem_post(s);
	} else if (!strcmp(a->verb, "rm")) {
		rc = ipk_sem_unlink(s);
	} else if ((rc = ipk_sem_value(s)) >= 0) {
		printf("%d\n", rc);
		rc = fflush(stdout) ? -errno : 0;
	}
	ipk_sem_close(s);
	return rc < 0 ? cli_exit_code(sem_fail(a, rc)) : 0;
}

/*
 * The child: take the semaphore, then become CMD.  It dies with ipckit
 * until it holds it, so a killed ipckit leaves no waiter that would run
 * CMD later; from exec on, CMD holds it on its own.
 */
static void
run_child(const struct sem_args *a, const char *url, int fd, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	ipk_sem *s;
	int rc = ipk_sem_open(url, &s);
	if (rc == 0)
		rc = ipk_sem_wait(s, a->timeout);
	if (rc == 0 || rc == -EOWNERDEAD) {
		prctl(PR_SET_PDEATHSIG, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(a->cmd[0], a->cmd);
		rc = errno;
	}
	if (write(fd, &rc, sizeof(rc)) < 0)
		_exit(1);
	_exit(rc < 0 ? 1 : 127);
}

/* CMD's status (128+N for signal N); SIGINT/SIGTERM are passed on. */
static int
run_reap(pid_t pid, bool forward)
{
	int st;
	bool sent = false;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 1;
		if (forward && cli_stop && !sent)
			sent = kill(pid, cli_stop) == 0;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* POSIX: CMD's token went with it; take its unit over and post it. */
static void
run_give_back(ipk_sem *mine)
{
	int rc = mine ? ipk_sem_trywait(mine) : -EAGAIN;
	if (rc == 0 || rc == -EOWNERDEAD)
		ipk_sem_post(mine);
}

static int
run_parent(const struct sem_args *a, pid_t pid, int fd, ipk_sem *mine)
{
	int err = 0;
	ssize_t r = cli_read(fd, &err, sizeof(err), -1);
	if (r < 0)
		kill(pid, SIGKILL); /* stopped while it waited */
	int st = run_reap(pid, r == 0);
	run_give_back(mine);
	if (r == 0)
		return st;
	if (r < 0 || err < 0)
		return cli_exit_code(r < 0 ? 1 : sem_fail(a, err));
	fprintf(stderr, "ipckit: sem: %s: cannot run %s: %s\n", a->url,
	        a->cmd[0], strerror(err));
	return 127;
}

/* The URL the child takes and, for sem:, the parent's own handle. */
static int
run_open(const struct sem_args *a, char **url, ipk_sem **mine)
{
	bool posix = cli_scheme_in(a->url, "sem");
	*url = posix ? sem_url_with(a->url, "lock", "inherit")
	             : sem_url_with(a->url, "undo", NULL);
	char *own = posix ? sem_url_with(a->url, "lock", NULL) : NULL;
	int rc = !*url || (posix && !own)
	                 ? -ENOMEM
	                 : ipk_sem_open(own ? own : *url, mine);
	free(own);
	if (rc == 0 && !posix) {
		ipk_sem_close(
		        *mine); /* SEM_UNDO gives back: no handle needed */
		*mine = NULL;
	}
	return rc;
}

static int
sem_run(const struct sem_args *a)
{
	char *url;
	ipk_sem *mine = NULL;
	int rc = run_open(a, &url, &mine);
	int p[2] = {-1, -1};
	if (rc == 0 && pipe2(p, O_CLOEXEC) < 0)
		rc = -errno;
	pid_t parent = getpid(), pid = -1;
	fflush(NULL);
	if (rc == 0 && (pid = fork()) == 0)
		run_child(a, url, p[1], parent);
	if (rc == 0 && pid < 0)
		rc = -errno;
	close(p[1]);
	rc = rc < 0 ? cli_exit_code(sem_fail(a, rc))
	            : run_parent(a, pid, p[0], mine);
	close(p[0]);
	ipk_sem_close(mine);
	free(url);
	return rc;
}

static bool
sem_known(const char *verb)
{
	static const char *const verbs[] = {"create", "wait", "post",
	                                    "value",  "rm",   "run"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i]))
			return true;
	return false;
}

int
cmd_sem_parse(int argc, char **argv, struct sem_args *a)
{
	int rc = sem_words(argc, argv, a);
	if (rc || a->help)
		return rc;
	bool run = !strcmp(a->verb, "run");
	if (!run && a->cmd)
		return cli_usage("sem", "only 'run' takes a command");
	if (a->value_set && strcmp(a->verb, "create"))
		return cli_usage("sem", "--value is for 'create'");
	if (a->timeout_set && !run && strcmp(a->verb, "wait"))
		return cli_usage("sem", "--timeout is for 'wait' and 'run'");
	if (!sem_known(a->verb))
		return cli_usage("sem", "unknown verb '%s'", a->verb);
	if (run && (!a->cmd || !a->cmd[0]))
		return cli_usage("sem", "run needs -- CMD [ARGS...]");
	return 0;
}

int
cmd_sem(int argc, char **argv)
{
	struct sem_args a;
	int rc = cmd_sem_parse(argc, argv, &a);
	if (rc || a.help)
		return rc;
	if (!strcmp(a.verb, "create"))
		return sem_create(&a);
	if (!strcmp(a.verb, "run"))
		return sem_run(&a);
	return sem_simple(&a);
}
