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
 * writes replies, byte for byte as qemu-ga 7.2 does to what hosts send
 * (README: the differences, in ids and error texts). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "qfs.h"

const char agent_usage[] =
	"Usage: qfs agent [-m METHOD] [-p PATH] [-t SECS] [-H HOOK] [-f FILE] [-b LIST] [-dv]\n"
	"Answer QEMU guest agent requests: --method virtio-serial (default),\n"
	"isa-serial, unix-listen, hyperv; --path; --timeout (600; 0 never); --hook;\n"
	"--hook-timeout (60); --pidfile; --block-rpcs; --daemonize; --verbose.\n"
	"Exit codes: 0 signal; 1 no channel; 2 usage.\n";

enum { OPT_HOOK_TIMEOUT = 1 };

static const struct opt opts[] = {
	{"method", 'm', 1},
	{"path", 'p', 1},
	{"timeout", 't', 1},
	{"hook", 'H', 1},
	{"hook-timeout", OPT_HOOK_TIMEOUT, 1},
	{"pidfile", 'f', 1},
	{"block-rpcs", 'b', 1},
	{"daemonize", 'd', 0},
	{"verbose", 'v', 0},
	{0, 0, 0},
};

/* In qemu-ga's guest-info order. */
static const char cmds[] =
	"guest-get-osinfo\0"
	"guest-get-timezone\0"
	"guest-get-users\0"
	"guest-get-host-name\0"
	"guest-get-fsinfo\0"
	"guest-network-get-interfaces\0"
	"guest-fsfreeze-thaw\0"
	"guest-fsfreeze-freeze-list\0"
	"guest-fsfreeze-freeze\0"
	"guest-fsfreeze-status\0"
	"guest-shutdown\0"
	"guest-info\0"
	"guest-get-time\0"
	"guest-ping\0"
	"guest-sync\0"
	"guest-sync-delimited";
enum {
	C_OSINFO,
	C_TZ,
	C_USERS,
	C_HOST,
	C_FSINFO,
	C_IFACES,
	C_THAW,
	C_LIST,
	C_FREEZE,
	C_STATUS,
	C_SHUTDOWN,
	C_INFO,
	C_TIME,
	C_PING,
	C_SYNC,
	C_SYNCD,
	NCMDS
};
/* What qemu-ga still answers while frozen */
enum { FROZEN_OK = 1 << C_THAW | 1 << C_STATUS | 1 << C_INFO | 1 << C_PING | 1 << C_SYNC | 1 << C_SYNCD };

enum { M_VIRTIO, M_ISA, M_UNIX, M_HYPERV };
static const char *const methods[] = {"virtio-serial", "isa-serial", "unix-listen", "hyperv"};

static struct {
	int mode, verbose, lsock, chan, hup, nargs;
	unsigned blocked; /* bit c: command c is disabled by -b */
	const char *path, *pidfile;
	struct child ch; /* the freeze being held: pid 0 if none */
	const char *id;  /* the request's "id" member, or NULL */
	struct out rep, desc, name;
} g;
static struct jreader rd;

/* Zeroed, but for these: no channel yet; desc and name only ever buffers */
static void init(void)
{
	g.lsock = g.chan = g.rep.fd = -1;
	g.desc.hold = g.name.hold = g.rep.hold = 1;
}
/* qfs freeze --hold and its options, then -m per mount point of a list */
static char *argv_[9 + JSON_MAX / 3 * 2 + 16];

static int key_is(const char *key, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(key + 1, name, n) && key[n + 1] == '"';
}

/* Past the item at p (a member's value, an array's element) and its comma. */
static const char *next(const char *p)
{
	p = json_skip(p);
	return p + (*p == ',');
}

/* desc = a, the string at src decoded, b */
static void said(const char *a, const char *src, const char *b)
{
	g.desc.len = 0;
	out_str(&g.desc, a);
	if (src)
		json_unq(&g.desc, src);
	out_str(&g.desc, b);
	out_chr(&g.desc, 0);
}

/* Standard error is a log file (held while frozen, kept by -d). */
static int err_is_file(void)
{
	struct stat st;
	return !fstat(2, &st) && S_ISREG(st.st_mode);
}

static void reply_end(const char *log)
{
	g.rep.fd = g.chan;
	out_chr(&g.rep, '\n');
	/* held until whole: an error half-way takes back what was written */
	out_release(&g.rep);
	g.rep.hold = 1;
	/* held while frozen: the log may be a file there */
	if (g.verbose && (!qerr.hold || qerr.len < 8192))
		complain(g.name.len > 1 ? g.name.buf : "request", log, NULL);
	g.id = NULL;
	g.name.len = 0;
}

