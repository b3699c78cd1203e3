/*
 * tcp_echo_server.c - notes section 6.6, the server's steps with ipckit:
 * socket + bind + listen are ipk_listen (127.0.0.1, SO_REUSEADDR on),
 * accept is ipk_accept (a connected socket beside the listening one),
 * then whole messages are read and echoed until the client's FIN.
 * Usage: tcp_echo_server [PORT]; without PORT it runs tcp_echo_client.
 */
#include <ipckit.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The client binary sits next to this one. */
static void
start_client(int port)
{
	char exe[4096], url[64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 32);
	if (n < 0)
		return;
	exe[n] = '\0';
	strcpy(strrchr(exe, '/') + 1, "tcp_echo_client");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	if (fork() == 0) {
		execl(exe, exe, url, "hello", "echo", (char *)NULL);
		_exit(127);
	}
}

int
main(int argc, char **argv)
{
	char url[64], buf[256];
	snprintf(url, sizeof(url), "tcp://:%s", argc > 1 ? argv[1] : "0");
	ipk_chan *l, *c;
	int rc = ipk_listen(url, &l); /* socket, bind, listen */
	if (rc < 0)
		return fprintf(stderr, "%s: %s\n", url, ipk_strerror(rc)), 1;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	getsockname(ipk_fd(l), (struct sockaddr *)&sin, &len);
	printf("server: listening on 127.0.0.1:%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	if (argc < 2)
		start_client(ntohs(sin.sin_port));
	if ((rc = ipk_accept(l, &c, 5000)) == 0) { /* the connected socket */
		ssize_t n;
		while ((n = ipk_recv(c, buf, sizeof(buf), 5000)) >= 0) {
			printf("server: echo \"%.*s\"\n", (int)n, buf);
			ipk_send(c, buf, (size_t)n, 5000);
		}
		/* -EPIPE: the client's FIN; our ipk_close sends ours. */
		printf("server: client closed (%s)\n", ipk_strerror((int)n));
		ipk_close(c);
	}
	ipk_close(l);
	int status = 0;
	if (argc < 2)
		wait(&status);
	return rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status);
}
