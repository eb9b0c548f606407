/* The agent's request reader and replies: any bytes from a host, and every
 * reply is one line of valid JSON (after guest-sync-delimited's 0xFF). The
 * agent is compiled in whole, with child.c and hyperv.c; spawning fails here, so a freeze request is
 * answered without a child, and guest-shutdown with an error. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#include <sys/reboot.h>

#include "qfs.h"

/* guest-shutdown's ways never reach this machine: no program starts, and
 * the system call fails (their declarations are in first, untouched). */
static pid_t no_spawn(char *const argv[], char *const envp[], const int fd[3], int flags)
{
	(void)argv, (void)envp, (void)fd, (void)flags;
	errno = EAGAIN;
	return -1;
}
static int no_reboot(int how)
{
	(void)how;
	errno = EPERM;
	return -1;
}
static void no_sync(void)
{
}
#define _Fork() (errno = EAGAIN, -1) // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
#define spawn no_spawn
#define reboot no_reboot
#define sync no_sync
/* the freeze child is started in child.c (hyperv.c uses it too): both in
 * here, so that their spawn is the one above */
#include "../../libcommon/child.c"  // NOLINT(bugprone-suspicious-include)
#include "../../libcommon/hyperv.c" // NOLINT(bugprone-suspicious-include)
#include "../../applets/agent.c"    // NOLINT(bugprone-suspicious-include)
#undef _Fork                        // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)

/* A second opinion on JSON, written apart from libcommon/json.c: one
 * value at *p, strictly (RFC 8259), recursively. */
static int value(const char **p, const char *end, int depth);

static void ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
}

static int string(const char **p, const char *end)
{
	const char *s = *p + 1;
	while (s < end && *s != '"')
		s += *s == '\\' ? 2 : 1;
	if (s >= end || !json_string_ok(*p, (size_t)(s + 1 - *p), NULL))
		return 0;
	*p = s + 1;
	return 1;
}

static int items(const char **p, const char *end, int depth, char close, int keys)
{
	(*p)++;
	ws(p, end);
	if (*p < end && **p == close) {
		(*p)++;
		return 1;
	}
	for (;;) {
		ws(p, end);
		if (keys) {
			if (*p >= end || **p != '"' || !string(p, end))
				return 0;
			ws(p, end);
			if (*p >= end || **p != ':')
				return 0;
			(*p)++;
		}
		if (!value(p, end, depth + 1))
			return 0;
		ws(p, end);
		if (*p < end && **p == ',') {
			(*p)++;
			continue;
		}
		if (*p >= end || **p != close)
			return 0;
		(*p)++;
		return 1;
	}
}

static int number(const char **p, const char *end)
{
	const char *s = *p;
	s += s < end && *s == '-';
	if (s < end && *s == '0')
		s++;
	else if (s < end && *s >= '1' && *s <= '9')
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (s < end && *s == '.') {
		const char *d = ++s;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
		if (s == d)
			return 0;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		s++;
		s += s < end && (*s == '+' || *s == '-');
		const char *d = s;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
		if (s == d)
			return 0;
	}
	*p = s;
	return 1;
}

static int value(const char **p, const char *end, int depth)
{
	static const char *const words[] = {"true", "false", "null"};
	ws(p, end);
	if (*p >= end || depth > 2000)
		return 0;
	if (**p == '{')
		return items(p, end, depth, '}', 1);
	if (**p == '[')
		return items(p, end, depth, ']', 0);
	if (**p == '"')
		return string(p, end);
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);
		if ((size_t)(end - *p) >= n && !memcmp(*p, words[i], n)) {
			*p += n;
			return 1;
		}
	}
	return number(p, end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("replies", 0);
	check(fd >= 0);
	init();
	g.chan = fd;
	json_reset(&rd);
	feed((const char *)data, (ssize_t)size);
	off_t len = lseek(fd, 0, SEEK_CUR);
	char *out = xmalloc((size_t)len + 1);
	check(pread(fd, out, (size_t)len, 0) == len);
	close(fd);
	for (const char *p = out, *end = out + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)); // NOLINT(clang-analyzer-core.NonNullParamChecker)
		check(nl != NULL);
		p += *p == '\xff';
		check(*p == '{' && value(&p, nl, 0) && p == nl);
		p = nl + 1;
	}
	free(out);
	return 0;
}
