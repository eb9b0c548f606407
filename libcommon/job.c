/* One freeze, from its plan to its thaw: hooks, the flush, the watchdog,
 * the hold, children before parents, and a thaw whatever happens. Its
 * die() and quit() calls are the freeze applet's own top level: the agent
 * runs freeze as a program of its own, and the watchdog, a fork made here,
 * never returns to this code. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qfs.h"


/* Milliseconds to the deadline for sig_wait: -1 for none. */
static int deadline_left(int64_t end)
{
	if (!end)
		return -1;
	int64_t left = end - now_ms();
	return left > 0 ? (int)left : 0;
}

static _Noreturn void abort_freeze(struct job *j, int code);
static void stop_if_asked(struct job *j);
static void expire(struct job *j);

/* Output that would land on a filesystem about to be frozen waits in memory. */
static void hold_output(const struct job *j)
{
	struct out *o[2] = {&qout, &qerr};
	for (int i = 0; i < 2; i++)
		if (mtab_frozen_at(&j->t, o[i]->fd, ""))
			o[i]->hold = 1;
}

/* No thaw follows in this process: what was held can never be written. */
static void drop_held(void)
{
	if (qout.hold && !qerr.hold)
		complain("output dropped: it would have gone to a frozen filesystem", NULL, NULL);
	if (qout.hold)
		qout.len = 0;
	if (qerr.hold)
		qerr.len = 0;
}

static char *mounts_env(const struct job *j)
{
	size_t len = sizeof("QFS_MOUNTPOINTS=");
	for (size_t i = 0; i < j->n; i++)
		len += strlen(j->list[i]->target) + 1;
	char *e = must(malloc(len)), *p = e; /* freeze only: see the top */
	p = stpcpy(p, "QFS_MOUNTPOINTS=");
	for (size_t i = 0; i < j->n; i++)
		p = stpcpy(stpcpy(p, i ? "\n" : ""), j->list[i]->target);
	return e;
}

/* A hold needs a state directory that is not on a filesystem being frozen:
 * writing there would sleep until the thaw. It is named after this process
 * and when it started, which no later process can share. */
static int name_hold(struct job *j)
{
	char dir[4096], num[24], *p;
	struct hold *h = &j->mine;
	if (mtab_frozen_at(&j->t, AT_FDCWD, state_existing_dir(dir, sizeof(dir)))) {
		complain(state_dir(), "on a filesystem being frozen: no hold kept", NULL);
		return 0;
	}
	h->v[H_PID] = (unsigned long long)getpid();
	h->v[H_START] = proc_start(h->v[H_PID]);
	num[23] = 0;
	p = stpcpy(stpcpy(h->name, "hold."), fmt_uint(num + 23, h->v[H_PID]));
	stpcpy(stpcpy(p, "."), fmt_uint(num + 23, h->v[H_START]));
	h->fs = must(malloc((j->n + 1) * sizeof(*h->fs))); /* freeze only: see the top */
	return 1;
}

/* The filesystems the hold names: all that are planned, or those kept frozen. */
static void hold_fill(struct job *j, int all)
{
	struct hold *h = &j->mine;
	h->n = 0;
	for (size_t i = 0; i < j->n; i++) {
		struct mnt *m = j->list[i];
		if (all || m->frozen)
			h->fs[h->n++] = (struct holdfs){(unsigned long long)m->dev, m->id, m->target};
	}
}

/* Before anything is frozen, under the lock: what a live hold keeps frozen
 * is joined, and this freeze's hold is written as freezing, so that an
 * unwritable state directory fails with nothing frozen and a freeze that
 * starts meanwhile waits for this one's outcome instead of freezing too.
 * A hold still freezing or thawing one of this job's filesystems is waited
 * for with the lock let go (its FIFREEZE may wait on a filesystem whose
 * thaw needs the lock). */
static int holds_begin(struct job *j)
{
	struct hold *h = &j->mine;
	if (holds_open(&j->hs, HOLDS_CREATE))
		return -1;
	for (size_t i = 0; i < j->n; i++) {
		struct mnt *m = j->list[i];
		const struct hold *o = holds_with(&j->hs, (unsigned long long)m->dev, NULL, ~0);
		m->frozen = o ? FS_JOINED : 0;
		m->holder = o ? o->v[H_PID] : 0;
		if (!o || o->v[H_STATE] == HOLD_KEPT)
			continue;
		holds_close(&j->hs);
		stop_if_asked(j);
		if (!deadline_left(j->end)) {
			expire(j);
			abort_freeze(j, EXIT_DEADLINE);
		}
		sig_wait(-1, 20);
		if (holds_open(&j->hs, HOLDS_CREATE))
			return -1;
		i = (size_t)-1;
	}
	h->kind = j->kind;
	h->v[H_TIME] = now_s();
	h->v[H_DEADLINE] = j->timeout ? h->v[H_TIME] + j->timeout : 0;
	h->v[H_WATCHDOG] = j->wd > 0 ? (unsigned long long)j->wd : 0;
	h->v[H_WDSTART] = proc_start(h->v[H_WATCHDOG]);
	h->v[H_STATE] = HOLD_FREEZING;
	hold_fill(j, 1);
	j->held = !hold_save(&j->hs, h);
	holds_close(&j->hs);
	return j->held ? 0 : -1;
}

