/* unixcat SOCKET REQUEST...: scripts/archtest's client for `qfs agent -m
 * unix-listen` inside its VM, as busybox's nc has no unix sockets. Sends
 * each REQUEST and copies its reply line to stdout before the next, as a
 * host would. Exit codes: 0 every reply came; 1 no connection, or a reply
 * missing after 60 s or at end of file; 2 usage. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One reply: bytes up to and including a newline, copied to stdout. */
static int reply(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c = 0;
	while (c != '\n') {
		if (poll(&p, 1, 60000) != 1 || read(fd, &c, 1) != 1)
			return -1;
		if (write(1, &c, 1) != 1)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (argc < 3 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fputs("usage: unixcat SOCKET REQUEST...\n", stderr);
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (send_all(fd, argv[i], strlen(argv[i])) || reply(fd)) {
			fprintf(stderr, "unixcat: no reply to %s\n", argv[i]);
			return 1;
		}
	}
	return 0;
}
