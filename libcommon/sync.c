/* The flush before the freeze. FIFREEZE stops new writes first and flushes
 * after, so a filesystem frozen early stalls its writers for the flush of
 * every one frozen after it. syncfs on all of them at once, while nothing is
 * frozen yet, leaves each FIFREEZE next to nothing to write. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "qfs.h"

#ifdef QFS_FAULT_INJECTION
#include <stdlib.h>
#endif

static int flush(int fd)
{
#ifdef QFS_FAULT_INJECTION
	/* test builds: a flush that takes $QFS_FAULT_SYNC seconds, then fails */
	const char *f = getenv("QFS_FAULT_SYNC");
	if (f) {
		sleep((unsigned)atoi(f));
		return EIO;
	}
#endif
	return syncfs(fd) ? errno : 0;
}

/* One process per filesystem, forked by a short-lived one: a flush stuck in
 * the kernel cannot be killed, and its process must end as init's child,
 * not as a zombie of a freeze held for hours. Each writes {index, errno} to
 * the pipe; the pipe's end of file says that all of them are done. It holds
 * no stdio, so a caller reading qfs's output to its end never waits for it. */
static _Noreturn void flushers(struct mnt **list, size_t n, int w)
{
	close(0);
	close(1);
	close(2);
	for (size_t i = 0; i < n; i++) {
		if (qfs_fork())
			continue;
		for (size_t k = 0; k < n; k++)
			if (k != i)
				close(list[k]->fd);
		int r[2] = {(int)i, flush(list[i]->fd)};
		if (write(w, r, sizeof(r)) < 0) {
			/* qfs stopped waiting: nobody to tell */
		}
		_exit(0);
	}
	_exit(0);
}

/* Flushes list, all at once, waiting up to timeout_s or until a signal asks
 * qfs to stop; a failure only shows under verbose (FIFREEZE flushes again
 * and fails for real). Returns 1 when the time ran out, else 0; *ms is how
 * long it took. */
int fs_sync_all(struct mnt **list, size_t n, unsigned timeout_s, int verbose, long *ms)
{
	long start = now_ms(), end = start + timeout_s * 1000L;
	int p[2], r[2], late = 0;
	if (pipe2(p, O_CLOEXEC))
		return 0;
	pid_t pid = qfs_fork();
	if (pid == 0)
		flushers(list, n, p[1]);
	close(p[1]);
	if (pid > 0)
		child_wait(pid, -1);
	for (;;) {
		long left = end - now_ms();
		int s = sig_wait(p[0], left > 0 ? (int)left : 0);
		if (s < 0) {
			late = 1;
			break;
		}
		if (s > 0) {
			/* a stop request ends the wait; freeze_all then stops */
			sig_remember(s);
			if (s != SIGCHLD)
				break;
			continue;
		}
		if (read(p[0], r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
		if (r[1] && verbose) {
			/* not a failure: no "error:" line for --hold's reader */
			int keep = errors_to_stdout;
			errors_to_stdout = 0;
			complain(list[r[0]]->target, "syncfs", errstr(r[1]));
			errors_to_stdout = keep;
		}
	}
	close(p[0]);
	*ms = now_ms() - start;
	return late;
}
