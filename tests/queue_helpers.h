/*
 * queue_helpers.h - what the sysvmsg and mq suites share: keys and names
 * unique to the test process, their removal in a teardown, and a helper
 * mode of the test binary itself (IPK_QHELPER=1 EXE ACTION ARGS...) that
 * runs as nobody or inside an IPC namespace the test makes.
 */
#ifndef IPK_TEST_QUEUE_HELPERS_H
#define IPK_TEST_QUEUE_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <ipckit.h>
#include <limits.h>
#include <mqueue.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#define QH_KEYS 16
#define QH_NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups"

/* The test's process, set by qh_setup (the suite's .init): forked
 * children name the same keys as their parent. */
static pid_t qh_pid;

static inline void
qh_setup(void)
{
	qh_pid = getpid();
}

/* Key n (< QH_KEYS) of this test. */
static inline key_t
qh_key(int n)
{
	return (key_t)(0x40000000 + (qh_pid & 0x3fffff) * QH_KEYS + n);
}

/* Queue name n of this test process, "/ipk-test-PID-n". */
static inline const char *
qh_name(int n)
{
	static char buf[4][64];
	char *b = buf[n % 4];
	snprintf(b, sizeof(buf[0]), "/ipk-test-%d-%d", (int)qh_pid, n);
	return b;
}

/* printf into one of four rotating buffers (URLs in one call's args). */
static inline const char *qh_fmt(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

static inline const char *
qh_fmt(const char *fmt, ...)
{
	static char buf[4][512];
	static int i;
	char *b = buf[i++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(buf[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* Remove every queue this test could have made, whoever made it. */
static inline void
qh_cleanup(void)
{
	for (int n = 0; n < QH_KEYS; n++) {
		int id = msgget(qh_key(n), 0);
		if (id >= 0)
			msgctl(id, IPC_RMID, NULL);
		mq_unlink(qh_name(n));
	}
}

static inline void
qh_listen(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		ipk_chan *c;
		printf("%d ", ipk_listen(argv[i], &c)); /* kept open */
	}
}

static inline void
qh_dial(int argc, char **argv)
{
	ipk_chan *c = NULL;
	printf("%d", argc > 2 ? ipk_dial(argv[2], &c) : -EINVAL);
	ipk_close(c);
}

/* The largest message, then max + 1 and max sent with timeout 0. */
static inline void
qh_limits(int argc, char **argv)
{
	ipk_chan *c;
	int rc = argc > 2 ? ipk_listen(argv[2], &c) : -EINVAL;
	if (rc < 0) {
		printf("%d", rc);
		return;
	}
	size_t max = ipk_max(c);
	char *buf = calloc(1, max + 1);
	printf("%zu %d %d", max, ipk_send(c, buf, max + 1, 0),
	       ipk_send(c, buf, max, 0));
	free(buf);
	ipk_close(c);
}

/* A queue made without ipckit, as a squatter would: mkmq NAME MODE. */
static inline void
qh_mkmq(int argc, char **argv)
{
	if (argc < 4)
		return;
	struct mq_attr a = {.mq_maxmsg = 1, .mq_msgsize = 16};
	umask(0);
	mqd_t d = mq_open(argv[2], O_RDWR | O_CREAT | O_EXCL,
	                  (mode_t)strtol(argv[3], NULL, 8), &a);
	printf("%d", d < 0 ? -errno : 0);
}

/* mksvmq KEY MODE */
static inline void
qh_mksvmq(int argc, char **argv)
{
	if (argc < 4)
		return;
	int id = msgget((key_t)strtol(argv[2], NULL, 0),
	                IPC_CREAT | IPC_EXCL | (int)strtol(argv[3], NULL, 8));
	printf("%d", id < 0 ? -errno : 0);
}

__attribute__((constructor)) static void
qh_main(int argc, char **argv)
{
	if (!getenv("IPK_QHELPER") || argc < 2)
		return;
	if (strcmp(argv[1], "listen") == 0)
		qh_listen(argc, argv);
	else if (strcmp(argv[1], "dial") == 0)
		qh_dial(argc, argv);
	else if (strcmp(argv[1], "limits") == 0)
		qh_limits(argc, argv);
	else if (strcmp(argv[1], "mkmq") == 0)
		qh_mkmq(argc, argv);
	else if (strcmp(argv[1], "mksvmq") == 0)
		qh_mksvmq(argc, argv);
	fflush(stdout);
	_exit(0);
}

/*
 * Run this binary as a helper under prefix (a command that ends by
 * running "$@"-style what follows it, e.g. QH_NOBODY); its output, with
 * the trailing space trimmed, goes to out.  Returns the exit status.
 */
static inline int
qh_run(const char *prefix, char *out, size_t size, const char *fmt, ...)
{
	char self[1024], args[1024], cmd[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%.1000s env IPK_QHELPER=1 %s %s", prefix,
	         self, args);
	fflush(NULL);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t got = fread(out, 1, size - 1, p);
	while (got && (out[got - 1] == ' ' || out[got - 1] == '\n'))
		got--;
	out[got] = '\0';
	return pclose(p);
}

#endif