/* The hold names what this freeze keeps frozen (none: no hold), under the
 * lock taken again (within about 2 s: frozen, qfs waits for nobody). */
static int holds_commit(struct job *j, size_t count)
{
	int rc;
	if (!j->held)
		return 0;
	if (holds_open(&j->hs, HOLDS_BRIEF))
		return -1;
	hold_fill(j, 0);
	j->mine.v[H_FROZEN_MS] = (unsigned long long)j->frozen_ms;
	j->mine.v[H_STATE] = HOLD_KEPT;
	rc = count ? hold_save(&j->hs, &j->mine) : 0;
	if (!count)
		hold_drop(&j->hs, &j->mine);
	j->held = count && !rc;
	holds_close(&j->hs);
	return rc;
}

static void disarm(struct job *j)
{
	watchdog_tell(&j->wdctl, 'd');
	if (j->wd > 0)
		waitpid(j->wd, NULL, 0);
	j->wd = 0;
}

/* -v's "joined /x (held by 123)", "kept /x frozen (held by 123)" */
static void held_by(const char *what, const struct mnt *m, const char *how, unsigned long long pid)
{
	out_str(&qout, what);
	out_escaped(&qout, m->target);
	out_str(&qout, how);
	out_str(&qout, " (held by ");
	out_num(&qout, pid);
	out_str(&qout, ")\n");
}

/* At release, under the lock: thaw m (FS_FROZEN) or leave it to another
 * live hold (0). m->lost when, after the freeze, `qfs thaw` took it out of
 * this freeze's hold (it is thawed all the same if no hold keeps it: that
 * thaw may have come before this freeze's FIFREEZE). */
static void settle(struct job *j, struct mnt *m, const struct hold *mine)
{
	const struct hold *o = holds_keeping(&j->hs, (unsigned long long)m->dev, mine);
	m->lost = j->mine.v[H_STATE] == HOLD_KEPT && !hold_lists(mine, m->dev);
	m->frozen = o ? 0 : FS_FROZEN;
	if (o && !m->lost) {
		j->kept++;
		if (j->verbose)
			held_by("kept ", m, " frozen", o->v[H_PID]);
	}
}

/* This freeze's filesystems, thawed parents first, except those another
 * live hold keeps frozen. The hold says "thawing" while they are (a freeze
 * that wants them waits), with the lock let go, and goes after. When the
 * holds cannot be read in time, what this process froze itself is thawed
 * all the same. Returns -1 when a thaw failed or a filesystem was thawed
 * under this freeze. */
static int release(struct job *j, int verbose, size_t *count)
{
	int rc = 0, probe = 0;
	struct hold *mine = NULL;
	disarm(j);
	if (j->held && holds_open(&j->hs, HOLDS_BRIEF))
		rc = -1; /* unreadable: thaw what this process froze itself */
	else if (j->held && j->hs.lock >= 0) {
		probe = j->mine.v[H_STATE] == HOLD_KEPT;
		mine = holds_find(&j->hs, j->mine.name);
		for (size_t i = 0; i < j->n; i++)
			if (j->list[i]->frozen)
				settle(j, j->list[i], mine);
	}
	holds_unlock(&j->hs, mine);
	/* after the freeze, a FIFREEZE that succeeds says another program
	 * thawed it (frozen by this freeze, no other hold keeps it) */
	for (size_t i = 0; i < j->n && probe; i++)
		if (j->list[i]->frozen == FS_FROZEN)
			j->list[i]->lost |= fs_freeze(j->list[i]->fd) == 0;
	if (fs_thaw_list(j->list, j->n, 0, verbose, count))
		rc = -1;
	for (size_t i = 0; i < j->n; i++) {
		if (!j->list[i]->lost)
			continue;
		complain(j->list[i]->target, j->lost, NULL);
		rc = -1;
	}
	if (mine)
		hold_drop(&j->hs, mine);
	holds_close(&j->hs);
	j->held = 0;
	return rc;
}

/* Everything this call did, undone: released, disarmed, thaw hooks run.
 * Returns -1 when a thaw or a hook failed. */
static int undo(struct job *j, int verbose, size_t *count)
{
	size_t n = 0;
	int rc = release(j, verbose, &n);
	out_release(&qout);
	out_release(&qerr);
	if (hook_run(&j->hooks, "thaw", &j->hooks_ran))
		rc = -1;
	if (verbose)
		fs_count(n, "thawed");
	if (count)
		*count = n + j->kept;
	return rc;
}

