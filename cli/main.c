/*
 * main.c - the ipckit command: picks the subcommand and nothing else.
 * Exit status: 0 done, 1 failed, 2 wrong usage, 128+N stopped by signal N.
 */
#include "cli.h"

#include <string.h>

static const char main_help[] =
        "usage: ipckit VERB [ARGS...]\n"
        "\n"
        "  send URL [MSG...]   send messages (arguments, or stdin lines)\n"
        "  recv URL            print the messages that arrive\n"
        "  bench [--quick]     measure every transport against bare "
        "syscalls\n"
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
        "\n"
        "Options ride in the query: ?mode=0600&max=65536&raw&keep&"
        "timeout=MS\n"
        "'ipckit VERB --help' describes each verb.\n"
        "Exit status: 0 done, 1 failed, 2 wrong usage, 130/143 "
        "interrupted.\n";

int
main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("ipckit", "no verb given");
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") ||
	    !strcmp(verb, "help")) {
		fputs(main_help, stdout);
		return 0;
	}
	if (!strcmp(verb, "--version")) {
		printf("ipckit %d.%d.%d\n", IPK_VERSION_MAJOR,
		       IPK_VERSION_MINOR, IPK_VERSION_PATCH);
		return 0;
	}
	cli_signals();
	if (!strcmp(verb, "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(verb, "recv"))
		return cmd_recv(argc - 1, argv + 1);
	if (!strcmp(verb, "bench"))
		return cmd_bench(argc - 1, argv + 1);
	return cli_usage("ipckit", "unknown verb '%s'", verb);
}
