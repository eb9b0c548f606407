/* Freeze hooks, as qemu-ga's --fsfreeze-hook: HOOK freeze before the first
 * freeze, HOOK thaw after the last thaw. Spawned without a shell, in a
 * session of their own, with a fixed environment and stdio on /dev/null. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qfs.h"

/* Refuses what root should not run: relative, foreign, writable by others,
 * or a file that is not executable (qemu-ga checks access(X_OK) too). */
static int trusted(const char *path, struct stat *st)
{
	if (path[0] != '/') {
		complain("hook", path, "not an absolute path");
		return 0;
	}
	if (stat(path, st)) {
		complain("hook", path, errstr(errno));
		return 0;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		complain("hook", path, "not owned by root");
		return 0;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		complain("hook", path, "writable by group or others");
		return 0;
	}
	if (!S_ISDIR(st->st_mode) && (!S_ISREG(st->st_mode) || access(path, X_OK))) {
		complain("hook", path, "not an executable file");
		return 0;
	}
	return 1;
}

static int ignored_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] == '.' || n[len - 1] == '~' || contains(n, ".dpkg-") || contains(n, ".rpm");
}

/* C-locale name order; a hook directory holds a handful of files. */
static void sort_names(char **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		char *x = v[i];
		size_t j = i;
		for (; j > 0 && strcmp(v[j - 1], x) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* spec: a file, or a directory whose executables run in name order. */
int hook_load(struct hooks *h, const char *spec)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	if (!spec)
		return 0;
	if (!*spec)
		return complain("hook", "empty path", NULL), -1;
	if (!trusted(spec, &st))
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		/* hook_load runs at startup only: no watchdog or agent loop here */
		h->path = must(malloc(sizeof(*h->path)));
		h->path[0] = (char *)spec;
		h->n = 1;
		return 0;
	}
	if (!(d = opendir(spec)))
		return complain("hook", spec, errstr(errno)), -1;
	while ((e = readdir(d))) {
		char *p;
		struct stat fst;
		if (ignored_name(e->d_name))
			continue;
		p = path_join(spec, e->d_name);
		if (stat(p, &fst) || !S_ISREG(fst.st_mode) || access(p, X_OK)) {
			free(p);
			continue;
		}
		if (!trusted(p, &fst)) {
			free(p);
			closedir(d);
			return -1;
		}
		char **np = must(realloc(h->path, (h->n + 1) * sizeof(*np))); /* startup only, as above */
		h->path = np;
		h->path[h->n++] = p;
	}
	closedir(d);
	sort_names(h->path, h->n);
	return 0;
}

static struct timespec clock_now(clockid_t c)
{
	struct timespec ts = {0, 0};
	clock_gettime(c, &ts);
	return ts;
}

/* Milliseconds on the monotonic clock, in 64 bits: a 32-bit long would
 * wrap after 24.8 days of uptime. */
int64_t now_ms(void)
{
	struct timespec ts = clock_now(CLOCK_MONOTONIC);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned long long now_s(void)
{
	return (unsigned long long)clock_now(CLOCK_REALTIME).tv_sec;
}

/* Waits for pid itself (not its descendants, which may hold an application
 * lock across the freeze) up to ms; -1 forever. Returns its status or -1. */
int child_wait(pid_t pid, int64_t ms)
{
	int64_t end = now_ms() + ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		int64_t left = ms < 0 ? -1 : end - now_ms();
		if (ms >= 0 && left <= 0)
			return -1;
		int s = sig_wait(-1, (int)(left < 0 ? -1 : left));
		if (s > 0)
			sig_remember(s);
	}
}

static int report(const char *path, int status)
{
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	out_str(&qerr, applet_name);
	out_str(&qerr, ": hook ");
	out_str(&qerr, path);
	out_str(&qerr, WIFEXITED(status) ? " failed with status " : " terminated by signal ");
	out_num(&qerr, (unsigned)(WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)));
	out_chr(&qerr, '\n');
	out_flush(&qerr);
	return -1;
}

static int run_one(const struct hooks *h, const char *path, const char *action)
{
	char act[32] = "QFS_ACTION=";
	char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", act, (char *)h->mounts, NULL};
	char *argv[] = {(char *)path, (char *)action, NULL};
	/* stdio on /dev/null, stderr kept under -v */
	const int fd[3] = {SPAWN_NULL, SPAWN_NULL, h->verbose ? SPAWN_KEEP : SPAWN_NULL};
	pid_t pid;
	int status;
	strcat(act, action);
	pid = spawn(argv, env, fd, SPAWN_SETSID);
	if (pid < 0) {
		complain("hook", path, errstr(errno));
		return -1;
	}
	status = child_wait(pid, (int64_t)h->timeout * 1000);
	if (status == -1) {
		/* its own session: the whole group goes, children included */
		kill(-pid, SIGTERM);
		status = child_wait(pid, 2000);
		if (status == -1) {
			kill(-pid, SIGKILL);
			child_wait(pid, -1);
		}
		kill(-pid, SIGKILL);
		complain("hook", path, "timed out");
		return -1;
	}
	return report(path, status);
}

/* freeze: runs the hooks in name order, stopping at the first failure;
 * *n becomes how many succeeded. thaw: runs the first *n in reverse order,
 * all of them whatever fails. Returns -1 if one failed. */
int hook_run(const struct hooks *h, const char *action, size_t *n)
{
	int freeze = action[0] == 'f', rc = 0;
	size_t count = freeze ? h->n : *n;
#ifdef QFS_MUTANT_NO_THAW_HOOK
	count = freeze ? count : 0; /* make mutants: thaw hooks never run */
#endif
	for (size_t i = 0; i < count; i++) {
		const char *p = h->path[freeze ? i : count - 1 - i];
		if (run_one(h, p, action)) {
			rc = -1;
			if (freeze) {
				*n = i;
				return rc;
			}
		}
	}
	if (freeze)
		*n = count;
	return rc;
}