static void fail(const char *class)
{
	out_chr(&g.rep, '{');
	if (g.id)
		json_fmt(&g.rep, "\"id\": %e, ", g.id);
	json_fmt(&g.rep, "\"error\": {\"class\": \"%s\", \"desc\": %j}}", class, g.desc.buf);
	reply_end(g.desc.buf);
}

static void generic(const char *a, const char *src, const char *b)
{
	said(a, src, b);
	fail("GenericError");
}

/* The end of {"return": V, "id": ID} */
static void ok_tail(void)
{
	if (g.id)
		json_fmt(&g.rep, ", \"id\": %e", g.id);
	out_chr(&g.rep, '}');
	reply_end(NULL);
}

static void ok(const char *v)
{
	json_fmt(&g.rep, "{\"return\": %s", v);
	ok_tail();
}

static int child_end(const char *word, char *num, const char *prefix)
{
	return child_read(&g.ch, word, num, &g.desc, prefix);
}

/* The wait for the freeze child's answer ends at the -t deadline, or at a
 * fixed bound for -t 0 (no deadline), so that the agent stays responsive. */
static void bound(void)
{
	unsigned long long t = 0;
	parse_uint(argv_[6], ~0ull, &t);
	g.ch.until = now_s() + (t ? t : 600) + 1;
}

static int release(char *num)
{
	return child_release(&g.ch, num, &g.desc);
}

/* list: the mountpoints array, or NULL for all */
static void freeze(char *list)
{
	char num[24];
	int n = g.nargs;
	if (list) {
		/* decoded where they are: a name never grows */
		for (char *s = list + 1, *nx; *s == '"'; s = nx) {
			nx = (char *)next(s);
			g.desc.len = 0;
			json_unq(&g.desc, s);
			out_chr(&g.desc, 0);
			argv_[n++] = "-m";
			argv_[n++] = memcpy(s, g.desc.buf, g.desc.len);
		}
		if (n == g.nargs)
			return ok("0");
	}
	argv_[n] = NULL;
	if (child_start(&g.ch, argv_)) {
		said(errstr(errno), NULL, "");
		return fail("GenericError");
	}
	said("qfs freeze failed", NULL, "");
	bound();
	int bad = child_end("frozen ", num, "failed to freeze ");
	g.ch.until = 0;
	if (bad || !g.ch.pid)
		return fail("GenericError");
	if (!strcmp(num, "0")) {
		release(num);
	} else {
		qerr.hold = err_is_file();
	}
	ok(num);
}

static void info(void)
{
	out_str(&g.rep, "{\"return\": {\"version\": \"" QFS_VERSION "\", \"supported_commands\": [");
	const char *name = cmds;
	for (int i = 0; i < NCMDS; i++, name += strlen(name) + 1) {
		json_fmt(&g.rep, "%s{\"enabled\": %s, \"name\": \"%s\", \"success-response\": %s}", i ? ", " : "",
			 (g.ch.pid && !(FROZEN_OK >> i & 1)) || g.blocked >> i & 1 ? "false" : "true", name,
			 i == C_SHUTDOWN ? "false" : "true");
	}
	out_str(&g.rep, "]}");
	ok_tail();
}

/* The guest.c command c answers: its value, or qemu-ga's error */
static void facts(int c)
{
	static void (*const get[])(struct out *) = {guest_osinfo, guest_timezone, guest_users, guest_hostname};
	const char *bad = NULL;
	out_str(&g.rep, "{\"return\": ");
	if (c == C_FSINFO)
		bad = guest_fsinfo(&g.rep);
	else if (c == C_IFACES)
		bad = guest_interfaces(&g.rep) ? "" : NULL;
	else
		(c == C_TIME ? guest_time : get[c])(&g.rep);
	if (!bad)
		return ok_tail();
	g.rep.len = 0;
	g.desc.len = 0;
	json_fmt(&g.desc, *bad ? "realpath(\"%s\"): %s" : "getifaddrs failed%s: %s", bad, errstr(errno));
	out_chr(&g.desc, 0);
	fail("GenericError");
}

/* guest-shutdown: /sbin/shutdown as qemu-ga runs it; without it (busybox,
 * an initramfs) poweroff, halt or reboot from $PATH; without those the
 * system call. No reply once it has started: the command has none. */
