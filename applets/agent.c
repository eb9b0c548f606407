/* agent: the QEMU guest agent's freeze protocol, for hosts that freeze a
 * guest through it (libvirt, Proxmox, OpenStack).
 *
 * One process per freeze: the agent never freezes anything itself. A freeze
 * request starts `qfs freeze --hold` (this same binary) with its stdin and
 * stdout on pipes and speaks that applet's protocol: "frozen N" or "error:"
 * lines back, "thaw" to release, "thawed N" when done. All freeze state (the
 * mount table, descriptors, the watchdog) lives in that child and dies with
 * it, so the agent's own memory, descriptors and children stay flat however
 * many freezes it serves, and a killed agent closes the child's stdin, which
 * thaws at once. The agent only reads requests (libcommon/json.c) and
 * writes replies, byte for byte as qemu-ga 7.2 does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "qfs.h"

const char agent_usage[] =
	"Usage: qfs agent [-m virtio-serial|isa-serial|unix-listen] [-p PATH] [-t SECONDS]\n"
	"                 [-H HOOK] [--hook-timeout SECONDS] [-f PIDFILE] [-d] [-v]\n"
	"\n"
	"Answer the QEMU guest agent's freeze requests (guest-fsfreeze-freeze, -thaw,\n"
	"-status, -freeze-list, guest-sync, guest-ping, guest-info) from the host.\n"
	"Each freeze is a 'qfs freeze --hold' of its own.\n"
	"\n"
	"  -m, --method METHOD      virtio-serial (default), isa-serial (a tty, set\n"
	"                           raw) or unix-listen (a socket, mode 0600)\n"
	"  -p, --path PATH          the channel (/dev/virtio-ports/org.qemu.guest_agent.0,\n"
	"                           /dev/ttyS0 for isa-serial)\n"
	"  -t, --timeout SECONDS    thaw a freeze the host has not ended after SECONDS\n"
	"                           (600; 0: never); a watchdog also thaws at once if\n"
	"                           the agent dies while frozen\n"
	"  -H, --hook HOOK          as for freeze: HOOK freeze / HOOK thaw (qemu-ga's\n"
	"                           fsfreeze-hook runs unchanged)\n"
	"      --hook-timeout SECONDS  kill a hook still running after SECONDS (60)\n"
	"  -f, --pidfile FILE       write the agent's pid to FILE\n"
	"  -d, --daemonize          run in the background\n"
	"  -v, --verbose            one line per request on stderr\n"
	"\n"
	"Exit codes: 0 stopped by SIGTERM/INT/HUP/QUIT (a freeze is thawed first),\n"
	"1 the channel cannot be opened, 2 usage error.\n";

enum { OPT_HOOK_TIMEOUT = 1 };

static const struct opt opts[] = {
	{"method", 'm', 1},
	{"path", 'p', 1},
	{"timeout", 't', 1},
	{"hook", 'H', 1},
	{"hook-timeout", OPT_HOOK_TIMEOUT, 1},
	{"pidfile", 'f', 1},
	{"daemonize", 'd', 0},
	{"verbose", 'v', 0},
	{0, 0, 0},
};

/* In qemu-ga's guest-info order; the two freezes are disabled while frozen. */
static const char *const cmds[] = {
	"guest-fsfreeze-thaw", "guest-fsfreeze-freeze-list", "guest-fsfreeze-freeze", "guest-fsfreeze-status",
	"guest-info",          "guest-ping",                 "guest-sync",            "guest-sync-delimited",
};
enum { C_THAW, C_LIST, C_FREEZE, C_STATUS, C_INFO, C_PING, C_SYNC, C_SYNCD, NCMDS };

enum { M_VIRTIO, M_ISA, M_UNIX };

static struct {
	int mode, verbose, lsock, chan, hup;
	const char *path, *pidfile, *hook, *timeout, *hook_timeout;
	pid_t child;    /* the freeze being held, or 0 */
	int cin, cout;  /* its stdin's write end, its stdout's read end */
	const char *id; /* the request's "id" member, or NULL */
	struct out rep, desc, name, args;
} g = {
	.lsock = -1,
	.chan = -1,
	.rep = {-1, 0, 0, 0, 0},
	.desc = {-1, 1, 0, 0, 0},
	.name = {-1, 1, 0, 0, 0},
	.args = {-1, 1, 0, 0, 0},
};
static struct jreader rd;

