/* Signals as events: the ones that matter are blocked and read from a
 * signalfd, so no handler ever runs between a freeze and its thaw. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "qfs.h"

static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
static const int ignored[] = {SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
static int sfd = -1;

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
		signal(caught[i], SIG_DFL);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
		signal(ignored[i], SIG_IGN);
	if (sfd >= 0)
		close(sfd);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return sfd < 0 ? -1 : 0;
}

/* What a spawned program must get back: an empty mask, default actions. */
void sig_spawnattr(posix_spawnattr_t *a, short flags)
{
	sigset_t set;
	sigemptyset(&set);
	posix_spawnattr_init(a);
	posix_spawnattr_setsigmask(a, &set);
	for (size_t i = 0; i < sizeof(caught) / sizeof(*caught); i++)
		sigaddset(&set, caught[i]);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
		sigaddset(&set, ignored[i]);
	posix_spawnattr_setsigdefault(a, &set);
	posix_spawnattr_setflags(a, (short)(flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
}

/* Waits up to ms (-1: forever) for a signal or for fd (if >= 0) to become
 * readable. Returns the signal number, 0 when fd is readable, -1 on time out. */
int sig_wait(int fd, int ms)
{
	struct pollfd p[2] = {{sfd, POLLIN, 0}, {fd, POLLIN, 0}};
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