static void power(const char *mode)
{
	static const char *const modes[] = {"powerdown", "halt", "reboot"}, *const progs[] = {"poweroff", "halt",
											      "reboot"};
	char flag[3] = {'-', 'P', 0}, num[24];
	int k = 0, st = 0;
	if (mode) {
		said("", mode, "");
		while (k < 3 && strcmp(g.desc.buf, modes[k]) != 0)
			k++;
		if (k == 3)
			return generic("mode is invalid (valid values are: halt|powerdown|reboot", NULL, "");
		flag[1] = "PHr"[k];
	}
	if (g.ch.pid)
		release(num);
	char *argv[] = {"/sbin/shutdown", flag, "+0", "hypervisor initiated shutdown", NULL};
	const int fd[3] = {SPAWN_NULL, SPAWN_NULL, SPAWN_NULL};
	pid_t pid = spawn(argv, environ, fd, SPAWN_SETSID);
	if (pid < 0 && errno == ENOENT) {
		argv[0] = (char *)progs[k];
		argv[1] = NULL;
		pid = spawn(argv, environ, fd, SPAWN_SETSID | SPAWN_PATH);
	}
	if (pid < 0 && errno == ENOENT) {
#ifdef QFS_FAULT_INJECTION
		errno = EPERM; /* the test build never touches this machine's power */
#else
		sync();
		reboot((int)(k == 0 ? RB_POWER_OFF : k == 1 ? RB_HALT_SYSTEM : RB_AUTOBOOT));
#endif
	}
	if (pid < 0)
		return generic("failed to create child process: ", NULL, errstr(errno));
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return generic("child process has failed to shutdown", NULL, "");
	g.id = NULL;
	g.name.len = 0;
}

/* The command named by the n bytes at s: its number, or NCMDS */
static int cmd_find(const char *s, size_t n)
{
	const char *name = cmds;
	int c = 0;
	for (; c < NCMDS && (strlen(name) != n || strncmp(name, s, n) != 0); c++)
		name += strlen(name) + 1;
	return c;
}

/* -b: each name of the comma-separated list that qfs knows */
static void block(const char *p)
{
	for (; p; p = strchr(p, ','), p += !!p) {
		int c = cmd_find(p, (size_t)(strchrnul(p, ',') - p));
		if (c < NCMDS)
			g.blocked |= 1u << c;
	}
}

/* guest-sync's id: an integer that fits in 64 bits, written back as it
 * came but "-0" as 0, as qemu-ga reads it. */
static const char bad_type[] = "Invalid parameter type for '";

static void sync_id(const char *key, const char *v, int delimited)
{
	unsigned long long n;
	const char *e = scan_uint(v + (*v == '-'), 9223372036854775807ULL + (*v == '-'), &n);
	if (!e || *e == '.' || (*e | 32) == 'e')
		return generic(bad_type, key, "', expected: integer");
	if (delimited)
		out_chr(&g.rep, (char)0xff);
	json_fmt(&g.rep, "{\"return\": %e", v);
	ok_tail();
}

/* The command's arguments, checked as qemu-ga's generated code checks
 * them: the declared one first, then anything else. */
static void run(int c, char *args)
{
	const char *want = c >= C_SYNC ? "id" : c == C_LIST ? "mountpoints" : c == C_SHUTDOWN ? "mode" : "\"";
	char *val = NULL;
	const char *extra = NULL, *vkey = NULL;
	for (char *p = args ? args + 1 : ""; *p == '"';) {
		char *key = p, *v = (char *)json_skip(p) + 1;
		p = (char *)next(v);
		if (!key_is(key, want))
			extra = extra ? extra : key;
		else if (!val)
			val = v, vkey = key;
	}
	if (c == C_LIST && val) {
		const char *p = *val == '[' ? val + 1 : "";
		while (*p == '"')
			p = next(p);
		if (*p != ']')
			return generic(bad_type, vkey, *val == '[' ? "[]', expected: string" : "', expected: array");
	}
	if (c == C_SHUTDOWN && val && *val != '"')
		return generic(bad_type, vkey, "', expected: string");
	if (c >= C_SYNC && !val)
		return generic("Parameter 'id' is missing", NULL, "");
	if (extra)
		return generic("Parameter '", extra, "' is unexpected");
	char num[24] = "0";
	switch (c) {
	case C_THAW:
		if (g.ch.pid && release(num))
			return fail("GenericError");
		return ok(num);
	case C_LIST: return freeze(val);
	case C_FREEZE: return freeze(NULL);
	case C_STATUS: return ok(g.ch.pid ? "\"frozen\"" : "\"thawed\"");
	case C_INFO: return info();
	case C_PING: return ok("{}");
	case C_SYNC:
	case C_SYNCD: return sync_id(vkey, val, c == C_SYNCD);
	case C_SHUTDOWN: return power(val);
	default: return facts(c);
	}
}