static int key_is(const char *key, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(key + 1, name, n) && key[n + 1] == '"';
}

/* The value of the member whose key is at p, and where the next key is. */
static const char *member(const char *p, const char **next)
{
	const char *v = json_ws(json_ws(json_skip(p)) + 1);
	const char *e = json_ws(json_skip(v));
	*next = *e == ',' ? json_ws(e + 1) : e;
	return v;
}

/* Past the array item at p and its comma. */
static const char *next_item(const char *p)
{
	const char *e = json_ws(json_skip(p));
	return *e == ',' ? json_ws(e + 1) : e;
}

static void say(const char *a)
{
	out_str(&g.desc, a);
}

/* desc = a, the string at src decoded, b */
static void said(const char *a, const char *src, const char *b)
{
	g.desc.len = 0;
	say(a);
	json_unq(&g.desc, src);
	say(b);
}

static void send_reply(void)
{
	g.rep.fd = g.chan;
	out_chr(&g.rep, '\n');
	out_flush(&g.rep);
	g.rep.len = 0;
}

static void log_line(const char *a, const char *b)
{
	if (g.verbose && (!qerr.hold || qerr.len < 8192))
		complain(a, b, NULL);
}

/* {"id": ID, "error": {...}}: the message is g.desc's. */
static void fail(int not_found)
{
	out_str(&g.rep, "{");
	if (g.id) {
		out_str(&g.rep, "\"id\": ");
		json_echo(&g.rep, g.id);
		out_str(&g.rep, ", ");
	}
	out_str(&g.rep, not_found ? "\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
				  : "\"error\": {\"class\": \"GenericError\", \"desc\": ");
	out_chr(&g.desc, 0);
	json_qstr(&g.rep, g.desc.buf);
	out_str(&g.rep, "}}");
	send_reply();
	log_line(g.name.len > 1 ? g.name.buf : "request", g.desc.buf);
}

static void fail_with(const char *msg)
{
	g.desc.len = 0;
	say(msg);
	fail(0);
}

static void ok_begin(void)
{
	out_str(&g.rep, "{\"return\": ");
}

static void ok_end(void)
{
	if (g.id) {
		out_str(&g.rep, ", \"id\": ");
		json_echo(&g.rep, g.id);
	}
	out_chr(&g.rep, '}');
	send_reply();
	log_line(g.name.buf, NULL);
}

static void ok_str(const char *v)
{
	ok_begin();
	out_str(&g.rep, v);
	ok_end();
}

/* One line of the freeze's output (cut to size), or 0 at its end. */
static int child_line(char *line, size_t size)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(g.cout, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n') {
			line[n] = 0;
			return r > 0 || n;
		}
		if (n < size - 1)
			line[n++] = c;
	}
}

/* Reads the freeze's output to its end: the count of its last "WORD N"
 * line into num; its first error, if any, into g.desc after prefix.
 * Then it is gone: reaped, and its pipes closed. */
static int child_end(const char *word, char *num, const char *prefix)
{
	char line[512];
	int err = 0;
	size_t w = strlen(word);
	strcpy(num, "0");
	while (child_line(line, sizeof(line))) {
		if (!strncmp(line, word, w) && line[w] == ' ' && strlen(line + w) < 22) {
			strcpy(num, line + w + 1);
			if (word[0] == 'f')
				return 0;
		} else if (!strncmp(line, "error: ", 7) && !err++) {
			g.desc.len = 0;
			say(prefix);
			say(line + 7);
		}
	}
	close(g.cin);
	close(g.cout);
	waitpid(g.child, NULL, 0);
	g.child = 0;
	out_release(&qerr);
	return err ? -1 : 0;
}

/* Ends the freeze being held: "thaw", then its count. */
static int release(char *num)
{
	if (write(g.cin, "thaw\n", 5) != 5) {
		/* it is gone already: its output says how it ended */
	}
	return child_end("thawed", num, "failed to thaw ");
}

