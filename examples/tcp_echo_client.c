/*
 * tcp_echo_client.c - notes section 6.6, the client's steps with ipckit:
 * socket + connect are ipk_dial (with a timeout on connect), then write
 * and read whole messages.  ipk_shutdown sends our FIN (the first step of
 * the four-step close) yet we still read the server's answers until its
 * FIN arrives as -EPIPE.  Usage: tcp_echo_client URL MSG...
 */
#include <ipckit.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc < 3)
		return fprintf(stderr, "usage: %s URL MSG...\n", argv[0]), 2;
	ipk_chan *ch;
	int rc = ipk_dial(argv[1], &ch); /* socket, connect */
	if (rc < 0)
		return fprintf(stderr, "%s: %s\n", argv[1], ipk_strerror(rc)),
		       1;
	for (int i = 2; rc == 0 && i < argc; i++)
		rc = ipk_send(ch, argv[i], strlen(argv[i]), 5000);
	if (rc == 0)
		rc = ipk_shutdown(ch); /* half-close: no more sends from us */
	char buf[256];
	ssize_t n;
	int got = 0;
	while (rc == 0 && (n = ipk_recv(ch, buf, sizeof(buf), 5000)) >= 0)
		printf("client: got \"%.*s\"\n", (int)n, buf), got++;
	if (rc == 0 && n != -EPIPE)
		rc = (int)n;
	ipk_close(ch);
	if (rc < 0)
		return fprintf(stderr, "client: %s\n", ipk_strerror(rc)), 1;
	printf("client: %d answers, then the server's FIN\n", got);
	return got == argc - 2 ? 0 : 1;
}