/* A freeze that ended by itself: its -t deadline (the kernel log says so,
 * as the watchdog's thaws do), or it was killed (its watchdog thawed). */
static void check_child(void)
{
	struct pollfd p = {g.ch.out, POLLIN, 0};
	char num[24];
	unsigned long long n = 0;
	if (g.ch.pid && poll(&p, 1, 0) > 0) {
		child_end("thawed ", num, "");
		/* a killed freeze says nothing: its watchdog logs */
		if (!parse_uint(num, ~0ULL, &n) && n)
			kmsg("agent", n, "the host did not thaw by -t", 1);
	}
}

static void request(char *p)
{
	char *exec = NULL, *args = NULL, *bad = NULL;
	const char *why = "";
	int c;
	check_child();
	if (*p != '{')
		return generic("QMP input must be a JSON object", NULL, "");
	for (p++; *p == '"';) {
		char *key = p, *v = (char *)json_skip(p) + 1;
		char **slot = key_is(key, "execute") ? &exec : key_is(key, "arguments") ? &args : NULL;
		p = (char *)next(v);
		if (key_is(key, "id")) {
			g.id = g.id ? g.id : v;
			continue;
		}
		if (slot && *slot)
			continue;
		if (slot)
			*slot = v;
		if (!bad && (!slot || *v != (slot == &exec ? '"' : '{'))) {
			bad = key;
			why = !slot ? "' is unexpected" : slot == &exec ? "' must be a string" : "' must be an object";
		}
	}
	if (bad)
		return generic("QMP input member '", bad, why);
	if (!exec)
		return generic("QMP input lacks member 'execute'", NULL, "");
	json_unq(&g.name, exec);
	out_chr(&g.name, 0);
	c = cmd_find(g.name.buf, g.name.len - 1);
	/* qemu-ga knows more commands than qfs: while frozen, one of its
	 * (guest-...) is disabled there rather than unknown */
	if (c == NCMDS && !(g.ch.pid && !strncmp(g.name.buf, "guest-", 6))) {
		said("The command ", exec, " has not been found");
		return fail("CommandNotFound");
	}
	if ((g.ch.pid && (c == NCMDS || !(FROZEN_OK >> c & 1))) || g.blocked >> c & 1) {
		said("Command ", exec,
		     g.ch.pid && !(FROZEN_OK >> c & 1) ? " has been disabled: the agent is in frozen state"
						       : " has been disabled");
		return fail("CommandNotFound");
	}
	run(c, args);
}

static void feed(const char *b, ssize_t n)
{
	for (ssize_t i = 0; i < n;) {
		const char *err;
		int again, r = json_feed(&rd, (unsigned char)b[i], &err, &again);
		i += !again;
		if (r == JSON_DONE)
			request(rd.buf);
		if (r == JSON_ERR)
			generic(err, NULL, "");
	}
}

static void input(void)
{
	char b[4096];
	/* a device that fails: opened again twice a second */
	if (g.mode == M_HYPERV) {
		bound();
		if (hyperv_request(g.chan, &g.ch, argv_, &g.desc)) {
			g.chan = -1;
			g.hup = 1;
		}
		g.ch.until = 0;
		return;
	}
	ssize_t n = read(g.chan, b, sizeof(b));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0)
		return feed(b, n);
	/* the host left: not a reason to thaw; on a port, wait for it */
	json_reset(&rd);
	g.hup = g.mode != M_UNIX;
	if (!g.hup) {
		close(g.chan);
		g.chan = -1;
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
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || (cr.uid && cr.uid != geteuid())) {
		num[23] = 0;
		complain("refused a client of uid", fmt_uint(num + 23, cr.uid), NULL);
		close(fd);
		return;
	}
	g.chan = fd;
	json_reset(&rd);
}

static _Noreturn void finish(void)
{
	char num[24];
	if (g.ch.pid)
		release(num);
	if (g.pidfile)
		unlink(g.pidfile);
	if (g.mode == M_UNIX)
		unlink(g.path);
	quit(EXIT_OK);
}

static void channel(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct termios t;
	if (g.mode != M_UNIX) {
		g.chan = g.mode == M_HYPERV ? hyperv_open(g.path) : open(g.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (g.chan < 0)
			die(g.path, errstr(errno), NULL);
		/* libc's: glibc's struct termios is not the kernel's everywhere */
		if (g.mode == M_ISA && !tcgetattr(g.chan, &t)) {
			cfmakeraw(&t);
			tcsetattr(g.chan, TCSANOW, &t);
		}
		return;
	}
	if (strlen(g.path) >= sizeof(a.sun_path))
		die(g.path, errstr(ENAMETOOLONG), NULL);
	strcpy(a.sun_path, g.path);
	unlink(g.path);
	/* created 0600, never wider for a moment */
	mode_t old = umask(0177);
	g.lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g.lsock < 0 || bind(g.lsock, (struct sockaddr *)&a, sizeof(a)) || listen(g.lsock, 4))
		die(g.path, errstr(errno), NULL);
	umask(old);
}