static void start_child(char **argv, int in[2], int out[2])
{
	sigset_t none;
	sigemptyset(&none);
	dup2(in[0], 0);
	dup2(out[1], 1);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static void freeze(const char *list)
{
	static char *argv[JSON_MAX / 3 * 2 + 16];
	char num[24];
	int n = 0, m = 0, in[2], out[2], r;
	argv[n++] = "qfs";
	argv[n++] = "freeze";
	argv[n++] = "--hold";
	if (g.timeout) {
		argv[n++] = "-t";
		argv[n++] = (char *)g.timeout;
	}
	if (g.hook) {
		argv[n++] = "-H";
		argv[n++] = (char *)g.hook;
		argv[n++] = "--hook-timeout";
		argv[n++] = (char *)g.hook_timeout;
	}
	if (list) {
		const char *p = json_ws(list + 1);
		g.args.len = 0;
		for (; *p == '"'; p = next_item(p)) {
			json_unq(&g.args, p);
			out_chr(&g.args, 0);
			argv[n++] = "-m";
			argv[n++] = NULL;
			m++;
		}
		if (!m)
			return ok_str("0");
		/* the strings are where they are now that the buffer stopped growing */
		char *s = g.args.buf;
		for (int i = 1; i < n; i++)
			if (!argv[i]) {
				argv[i] = s;
				s += strlen(s) + 1;
			}
	}
	argv[n] = NULL;
	if (pipe2(in, O_CLOEXEC))
		return fail_with(errstr(errno));
	if (pipe2(out, O_CLOEXEC) || (g.child = fork()) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		if (g.child < 0) {
			close(out[0]);
			close(out[1]);
		}
		g.child = 0;
		return fail_with(errstr(e));
	}
	if (g.child == 0)
		start_child(argv, in, out);
	close(in[0]);
	close(out[1]);
	g.cin = in[1];
	g.cout = out[0];
	r = child_end("frozen", num, "failed to freeze ");
	if (!g.child)
		return r ? fail(0) : fail_with("qfs freeze failed");
	if (!strcmp(num, "0"))
		release(num);
	else {
		/* the agent's own log, if a file, could be on a frozen filesystem */
		struct stat st;
		qerr.hold = !fstat(2, &st) && S_ISREG(st.st_mode);
	}
	ok_str(num);
}

static void thaw(void)
{
	char num[24] = "0";
	if (g.child && release(num))
		return fail(0);
	ok_str(num);
}

static void info(int frozen)
{
	ok_begin();
	out_str(&g.rep, "{\"version\": \"" QFS_VERSION "\", \"supported_commands\": [");
	for (int i = 0; i < NCMDS; i++) {
		out_str(&g.rep, i ? ", {\"enabled\": " : "{\"enabled\": ");
		out_str(&g.rep, frozen && (i == C_LIST || i == C_FREEZE) ? "false" : "true");
		out_str(&g.rep, ", \"name\": \"");
		out_str(&g.rep, cmds[i]);
		out_str(&g.rep, "\", \"success-response\": true}");
	}
	out_str(&g.rep, "]}");
	ok_end();
}

/* guest-sync's id: an integer that fits in 64 bits, written back as qemu-ga
 * reads it ("-0" is 0). */
static void sync_reply(const char *v, int delimited)
{
	unsigned long long n;
	const char *e = scan_uint(v + (*v == '-'), 9223372036854775807ULL + (*v == '-'), &n);
	if (!e || strchr(".eE", *e))
		return fail_with("Invalid parameter type for 'id', expected: integer");
	if (delimited)
		out_chr(&g.rep, (char)0xff);
	ok_begin();
	if (*v == '-' && n)
		out_chr(&g.rep, '-');
	out_num(&g.rep, n);
	ok_end();
}

/* The command's arguments: checked as qemu-ga's generated code checks them,
 * the declared one first, then anything else. */
static void run(int c, const char *args)
{
	const char *want = c == C_SYNC || c == C_SYNCD ? "id" : c == C_LIST ? "mountpoints" : "";
	const char *val = NULL, *extra = NULL;
	for (const char *p = args ? json_ws(args + 1) : ""; *p == '"';) {
		const char *key = p, *v = member(p, &p);
		if (*want && key_is(key, want) && val) {
			g.id = NULL;
			return fail_with("JSON parse error, duplicate key");
		}
		if (*want && key_is(key, want))
			val = v;
		else if (!extra)
			extra = key;
	}
	if (c == C_LIST && val && *val != '[')
		return fail_with("Invalid parameter type for 'mountpoints', expected: array");
	if (c == C_LIST && val) {
		unsigned long long i = 0;
		for (const char *p = json_ws(val + 1); *p != ']'; p = next_item(p), i++) {
			if (*p == '"')
				continue;
			g.desc.len = 0;
			say("Invalid parameter type for 'mountpoints[");
			out_num(&g.desc, i);
			say("]', expected: string");
			return fail(0);
		}
	}
	if (*want == 'i' && !val)
		return fail_with("Parameter 'id' is missing");
	if (extra) {
		said("Parameter '", extra, "' is unexpected");
		return fail(0);
	}
	switch (c) {
	case C_THAW: return thaw();
	case C_LIST: return freeze(val);
	case C_FREEZE: return freeze(NULL);
	case C_STATUS: return ok_str(g.child ? "\"frozen\"" : "\"thawed\"");
	case C_INFO: return info(g.child != 0);
	case C_PING: return ok_str("{}");
	default: return sync_reply(val, c == C_SYNCD);
	}
}

/* A freeze that ended by itself: its -t deadline, or it was killed (its
 * watchdog thawed). */
static void check_child(int ms)
{
	struct pollfd p = {g.cout, POLLIN, 0};
	char num[24];
	if (g.child && poll(&p, 1, ms) > 0)
		child_end("thawed", num, "");
}

static void request(const char *msg)
{
	const char *p = json_ws(msg), *exec = NULL, *args = NULL, *bad = NULL;
	int c;
	g.id = NULL;
	g.name.len = 0;
	check_child(0);
	if (*p != '{')
		return fail_with("QMP input must be a JSON object");
	for (p = json_ws(p + 1); *p == '"';) {
		const char *key = p, *v = member(p, &p);
		const char **slot = key_is(key, "execute") ? &exec : key_is(key, "arguments") ? &args : key_is(key, "id") ? &g.id : NULL;
		if (slot && *slot) {
			g.id = NULL;
			return fail_with("JSON parse error, duplicate key");
		}
		if (slot)
			*slot = v;
		if (bad)
			continue;
		if (!slot)
			bad = key;
		else if ((slot == &exec && *v != '"') || (slot == &args && *v != '{'))
			bad = v;
	}
	if (bad == exec && bad)
		return fail_with("QMP input member 'execute' must be a string");
	if (bad == args && bad)
		return fail_with("QMP input member 'arguments' must be an object");
	if (bad) {
		said("QMP input member '", bad, "' is unexpected");
		return fail(0);
	}
	if (!exec)
		return fail_with("QMP input lacks member 'execute'");
	json_unq(&g.name, exec);
	out_chr(&g.name, 0);
	for (c = 0; c < NCMDS && strcmp(g.name.buf, cmds[c]); c++)
		;
	/* qemu-ga knows more commands than qfs: while frozen, one of its
	 * (guest-...) is disabled there rather than unknown */
	if (c == NCMDS && !(g.child && !strncmp(g.name.buf, "guest-", 6))) {
		said("The command ", exec, " has not been found");
		return fail(1);
	}
	if (g.child && (c == C_LIST || c == C_FREEZE || c == NCMDS)) {
		said("Command ", exec, " has been disabled: the agent is in frozen state");
		return fail(1);
	}
	run(c, args);
}

static void input(void)
{
	char b[4096];
	ssize_t n = read(g.chan, b, sizeof(b));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* the host left: not a reason to thaw; on a port, wait for it */
		json_reset(&rd);
		if (g.mode != M_UNIX) {
			g.hup = 1;
			return;
		}
		close(g.chan);
		g.chan = -1;
		return;
	}
	for (ssize_t i = 0; i < n;) {
		const char *err;
		int again, r = json_feed(&rd, (unsigned char)b[i], &err, &again);
		i += !again;
		if (r == JSON_DONE)
			request(rd.buf);
		if (r == JSON_ERR) {
			g.id = NULL;
			g.name.len = 0;
			fail_with(err);
		}
	}
}

