/* Signals as events: the ones that matter are blocked and read from a
 * signalfd, so no handler ever runs between a freeze and its thaw. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qfs.h"

static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
static const int ignored[] = {SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
static int sfd = -1;

/* SIG_DFL or SIG_IGN for sig: sigaction itself, signal() is a wrapper. */
static void sig_set(int sig, void (*how)(int))
{
	struct sigaction sa = {.sa_handler = how};
	sigaction(sig, &sa, NULL);
}

/* A write to a vanished reader or a stop from the terminal must not leave a
 * frozen machine behind: those are ignored, the rest queue on the fd. */
int sig_setup(void)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(caught) / sizeof(*caught); i++)
		sigaddset(&set, caught[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* an ignored signal is never queued: a shell starts background jobs
	 * with SIGINT ignored, and kill -INT must still thaw */
	for (size_t i = 0; i < sizeof(caught) / sizeof(*caught); i++)
		sig_set(caught[i], SIG_DFL);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
		sig_set(ignored[i], SIG_IGN);
	if (sfd >= 0)
		close(sfd);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return sfd < 0 ? -1 : 0;
}

/* What a spawned program must get back: default actions, an empty mask. */
static void sig_reset(void)
{
	sigset_t none;
	for (size_t i = 0; i < sizeof(caught) / sizeof(*caught); i++)
		sig_set(caught[i], SIG_DFL);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
		sig_set(ignored[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* execvp's search of $PATH (musl's default when it is unset), in fewer
 * bytes than libc's. Returns why nothing ran: EACCES if something was found
 * but could not run, else the last error. */
static int exec_path(char *const argv[], char *const envp[])
{
	const char *dirs = getenv("PATH"), *end;
	char path[4096];
	size_t n = strlen(argv[0]);
	int err = ENOENT;
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return errno;
	}
	for (dirs = dirs ? dirs : "/usr/local/bin:/bin:/usr/bin";; dirs = end + 1) {
		size_t d;
		end = strchrnul(dirs, ':');
		d = (size_t)(end - dirs);
		if (d + n + 2 <= sizeof(path)) {
			/* an empty entry is the working directory */
			memcpy(path, dirs, d);
			path[d] = '/';
			memcpy(path + d + (d > 0), argv[0], n + 1);
			execve(path, argv, envp);
			if (err != EACCES)
				err = errno;
		}
		if (!*end)
			return err;
	}
}

/* The child's half of spawn: never returns. */
static _Noreturn void exec_child(char *const argv[], char *const envp[], const int fd[3], int flags, int report)
{
	int err, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	sig_reset();
	if (flags & SPAWN_SETSID)
		setsid();
	for (int i = 0; i < 3; i++) {
		int from = fd[i] == SPAWN_NULL ? null : fd[i];
		/* one already in place stays: qfs never makes 0, 1 or 2
		 * close-on-exec (open_std opens them without it) */
		if (from >= 0 && from != i)
			dup2(from, i);
	}
	if (flags & SPAWN_PATH) {
		err = exec_path(argv, envp);
	} else {
		execve(argv[0], argv, envp);
		err = errno;
	}
	if (write(report, &err, sizeof(err)) < 0) {
		/* the parent is gone: nobody to tell */
	}
	_exit(127);
}

/* posix_spawn's job: argv[0] run with envp, fd[i] (SPAWN_KEEP, SPAWN_NULL
 * or a descriptor) as its stdin, stdout and stderr, default actions for the
 * signals qfs catches or ignores, an empty mask, a session of its own with
 * SPAWN_SETSID. Returns its pid, or -1 with errno set (also to why the
 * program could not be run, told through a close-on-exec pipe). libc's fork
 * and execve rather than posix_spawn itself: in a static musl binary its
 * file actions free through musl's own malloc, which would add 6 KB beside
 * alloc.c (posix_spawn 3.5 KB more). Every fork of qfs is _Fork (POSIX.1-2024;
 * musl 1.2.3, glibc 2.34): qfs has one thread and no atfork handler, so it
 * does what fork does, without the locking of libc's internals around it
 * that fork links in (the locks of its stdio, malloc, atexit and more: 1.6 KB). */
pid_t spawn(char *const argv[], char *const envp[], const int fd[3], int flags)
{
	int p[2], err = 0;
	pid_t pid;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = _Fork();
	if (pid == 0)
		exec_child(argv, envp, fd, flags, p[1]);
	close(p[1]);
	if (pid > 0 && read(p[0], &err, sizeof(err)) == (ssize_t)sizeof(err)) {
		waitpid(pid, NULL, 0);
		pid = -1;
	} else if (pid < 0) {
		err = errno;
	}
	close(p[0]);
	errno = err;
	return pid;
}

/* Waits up to ms (-1: forever) for a signal or for fd (if >= 0) to become
 * readable. Returns the signal number, 0 when fd is readable, -1 on time out. */
int sig_wait(int fd, int ms)
{
	struct pollfd p[2] = {{sfd, POLLIN, 0}, {fd, POLLIN, 0}};
	/* no signalfd (thaw runs its hooks without one): nothing would say a
	 * child ended, so the caller looks again every 10 ms */
	if (sfd < 0 && (ms < 0 || ms > 10))
		ms = 10;
	for (;;) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
		int r = poll(p, fd >= 0 ? 2 : 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (p[1].revents && fd >= 0 && !p[0].revents)
			return 0;
	}
}

/* For a caller that polls more than one descriptor (agent). */
int sig_fd(void)
{
	return sfd;
}

static int remembered;

/* A stop request that arrived while qfs was busy waiting for something else. */
void sig_remember(int sig)
{
	if (!remembered && sig != SIGCHLD && sig != SIGUSR2)
		remembered = sig;
}

/* A signal that asks qfs to stop, or 0. SIGCHLD and SIGUSR2 (which only
 * the watchdog obeys) do not. */
int sig_stop_pending(void)
{
	int s;
	while (!remembered && (s = sig_wait(-1, 0)) > 0)
		sig_remember(s);
	return remembered;
}