/* A failure while freezing: thaw what was frozen and what was joined and
 * no other hold keeps now, drop the hold, and exit (the freeze applet's
 * own top level: no watchdog or agent runs this). */
static void abort_freeze(struct job *j, int code)
{
	undo(j, 0, NULL);
	quit(code); /* freeze only: see the top */
}

/* After m's FIFREEZE: 0 for a failure that stops the freeze. */
static int freeze_result(const struct mnt *m)
{
	return !m->err || m->err == EOPNOTSUPP || m->err == EBUSY;
}

/* The deadline passed while qfs itself waits: thaw now. */
static void expire(struct job *j)
{
	/* not an error for --hold's reader: exit status 3 says it */
	errors_to_stdout = 0;
	complain("deadline passed", "thawed", NULL);
	j->end = 0;
	j->expired = 1;
}

static void stop_if_asked(struct job *j)
{
	int sig = sig_stop_pending();
	if (sig)
		abort_freeze(j, 128 + sig);
}

/* A FIFREEZE may wait for another filesystem's thaw (a device stored where
 * depend.c could not see) or for a device that stopped answering: -t's
 * deadline holds during the freeze too. */
static void freeze_now(struct job *j, struct mnt **list, size_t n)
{
	if (!fs_freeze_all(list, n, j->end, j->list, j->n))
		return;
	expire(j);
	abort_freeze(j, EXIT_DEADLINE);
}

/* Freezes what no live hold keeps frozen (those are joined): first, one at
 * a time and children before parents, each filesystem whose device may be
 * stored on another of them; then all the others at once (depend.c). Stops
 * at the first failure. */
static void freeze_some(struct job *j)
{
	struct mnt **together = must(malloc(2 * j->n * sizeof(*together) + 1)), **single;
	size_t n = 0, k = 0;
	single = together + j->n;
	for (size_t i = 0; i < j->n; i++) {
		struct mnt *m = j->list[i];
		m->err = ECANCELED;
		if (m->skip || m->frozen == FS_JOINED)
			continue;
		if (fs_alone(&j->t, m))
			together[n++] = m;
		else
			single[k++] = m;
	}
	for (size_t i = 0; i < k; i++) {
		stop_if_asked(j);
		freeze_now(j, &single[i], 1);
		if (!freeze_result(single[i])) {
			free(together);
			return;
		}
	}
	stop_if_asked(j);
	freeze_now(j, together, n);
	j->at_once = n;
	free(together);
}

/* Children before parents; what a live hold keeps frozen is joined, not
 * frozen again. Returns how many this freeze keeps frozen; on a failure
 * undoes everything and exits. */
static size_t freeze_all(struct job *j)
{
	size_t count = 0, foreign = 0;
	int64_t start = now_ms();
	freeze_some(j);
	j->frozen_ms = now_ms() - start;
	for (size_t k = 0; k < j->t.n; k++) {
		struct mnt *m = fs_nth(&j->t, k);
		int e = m->err;
		if (m->skip == SKIP_UNSELECTED)
			continue;
		if (m->skip) {
			if (j->verbose)
				fs_skipped(m, skip_word(m->skip));
		} else if (m->frozen == FS_JOINED) {
			count++;
			if (j->verbose)
				held_by("joined ", m, "", m->holder);
		} else if (!e) {
			count++;
			if (j->verbose)
				fs_said("frozen ", m);
		} else if (e == EOPNOTSUPP || e == EBUSY) {
			foreign += e == EBUSY;
			if (j->verbose)
				fs_skipped(m, e == EBUSY ? "frozen by another program" : "not supported");
		} else if (e != ECANCELED) {
			complain(m->target, errstr(e), NULL);
			abort_freeze(j, EXIT_FAIL);
		}
	}
	if (j->verbose)
		fs_frozen_count(count, j->frozen_ms, j->flushed, j->flush_ms, foreign, j->at_once);
	return count;
}

