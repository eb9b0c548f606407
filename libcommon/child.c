/* The `qfs freeze --hold` child through which an agent freezes: one per
 * freeze, for every protocol the agent speaks (QEMU's, Hyper-V's). Its
 * protocol is freeze --hold's: "frozen N" or "error:" lines back, "thaw" to
 * release, "thawed N" when done. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qfs.h"

/* Starts argv with its stdin and stdout on pipes: 0, or -1 and errno. */
int child_start(struct child *c, char *const argv[])
{
	int p[4] = {-1, -1, -1, -1};
	if (pipe2(p, O_CLOEXEC) || pipe2(p + 2, O_CLOEXEC) ||
	    (c->pid = spawn(argv, environ, (int[3]){p[0], p[3], SPAWN_KEEP}, 0)) < 0) {
		int e = errno;
		for (int i = 0; i < 4; i++)
			close(p[i]);
		c->pid = 0;
		errno = e;
		return -1;
	}
	close(p[0]);
	close(p[3]);
	c->in = p[1];
	c->out = p[2];
	return 0;
}

/* While c->until (now_s()) has not passed, waits for the child's output
 * without blocking the caller longer: a freeze that does not answer in time
 * (a FIFREEZE waiting in the kernel) is told to end (it thaws whatever it
 * froze once the kernel returns) and let go; so is one that a signal that
 * ends the agent interrupts (kept in c->sig). 0 when its output can be read. */
static int child_ready(struct child *c)
{
	while (c->until) {
		int s = sig_wait(c->out, 1000);
		if (!s)
			return 0;
		if (now_s() < c->until && (s < 0 || s == SIGCHLD || s == SIGUSR1 || s == SIGUSR2))
			continue;
		kill(c->pid, SIGTERM);
		close(c->in);
		close(c->out);
		c->pid = 0;
		c->until = 0;
		c->sig = s > 0 ? s : 0;
		return -1;
	}
	return 0;
}

/* One line of the freeze's output (cut to size), or 0 at its end or when
 * it does not answer in time (c->pid 0 then). */
static int child_line(struct child *c, char *line, size_t size)
{
	size_t n = 0;
	char ch;
	ssize_t r = 0;
	while (!child_ready(c) && ((r = read(c->out, &ch, 1)) > 0 || (r < 0 && errno == EINTR))) {
		if (r <= 0)
			continue;
		if (ch == '\n')
			break;
		if (n < size - 1)
			line[n++] = ch;
	}
	line[n] = 0;
	return r > 0 || n;
}

/* Reads the freeze's output up to "WORD N" (frozen) or to its end: its
 * count into num, its first error into err after prefix. At its
 * end it is gone: reaped, its pipes closed. Returns -1 when it said an
 * error. */
int child_read(struct child *c, const char *word, char *num, struct out *err, const char *prefix)
{
	char line[512];
	int bad = 0;
	size_t w = strlen(word);
	strcpy(num, "0");
	while (child_line(c, line, sizeof(line))) {
		if (!strncmp(line, word, w) && strlen(line) < w + 22) {
			strcpy(num, line + w);
			if (*word == 'f')
				return 0;
		} else if (!strncmp(line, "error: ", 7) && !bad++) {
			err->len = 0;
			out_str(err, prefix);
			out_str(err, line + 7);
			out_chr(err, 0);
		}
	}
	if (!c->pid) {
		err->len = 0;
		out_str(err, "qfs freeze timed out");
		out_chr(err, 0);
		return -1;
	}
	close(c->in);
	close(c->out);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
	out_release(&qerr);
	return -bad;
}

/* Ends the freeze being held: "thaw", then its count. */
int child_release(struct child *c, char *num, struct out *err)
{
	if (write(c->in, "thaw\n", 5) != 5) {
		/* it is gone already: its output says how it ended */
	}
	return child_read(c, "thawed ", num, err, "failed to thaw ");
}
