/*
 * main.c - the ipckit command: picks the subcommand and nothing else.
 * Exit status: 0 done, 1 failed, 2 wrong usage, 128+N stopped by signal N.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

static const char main_help[] =
        "usage: ipckit VERB [ARGS...]\n"
        "       ipckit --help | --version\n"
        "\n"
        "  send URL [MSG...]   send messages (arguments, or stdin lines)\n"
        "  recv URL            print the messages that arrive\n"
        "  relay FROM TO       move messages between two endpoints\n"
        "  sem VERB URL        semaphores: create wait post value rm run\n"
        "  bench [--quick]     measure every transport against bare "
        "syscalls\n"
        "  ls [--json]         every IPC object, its owner and state\n"
        "  rm URL... | --stale remove objects (--stale: dead owners')\n"
        "  limits [--json]     the kernel limits of each mechanism\n"
        "  tcp-trace           a TCP handshake and close, state by state\n"
        "\n"
        "URLs:\n"
        "  pipe:               anonymous pipe (library: ipk_pair + fork)\n"
        "  fifo:/path          named pipe; fifo:name lives in the "
        "private runtime dir\n"
        "  sysvmsg:KEY         System V message queue (KEY: 0x1234 or "
        "path:proj)\n"
        "  mq:/name            POSIX message queue\n"
        "  unix:/path          Unix stream socket (unix:@name: "
        "abstract)\n"
        "  unixgram:/path      Unix datagram socket\n"
        "  unixpacket:/path    Unix seqpacket socket\n"
        "  tcp://host:port     TCP, IPv4 or [IPv6]\n"
        "  udp://host:port     UDP\n"
        "  shm:/name           POSIX shared memory ring (?wait=spin|sleep)\n"
        "  sysvshm:KEY         System V shared memory + semaphores\n"
        "  sem:/name           POSIX semaphore (for 'ipckit sem')\n"
        "  sysvsem:KEY         System V semaphore set (?nsems=N&index=I)\n"
        "\n"
        "Options ride in the query: ?mode=0600&max=65536&raw&keep&"
        "timeout=MS\n"
        "(per mechanism: docs/guide/).  'ipckit VERB --help' describes "
        "each verb;\n'man ipckit' all of them.\n"
        "Exit status: 0 done, 1 failed, 2 wrong usage, 130/143 "
        "interrupted.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} verbs[] = {
        {"send", cmd_send},
        {"recv", cmd_recv},
        {"relay", cmd_relay},
        {"sem", cmd_sem},
        {"bench", cmd_bench},
        {"ls", cmd_ls},
        {"rm", cmd_rm},
        {"limits", cmd_limits},
        {"tcp-trace", cmd_tcp_trace},
};

static int main_usage(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

/* Wrong usage of the command itself: what, then the usage, on stderr. */
static int
main_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("ipckit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	fputs(main_help, stderr);
	return EXIT_USAGE;
}

/* Transports a build may leave out (DESIGN.md: redis needs hiredis). */
static const char *const optional[] = {"redis"};

static bool
main_has(const char *scheme)
{
	for (size_t i = 0; ipk_transport(i); i++)
		if (!strcmp(ipk_transport(i), scheme))
			return true;
	return false;
}

/* The version, then the library's transports, optional ones apart. */
static int
main_version(void)
{
	printf("ipckit %d.%d.%d\ntransports:", IPK_VERSION_MAJOR,
	       IPK_VERSION_MINOR, IPK_VERSION_PATCH);
	for (size_t i = 0; ipk_transport(i); i++)
		printf(" %s", ipk_transport(i));
	int n = 0;
	fputs(" (optional:", stdout);
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		if (!main_has(optional[i]))
			continue;
		printf(" %s", optional[i]);
		n++;
	}
	puts(n ? ")" : " none)");
	return fflush(stdout) ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return main_usage("no verb given");
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") ||
	    !strcmp(verb, "help")) {
		fputs(main_help, stdout);
		return 0;
	}
	if (!strcmp(verb, "--version") || !strcmp(verb, "-V"))
		return main_version();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i].name))
			continue;
		cli_signals();
		return verbs[i].run(argc - 1, argv + 1);
	}
	if (verb[0] == '-')
		return main_usage("unknown option '%s'", verb);
	return main_usage("unknown verb '%s'", verb);
}
