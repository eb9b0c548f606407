/* Reading files whole, or a chunk at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfs.h"

char *read_file(const char *name, size_t *len)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	size_t cap = 0, n = 0;
	char *buf = NULL;
	struct stat st;
	ssize_t r;
	if (fd < 0)
		return NULL;
	/* a regular file says its size (proc files say 0): one read, no waste */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < READ_MAX) {
		cap = (size_t)st.st_size + 2;
		buf = malloc(cap);
	}
	while ((r = read_more(fd, &buf, &cap, n)) > 0)
		n += (size_t)r;
	close(fd);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* One read into *buf after its first have bytes, growing it when full but
 * never past READ_MAX (EFBIG: -F /dev/zero must not take all memory). The
 * data stays NUL-terminated. Returns the bytes read, 0 at the end, or -1. */
ssize_t read_more(int fd, char **buf, size_t *cap, size_t have)
{
	ssize_t r;
	if (!*buf || *cap - have < 2) {
		size_t c = *cap < 32768 ? 65536 : 2 * *cap;
		char *b = c > READ_MAX ? NULL : realloc(*buf, c);
		if (!b) {
			errno = c > READ_MAX ? EFBIG : ENOMEM;
			return -1;
		}
		*buf = b;
		*cap = c;
	}
	do
		r = read(fd, *buf + have, *cap - have - 1);
	while (r < 0 && errno == EINTR);
	(*buf)[r > 0 ? have + (size_t)r : have] = 0;
	return r;
}