static void client(void)
{
	struct ucred cr = {0, 0, 0};
	socklen_t len = sizeof(cr);
	char num[24];
	int fd = accept4(g.lsock, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || (cr.uid != 0 && cr.uid != geteuid())) {
		num[sizeof(num) - 1] = 0;
		complain("refused a client of uid", fmt_uint(num + sizeof(num) - 1, cr.uid), NULL);
		close(fd);
		return;
	}
	g.chan = fd;
	json_reset(&rd);
}

static _Noreturn void finish(void)
{
	char num[24];
	if (g.child)
		release(num);
	if (g.pidfile)
		unlink(g.pidfile);
	if (g.mode == M_UNIX)
		unlink(g.path);
	quit(EXIT_OK);
}

static void channel(void)
{
	if (g.mode == M_UNIX) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		struct stat st;
		if (strlen(g.path) >= sizeof(a.sun_path))
			die(g.path, "path too long", NULL);
		strcpy(a.sun_path, g.path);
		g.lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (!lstat(g.path, &st) && S_ISSOCK(st.st_mode))
			unlink(g.path);
		/* created 0600, never wider for a moment */
		mode_t old = umask(0177);
		int r = g.lsock < 0 || bind(g.lsock, (struct sockaddr *)&a, sizeof(a)) || listen(g.lsock, 4);
		umask(old);
		if (r)
			die(g.path, errstr(errno), NULL);
		return;
	}
	g.chan = open(g.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (g.chan < 0)
		die(g.path, errstr(errno), NULL);
	struct termios t;
	if (g.mode == M_ISA && !tcgetattr(g.chan, &t)) {
		cfmakeraw(&t);
		tcsetattr(g.chan, TCSANOW, &t);
	}
}

