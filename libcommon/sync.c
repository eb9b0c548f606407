/* syncfs, or FIFREEZE, of many filesystems at once. FIFREEZE stops new
 * writes first and flushes after, so a filesystem frozen early stalls its
 * writers for the flush of every one frozen after it: syncfs of all of them
 * at once, while nothing is frozen yet, leaves each FIFREEZE next to nothing
 * to write. What is left of a FIFREEZE (the kernel waits for RCU grace
 * periods, the journal commits) is short but the same for each, so the
 * filesystems that depend on no other are frozen at once too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "qfs.h"

#ifdef QFS_FAULT_INJECTION
#include <stdlib.h>
#endif

static int work(int freeze, int fd)
{
	if (freeze)
		return fs_freeze(fd) ? errno : 0;
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
 * the pipe; the pipe's end of file says that all of them are done. A flush
 * may outlive qfs, so its process holds no stdio (a caller reading qfs's
 * output to its end never waits for it) and no other filesystem; a freeze
 * is always waited for. */
static _Noreturn void workers(struct mnt **list, size_t n, int freeze, int w)
{
	for (int fd = 0; !freeze && fd < 3; fd++)
		close(fd);
	for (size_t i = 0; i < n; i++) {
		if (_Fork())
			continue;
		for (size_t k = 0; !freeze && k < n; k++)
			if (k != i)
				close(list[k]->fd);
		int r[2] = {(int)i, list[i]->err ? list[i]->err : work(freeze, list[i]->fd)};
		if (write(w, r, sizeof(r)) < 0) {
			/* qfs stopped waiting: nobody to tell */
		}
		_exit(0);
	}
	_exit(0);
}

/* Runs syncfs or FIFREEZE on each of list at once; each one's errno lands
 * in its err, ECHILD for one that did not tell. Waits for all of them, or
 * with end (on now_ms's clock, 0: none) until then, or until a signal asks
 * qfs to stop. A freeze is always waited for to its end, which it may reach
 * only once another filesystem is thawed: past end, every one of job (the
 * whole freeze) known to be frozen is thawed every 100 ms until then (one
 * still freezing cannot be: its thaw would wait for it). Returns 1 when the
 * time ran out. */
static int run_all(struct mnt **list, size_t n, int64_t end, struct mnt **job, size_t njob)
{
	int freeze = job != NULL;
	int p[2], r[2], late = 0;
	pid_t pid = -1;
	if (!pipe2(p, O_CLOEXEC) && (pid = _Fork()) < 0) {
		close(p[0]);
		close(p[1]);
	}
	if (pid == 0)
		workers(list, n, freeze, p[1]);
	if (pid < 0) {
		/* no descriptor or process to spare: one after another, here (a
		 * flush is left to the freeze) */
		for (size_t i = 0; i < n; i++) {
			if (!freeze) {
				list[i]->err = ECHILD;
				continue;
			}
			if (!list[i]->err)
				list[i]->err = work(1, list[i]->fd);
			if (!list[i]->err)
				list[i]->frozen = FS_FROZEN;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		list[i]->err = ECHILD;
	close(p[1]);
	child_wait(pid, -1);
	for (;;) {
		int64_t left = end - now_ms();
		int s = sig_wait(p[0], !end ? -1 : left > 0 ? (int)left : late ? 100 : 0);
		if (s < 0) {
			late = 1;
			if (!freeze)
				break;
			size_t thawed;
			fs_thaw_list(job, njob, 0, 0, &thawed);
			continue;
		}
		if (s > 0) {
			/* a stop request ends a flush; freeze_some then stops */
			sig_remember(s);
			if (s == SIGCHLD || freeze)
				continue;
			break;
		}
		if (read(p[0], r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
		list[r[0]]->err = r[1];
		if (freeze && !r[1])
			list[r[0]]->frozen = FS_FROZEN;
	}
	close(p[0]);
	/* one that did not tell may be frozen: thawed with the rest */
	for (size_t i = 0; freeze && i < n; i++)
		if (list[i]->err == ECHILD)
			list[i]->frozen = FS_FROZEN;
	return late;
}

/* Flushes list, waiting up to timeout_s or until a signal asks qfs to stop;
 * a failure only shows under verbose (FIFREEZE flushes again and fails for
 * real). Returns 1 when the time ran out, else 0; *ms is how long it took. */
int fs_sync_all(struct mnt **list, size_t n, unsigned timeout_s, int verbose, int64_t *ms)
{
	int64_t start = now_ms();
	for (size_t i = 0; i < n; i++)
		list[i]->err = 0;
	int late = run_all(list, n, start + (int64_t)timeout_s * 1000, NULL, 0);
	*ms = now_ms() - start;
	/* not a failure: no "error:" line for --hold's reader */
	int keep = errors_to_stdout;
	errors_to_stdout = 0;
	for (size_t i = 0; verbose && i < n; i++)
		if (list[i]->err && list[i]->err != ECHILD)
			complain(list[i]->target, "syncfs", errstr(list[i]->err));
	errors_to_stdout = keep;
	return late;
}

/* Freezes list, part of job, at once, waiting for every FIFREEZE to
 * return: each one's errno is in its err, and those frozen are marked so.
 * Returns 1 when end passed first (what froze after it must be thawed). */
int fs_freeze_all(struct mnt **list, size_t n, int64_t end, struct mnt **job, size_t njob)
{
	for (size_t i = 0; i < n; i++) {
		list[i]->err = 0;
#ifdef QFS_FAULT_INJECTION
		/* test builds: the Nth FIFREEZE fails, counted here in order */
		if (fault_hit("QFS_FAULT_FREEZE"))
			list[i]->err = EIO;
#endif
	}
	return run_all(list, n, end, job, njob);
}
