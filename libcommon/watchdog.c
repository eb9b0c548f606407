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
#include <termios.h>
#include <unistd.h>

#include "qfs.h"

/* Thaws what the freezer's hold still names and no other live hold keeps
 * frozen, and removes the hold. A hold that is gone was released or thawed
 * by `qfs thaw`: nothing is left to do. When the holds cannot be read (no
 * state directory, no memory, not trusted, the lock not had within about
 * 2 s) it thaws all it holds descriptors for: a filesystem left frozen is
 * worse than another freeze finding itself thawed, which that freeze
 * reports. Nothing here exits before the thaw. */
static _Noreturn void thaw_and_exit(struct mnt **list, size_t n, const char *name, const char *why)
{
#ifdef QFS_MUTANT_WATCHDOG_NO_THAW
	_exit(0); /* make mutants: the watchdog never thaws */
#endif
	struct holds hs = {.dir = -1, .lock = -1};
	struct hold *mine = NULL;
	size_t count = 0;
	int rc = name ? holds_open(&hs, HOLDS_BRIEF) : -1;
#ifdef QFS_MUTANT_WATCHDOG_EXIT_UNREAD
	if (rc)
		_exit(0); /* make mutants: holds unread, nothing thawed */
#endif
	if (!rc && hs.lock >= 0 && !(mine = holds_find(&hs, name)))
		_exit(0);
	for (size_t i = 0; i < n; i++)
		if (mine && (!hold_lists(mine, list[i]->dev) || holds_keeping(&hs, list[i]->dev, mine)))
			list[i]->fd = -1;
	holds_unlock(&hs, mine);
	fs_thaw_list(list, n, 1, 0, &count);
	if (mine)
		hold_drop(&hs, mine);
	kmsg("watchdog", count, why, 1);
	_exit(0);
}

static _Noreturn void watch(struct mnt **list, size_t n, unsigned seconds, const char *hold, int ctl)
{
	int64_t end = now_ms() + (int64_t)seconds * 1000;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct termios tio;
	setsid();
	/* hold no pipe or ssh channel of the caller's open; a terminal is fine */
	dup2(null, 0);
	dup2(null, 1);
	if (tcgetattr(2, &tio)) /* isatty, with what agent.c links anyway */
		dup2(null, 2);
	sig_setup();
	for (;;) {
		int64_t left = seconds ? end - now_ms() : -1;
		if (seconds && left <= 0)
			thaw_and_exit(list, n, hold, "deadline passed");
		int s = sig_wait(ctl, (int)left);
		char c = 0;
		if (s == SIGUSR2)
			_exit(0);
		if (s == SIGTERM)
			thaw_and_exit(list, n, hold, "terminated");
		if (s != 0)
			continue;
		if (read(ctl, &c, 1) != 1)
			thaw_and_exit(list, n, hold, "qfs died while frozen");
		if (c == 'd')
			_exit(0);
		close(ctl);
		ctl = -1;
	}
}

pid_t watchdog_start(struct mnt **list, size_t n, unsigned seconds, const char *hold, int *ctl)
{
	int p[2];
	pid_t pid;
	if (pipe2(p, O_CLOEXEC)) {
		complain_errno("watchdog", NULL);
		return -1;
	}
	out_flush(&qout);
	out_flush(&qerr);
	pid = _Fork();
	if (pid == 0) {
		close(p[1]);
		watch(list, n, seconds, hold, p[0]);
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