static void background(int daemonize)
{
	if (daemonize) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork", errstr(errno), NULL);
		if (pid > 0)
			_exit(EXIT_OK);
		setsid();
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (isatty(2))
			dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (g.pidfile) {
		char num[24];
		int fd = open(g.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		num[sizeof(num) - 1] = '\n';
		char *s = fmt_uint(num + sizeof(num) - 1, (unsigned long long)getpid());
		if (fd < 0 || write(fd, s, (size_t)(num + sizeof(num) - s)) < 0)
			die(g.pidfile, errstr(errno), NULL);
		close(fd);
	}
}

static _Noreturn void loop(void)
{
	for (;;) {
		struct pollfd p[3] = {
			{sig_fd(), POLLIN, 0},
			{g.hup ? -1 : g.chan >= 0 ? g.chan : g.lsock, POLLIN, 0},
			{g.child ? g.cout : -1, POLLIN, 0},
		};
		/* a port without a host reads as hung up until one comes: look
		 * again twice a second instead of spinning */
		poll(p, 3, g.hup ? 500 : -1);
		g.hup = 0;
		for (int s; (s = sig_wait(-1, 0)) > 0;) {
			if (s == SIGCHLD)
				while (waitpid(-1, NULL, WNOHANG) > 0)
					;
			else if (s != SIGUSR1 && s != SIGUSR2)
				finish();
		}
		if (p[2].revents)
			check_child(0);
		if (p[1].revents && g.chan < 0)
			client();
		else if (p[1].revents)
			input();
	}
}

int agent_main(int argc, char **argv)
{
	static const char *const modes[] = {"virtio-serial", "isa-serial", "unix-listen"};
	struct optstate o;
	struct hooks h = {0};
	int k, daemonize = 0;
	(void)argc;
	g.timeout = "600";
	g.hook_timeout = "60";
	opt_init(&o, argv);
	while ((k = opt_next(&o, opts))) {
		if (k == 'm') {
			for (g.mode = 0; g.mode < 3 && strcmp(o.arg, modes[g.mode]); g.mode++)
				;
			if (g.mode == 3)
				usage_error("unknown method", o.arg);
		} else if (k == 'p') {
			g.path = o.arg;
		} else if (k == 't') {
			g.timeout = strcmp(o.arg, "0") ? (opt_seconds(o.arg), o.arg) : NULL;
		} else if (k == 'H') {
			g.hook = o.arg;
		} else if (k == OPT_HOOK_TIMEOUT) {
			g.hook_timeout = (opt_seconds(o.arg), o.arg);
		} else if (k == 'f') {
			g.pidfile = o.arg;
		} else {
			*(k == 'd' ? &daemonize : &g.verbose) = 1;
		}
	}
	if (o.nops)
		usage_error("unexpected argument", argv[0]);
	if (!g.path && g.mode == M_UNIX)
		usage_error("-m unix-listen", "needs -p PATH");
	if (!g.path)
		g.path = g.mode == M_ISA ? "/dev/ttyS0" : "/dev/virtio-ports/org.qemu.guest_agent.0";
	if (g.hook && hook_load(&h, g.hook))
		return EXIT_FAIL;
	if (sig_setup())
		die("signalfd", errstr(errno), NULL);
	channel();
	background(daemonize);
	loop();
}