static void background(int daemonize)
{
	char num[24];
	int fd;
	pid_t pid = 0;
	if (daemonize) {
		pid = _Fork();
		if (pid < 0)
			die("fork", errstr(errno), NULL);
	}
	if (!pid && daemonize) {
		setsid();
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		/* a log file stays; a terminal or a caller's pipe must not */
		if (!err_is_file())
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
		return;
	}
	/* the pidfile exists when the starting process ends (an init script
	 * reads it at once), so the parent writes it: the child's pid */
	if (g.pidfile) {
		num[23] = '\n';
		char *s = fmt_uint(num + 23, (unsigned long long)(pid ? pid : getpid()));
		fd = open(g.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, s, (size_t)(num + 24 - s)) < 0) {
			if (pid)
				kill(pid, SIGTERM);
			die(g.pidfile, errstr(errno), NULL);
		}
		close(fd);
	}
	if (pid)
		_exit(EXIT_OK);
}

static _Noreturn void loop(void)
{
	for (;;) {
		struct pollfd p[3] = {
			{sig_fd(), POLLIN, 0},
			{g.hup         ? -1
			 : g.chan >= 0 ? g.chan
				       : g.lsock,
			 POLLIN, 0},
			{g.ch.pid ? g.ch.out : -1, POLLIN, 0},
		};
		/* a port without a host reads as hung up until one comes: look
		 * again twice a second instead of spinning */
		poll(p, 3, g.hup ? 500 : -1);
		g.hup = 0;
		if (g.mode == M_HYPERV && g.chan < 0)
			g.hup = (g.chan = hyperv_open(g.path)) < 0;
		for (int s; (s = sig_wait(-1, 0)) > 0;) {
			if (s == SIGCHLD)
				while (waitpid(-1, NULL, WNOHANG) > 0)
					;
			else if (s != SIGUSR1 && s != SIGUSR2)
				finish();
		}
		if (p[2].revents)
			check_child();
		if (p[1].revents)
			g.chan < 0 ? client() : input();
		/* a signal that came while a freeze was awaited */
		if (g.ch.sig)
			finish();
	}
}

int agent_main(int argc, char **argv)
{
	struct optstate o;
	struct hooks h = {0};
	static const char *const hold[] = {"/proc/self/exe", "freeze", "--hold", "--hook-timeout", "60", "-t", "600"};
	const char *hook = NULL;
	int k, daemonize = 0;
	(void)argc;
	memcpy(argv_, hold, sizeof(hold));
	init();
	opt_init(&o, argv);
	while ((k = opt_next(&o, opts))) {
		if (k == 'm') {
			for (g.mode = 0; strcmp(o.arg, methods[g.mode]) != 0;)
				if (++g.mode > M_HYPERV)
					usage_error("unknown method", o.arg);
		} else if (k == 'p') {
			g.path = o.arg;
		} else if (k == 't' || k == OPT_HOOK_TIMEOUT) {
			/* -t 0 is allowed here: no deadline */
			if (k != 't' || strcmp(o.arg, "0") != 0)
				opt_seconds(o.arg);
			argv_[k == 't' ? 6 : 4] = (char *)o.arg;
		} else if (k == 'H') {
			hook = o.arg;
		} else if (k == 'f') {
			g.pidfile = o.arg;
		} else if (k == 'b') {
			block(o.arg);
		} else {
			*(k == 'd' ? &daemonize : &g.verbose) = 1;
		}
	}
	if (o.nops)
		usage_error("unexpected argument", argv[0]);
	if (!g.path && g.mode == M_UNIX)
		usage_error("-m unix-listen", "needs -p PATH");
	if (!g.path)
		g.path = g.mode == M_ISA      ? "/dev/ttyS0"
			 : g.mode == M_HYPERV ? "/dev/vmbus/hv_vss"
					      : "/dev/virtio-ports/org.qemu.guest_agent.0";
	if (hook && hook_load(&h, hook))
		return EXIT_FAIL;
	g.nargs = strcmp(argv_[6], "0") ? 7 : 5;
	if (hook) {
		argv_[g.nargs++] = "-H";
		argv_[g.nargs++] = (char *)hook;
	}
	if (sig_setup())
		die("signalfd", errstr(errno), NULL);
	channel();
	background(daemonize);
	loop();
}
