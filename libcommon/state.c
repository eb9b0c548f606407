/* The state file: what a freeze froze, when, by which process, and its
 * watchdog. Written atomically; never on a filesystem being frozen (the
 * caller checks state_dev() first). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfs.h"

const char *state_dir(void)
{
	const char *d = getenv("QFS_STATE_DIR");
	if (!d || !*d)
		return "/run/qfs";
	if (*d != '/')
		die("QFS_STATE_DIR", d, "not an absolute path");
	return d;
}

static char *state_path(const char *leaf)
{
	return path_join(state_dir(), leaf);
}

/* The state directory, or its parent when it does not exist yet: where
 * writing the state file would land. */
const char *state_existing_dir(char *buf, size_t size)
{
	const char *d = state_dir();
	char *slash;
	if (!access(d, F_OK) || strlen(d) >= size)
		return d;
	strcpy(buf, d);
	slash = strrchr(buf, '/');
	slash[slash == buf] = 0;
	return buf;
}

static void kv(struct out *o, const char *k, unsigned long long v)
{
	if (!v)
		return;
	out_str(o, k);
	out_chr(o, ' ');
	out_num(o, v);
	out_chr(o, '\n');
}

int state_write(const struct state *s)
{
	char *tmp = state_path("state.tmp"), *path = state_path("state");
	int fd, ok;
	struct out o = {-1, 0, 0, 0, 0};
	mkdir(state_dir(), 0755);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		complain_errno(tmp, NULL);
		free(tmp);
		free(path);
		return -1;
	}
	o.hold = 1;
	kv(&o, "pid", s->pid);
	kv(&o, "time", s->time);
	kv(&o, "watchdog", s->watchdog);
	kv(&o, "deadline", s->deadline);
	kv(&o, "thawed", s->thawed_at);
	kv(&o, "frozen_ms", s->frozen_ms);
	for (size_t i = 0; i < s->n; i++) {
		out_str(&o, "frozen ");
		out_escaped(&o, s->targets[i]);
		out_chr(&o, '\n');
	}
	ok = o.buf && write(fd, o.buf, o.len) == (ssize_t)o.len;
	ok = !close(fd) && ok && !rename(tmp, path);
	if (!ok) {
		complain_errno(tmp, NULL);
		unlink(tmp);
	}
	free(o.buf);
	free(tmp);
	free(path);
	return ok ? 0 : -1;
}

/* Returns 1 when there is a state file, 0 when there is none, -1 on error. */
int state_read(struct state *s)
{
	char *path = state_path("state"), *p;
	size_t len;
	memset(s, 0, sizeof(*s));
	s->buf = read_file(path, &len);
	if (!s->buf) {
		int missing = errno == ENOENT;
		if (!missing)
			complain_errno(path, NULL);
		free(path);
		return missing ? 0 : -1;
	}
	free(path);
	s->targets = calloc(len / 8 + 1, sizeof(*s->targets));
	if (!s->targets)
		return -1;
	for (p = s->buf; p && *p;) {
		char *line = p, *sp = strchr(line, ' '), *nl = strchr(line, '\n');
		p = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		if (!sp)
			continue;
		*sp++ = 0;
		unsigned long long v = 0;
		if (!strcmp(line, "frozen")) {
			decode_mntname(sp);
			s->targets[s->n++] = sp;
			continue;
		}
		parse_uint(sp, ~0ull, &v);
		if (!strcmp(line, "pid"))
			s->pid = v;
		else if (!strcmp(line, "time"))
			s->time = v;
		else if (!strcmp(line, "watchdog"))
			s->watchdog = v;
		else if (!strcmp(line, "deadline"))
			s->deadline = v;
		else if (!strcmp(line, "thawed"))
			s->thawed_at = v;
		else if (!strcmp(line, "frozen_ms"))
			s->frozen_ms = v;
	}
	return 1;
}

int state_remove(void)
{
	char *path = state_path("state");
	int r = unlink(path);
	if (r && errno == ENOENT)
		r = 0;
	if (r)
		complain_errno(path, NULL);
	free(path);
	return r;
}

void state_free(struct state *s)
{
	free(s->buf);
	free(s->targets);
}
