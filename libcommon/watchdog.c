/* The auto-thaw watchdog: a process in a session of its own, holding open
 * descriptors of the frozen filesystems (it never resolves a path later),
 * that thaws them when the deadline passes or when the freezer dies without
 * saying goodbye. It survives SIGKILL of qfs and of qfs's process group.
 *
 * The freezer talks to it over a pipe: 'd' (disarm: the freezer thawed),
 * 'k' (keep: the freezer exits on purpose, the deadline stands), or end of
 * file (the freezer died: thaw now). `qfs thaw` disarms it with SIGUSR2. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qfs.h"

/* One line to the kernel log and, without the log level, to stderr. */
static void kmsg(size_t n, const char *why)
{
	struct out o = {-1, 1, 0, 0, 0};
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	out_str(&o, "<4>qfs: watchdog thawed ");
	out_num(&o, n);
	out_str(&o, " filesystems: ");
	out_str(&o, why);
	out_chr(&o, '\n');
	if (o.buf && fd >= 0 && write(fd, o.buf, o.len) < 0) {
		/* no kernel log to write to: stderr still says it */
	}
	if (o.buf && write(2, o.buf + 3, o.len - 3) < 0) {
		/* nobody left to tell */
	}
	if (fd >= 0)
		close(fd);
	free(o.buf);
}

/* Only the freeze that started this watchdog may be thawed by it: when the
 * state file names another freezer (a later or concurrent freeze), the
 * filesystems it lists are that freezer's; the others are still ours.
 * Returns how many of list are left, ours first. */
static size_t ours_only(struct mnt **list, size_t n, const struct state *s)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int claimed = 0;
		for (size_t j = 0; j < s->n && !claimed; j++)
			claimed = !strcmp(list[i]->target, s->targets[j]);
		if (!claimed)
			list[k++] = list[i];
	}
	return k;
}

static _Noreturn void thaw_and_exit(struct mnt **list, size_t n, pid_t freezer, int use_state, const char *why)
{
#ifdef QFS_MUTANT_WATCHDOG_NO_THAW
	_exit(0); /* make mutants: the watchdog never thaws */
#endif
	struct state s = {0};
	size_t count;
	int r = use_state ? state_read(&s) : 0;
	int mine = r <= 0 || s.pid == (unsigned long long)freezer;
	if (!mine)
		n = ours_only(list, n, &s);
	if (n == 0)
		_exit(0);
	fs_thaw_list(list, n, 1, 0, &count);
	kmsg(count, why);
	if (mine && use_state && s.buf) {
		s.thawed_at = now_s();
		state_write(&s);
	}
	_exit(0);
}

static _Noreturn void watch(struct mnt **list, size_t n, unsigned seconds, int use_state, int ctl, pid_t freezer)
{
	long end = now_ms() + seconds * 1000L;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	setsid();
	/* hold no pipe or ssh channel of the caller's open; a terminal is fine */
	dup2(null, 0);
	dup2(null, 1);
	if (!isatty(2))
		dup2(null, 2);
	sig_setup();
	for (;;) {
		long left = seconds ? end - now_ms() : -1;
		if (seconds && left <= 0)
			thaw_and_exit(list, n, freezer, use_state, "deadline passed");
		int s = sig_wait(ctl, (int)left);
		char c = 0;
		if (s == SIGUSR2)
			_exit(0);
		if (s == SIGTERM)
			thaw_and_exit(list, n, freezer, use_state, "terminated");
		if (s != 0)
			continue;
		if (read(ctl, &c, 1) != 1)
			thaw_and_exit(list, n, freezer, use_state, "qfs died while frozen");
		if (c == 'd')
			_exit(0);
		close(ctl);
		ctl = -1;
	}
}

pid_t watchdog_start(struct mnt **list, size_t n, unsigned seconds, int use_state, int *ctl)
{
	int p[2];
	pid_t freezer = getpid(), pid;
	if (pipe2(p, O_CLOEXEC)) {
		complain_errno("watchdog", NULL);
		return -1;
	}
	out_flush(&qout);
	out_flush(&qerr);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		watch(list, n, seconds, use_state, p[0], freezer);
	}
	close(p[0]);
	if (pid < 0) {
		complain_errno("cannot start the watchdog", NULL);
		close(p[1]);
		return -1;
	}
	*ctl = p[1];
	return pid;
}

void watchdog_tell(int *ctl, char what)
{
	if (*ctl < 0)
		return;
	if (write(*ctl, &what, 1) != 1) {
		/* the watchdog is gone; nothing left to tell */
	}
	close(*ctl);
	*ctl = -1;
}
