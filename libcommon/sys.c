/* System calls without musl's wrappers, where the wrapper costs more than
 * the call: musl's fstatat (500 bytes) carries fallbacks for kernels older
 * than qfs supports, and its sigaction (400 bytes) the machinery for signal
 * handlers, which qfs never installs (signals are read from a signalfd).
 * Only where the kernel's struct stat and struct sigaction are libc's
 * (x86_64), and only with musl, in the build that has alloc.c. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qfs.h"

#if defined(QFS_ALLOC) && defined(__x86_64__) && !defined(__GLIBC__)
int fstatat(int dirfd, const char *restrict path, struct stat *restrict st, int flags)
{
	return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

int stat(const char *restrict path, struct stat *restrict st)
{
	return fstatat(AT_FDCWD, path, st, 0);
}

int fstat(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH);
}

/* SIG_DFL or SIG_IGN only (no handler, so no restorer); the previous
 * action is not told */
void (*signal(int sig, void (*how)(int)))(int)
{
	unsigned long act[4] = {(unsigned long)how, 0, 0, 0};
	return syscall(SYS_rt_sigaction, sig, act, NULL, 8) ? SIG_ERR : SIG_DFL;
}
#endif