/* -- CMD: run it, wait for it, pass on the signals that stop qfs. */
static int run_cmd(struct job *j, char **cmd)
{
	static const int keep[3] = {SPAWN_KEEP, SPAWN_KEEP, SPAWN_KEEP};
	pid_t pid = spawn(cmd, environ, keep, SPAWN_PATH);
	int status;
	if (pid < 0) {
		complain(cmd[0], errstr(errno), NULL);
		return errno == ENOENT ? 127 : 126;
	}
	for (;;) {
		int s = sig_wait(-1, deadline_left(j->end));
		if (s == -1 && j->end) {
			expire(j);
			j->thaw_rc = undo(j, j->verbose, NULL);
		} else if (s > 0 && s != SIGCHLD && s != SIGUSR2) {
			kill(pid, s);
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --hold: until end of input, a "thaw" line, a signal or the deadline,
 * which is looked at before every read: input that never pauses (yes,
 * /dev/zero) cannot hold it off. Read in blocks; len is how much of the
 * line so far is "thaw", 5 once it cannot be. */
static void hold(struct job *j)
{
	char buf[4096];
	size_t len = 0;
	for (;;) {
		int s = sig_wait(0, deadline_left(j->end));
		if (!deadline_left(j->end)) {
			expire(j);
			return;
		}
		if (s > 0 && s != SIGCHLD && s != SIGUSR2)
			return;
		if (s != 0)
			continue;
		ssize_t r = read(0, buf, sizeof(buf));
		if (r <= 0)
			return;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n' && len == 4)
				return;
			len = buf[i] == '\n' ? 0 : len < 4 && buf[i] == "thaw"[len] ? len + 1 : 5;
		}
	}
}

static char *lost_message(char **cmd)
{
	const char *what = cmd ? cmd[0] : "held";
	char *s = must(malloc(strlen(what) + 48)); /* freeze only: see the top */
	stpcpy(stpcpy(stpcpy(s, "was thawed by another command while "), what), cmd ? " ran" : "");
	return s;
}

static int prepare(struct job *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (fs_open(&j->t, j->list[i]))
			return -1;
	return 0;
}


/* The table read, the mounts chosen and put in freeze order. */
int job_plan(struct job *j, const char *file, char **paths, int npaths, const char *hook)
{
	if (hook_load(&j->hooks, hook && *hook ? hook : NULL) || mtab_read(&j->t, file, 0) ||
	    mtab_select(&j->t, paths, npaths))
		return -1;
	mtab_classify(&j->t, npaths > 0);
	j->list = must(malloc((j->t.n + 1) * sizeof(*j->list))); /* freeze only: see the top */
	j->n = fs_plan(&j->t, j->list);
	return 0;
}

/* Freeze hooks, the flush, the watchdog, the hold, then the freeze itself.
 * Returns how many filesystems this freeze keeps frozen; on a failure
 * everything is undone and qfs exits. */
size_t job_freeze(struct job *j, char **cmd)
{
	int ends = j->kind == HOLD_CMD || j->kind == HOLD_HOLD;
	j->hooks.mounts = mounts_env(j);
	j->hooks.verbose = j->verbose;
	if (sig_setup())
		die("signalfd", errstr(errno), NULL); /* freeze only: see the top */
	if (hook_run(&j->hooks, "freeze", &j->hooks_ran) || sig_stop_pending() || prepare(j))
		abort_freeze(j, sig_stop_pending() ? 128 + sig_stop_pending() : EXIT_FAIL);
	hold_output(j);
	/* before the watchdog: its deadline counts from the freeze */
	if (!j->nosync)
		j->flushed = 1 + fs_sync_all(j->list, j->n, j->sync_timeout, j->verbose, &j->flush_ms);
	int keep = name_hold(j);
	if (j->timeout || ends) {
		/* qfs's own deadline comes first; the watchdog's is the backstop */
		unsigned wd_seconds = j->timeout && ends ? j->timeout + 2 : j->timeout;
		j->wd = watchdog_start(j->list, j->n, wd_seconds, keep ? j->mine.name : NULL, &j->wdctl);
		if (j->wd < 0)
			abort_freeze(j, EXIT_FAIL);
	}
	j->lost = lost_message(cmd);
	if (j->timeout)
		j->end = now_ms() + (int64_t)j->timeout * 1000;
	if (keep && holds_begin(j))
		abort_freeze(j, EXIT_FAIL);
#ifdef QFS_MUTANT_LOCK_AROUND_FREEZE
	struct holds around; /* make mutants: the lock held while FIFREEZE waits */
	holds_open(&around, 0);
#endif
	size_t frozen = freeze_all(j);
#ifdef QFS_MUTANT_LOCK_AROUND_FREEZE
	holds_close(&around);
#endif
	if (holds_commit(j, frozen))
		abort_freeze(j, EXIT_FAIL);
	return frozen;
}

/* A freeze that outlives this process: the watchdog keeps its deadline. */
void job_keep(struct job *j)
{
	watchdog_tell(&j->wdctl, 'k');
	drop_held();
}

int job_run(struct job *j, char **cmd)
{
	out_flush(&qout);
	return run_cmd(j, cmd);
}

void job_hold(struct job *j)
{
	out_flush(&qout);
	hold(j);
}

/* Thawed unless the deadline already did it; -1 when a thaw failed. */
int job_end(struct job *j, size_t *thawed)
{
	if (!j->expired || j->kind == HOLD_HOLD)
		j->thaw_rc |= undo(j, j->verbose, thawed);
	return j->thaw_rc;
}
