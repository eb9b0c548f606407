/* hvvss: the guest kernel's side of Hyper-V's VSS channel, and the host
 * behind it, for tests where no Hyper-V host is reachable.
 *
 * A CUSE server (the FUSE protocol on /dev/cuse, no library) that creates
 * /dev/vmbus/hv_vss and answers as Linux's drivers/hv/hv_utils_transport.c
 * and hv_snapshot.c do: one opener (EBUSY for a second), every write 12
 * bytes (EINVAL otherwise), REGISTER1 answered with the 4-byte version 129,
 * one whole message per read (EINVAL for a smaller buffer), a blocking read
 * and poll, EINVAL for a reply nobody waits for (after the timeout), and on
 * close a reset that fails the pending transaction. The host is played from
 * the command file (a FIFO), one command a line:
 *   FREEZE | THAW | HOT_BACKUP   send the request; answered when the daemon
 *                                replies, the timeout passes or it closes
 *   fail-read | fail-write       the daemon's next read or write gets EIO
 *   refuse MS                    opens fail with EIO for MS milliseconds
 *   opens | registered           how many opens were tried; "yes" or "no"
 * Each command's answer is one line "= ..." on stdout; events are "# ...".
 *
 * usage: hvvss [-f FREEZE_MS] [-t MS] COMMAND_FILE (HVVSS_DEVNAME: another name)
 * (the kernel's timeouts: 15 minutes for FREEZE, 30 s for the others) */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OP_HOT_BACKUP = 2, OP_FREEZE = 5, OP_THAW = 6, OP_REGISTER = 128, OP_REGISTER1 = 129 };
enum { HBU_NO_AUTO_RECOVERY = 5 };
#define HV_E_FAIL 0x80004005U

/* hv_snapshot.c's transaction states, as far as the daemon sees them */
enum { DEVICE_INIT, READY, USERSPACE_REQ };

static struct {
	int cuse, cmd;
	long freeze_ms, other_ms;
	int opened, state, op; /* op: the host's request being served, or -1 */
	long deadline, refuse_until;
	unsigned char out[12]; /* the message the daemon has yet to read */
	size_t outlen;
	int reading; /* a read waits for a message */
	uint64_t read_unique, poll_kh;
	uint32_t read_size;
	int poll_waits;
	int fail_read, fail_write, opens;
} k = {.freeze_ms = 15 * 60 * 1000, .other_ms = 30 * 1000, .op = -1};

static const char *op_name(int op)
{
	return op == OP_FREEZE ? "FREEZE" : op == OP_THAW ? "THAW" : op == OP_HOT_BACKUP ? "HOT_BACKUP" : "?";
}

static long now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void say(const char *fmt, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(b) - 2)
		n = sizeof(b) - 2;
	b[n++] = '\n';
	if (write(1, b, (size_t)n) < 0)
		exit(1);
}

/* A reply to the kernel: error (negative errno) or the payload. */
static void reply(uint64_t unique, int error, const void *data, size_t len)
{
	unsigned char b[sizeof(struct fuse_out_header) + 256];
	struct fuse_out_header h = {(uint32_t)(sizeof(h) + (error ? 0 : len)), error, unique};
	memcpy(b, &h, sizeof(h));
	if (!error && len)
		memcpy(b + sizeof(h), data, len);
	if (write(k.cuse, b, h.len) < 0 && errno != ENOENT)
		say("# reply failed: %s", strerror(errno));
}

/* The host hears back: hv_snapshot.c's vss_respond_to_host. */
static void to_host(unsigned error, const char *why)
{
	say("= %s: %s%s", op_name(k.op), error == 0 ? "HV_S_OK" : error == HV_E_FAIL ? "HV_E_FAIL" : "other", why);
	k.op = -1;
	k.deadline = 0;
	if (k.state > READY)
		k.state = READY;
}

/* A read that waited, or a poll that asked to be told, gets the message. */
static void deliver(void)
{
	if (!k.outlen)
		return;
	if (k.reading) {
		k.reading = 0;
		if (k.read_size < k.outlen)
			return reply(k.read_unique, -EINVAL, NULL, 0);
		reply(k.read_unique, 0, k.out, k.outlen);
		k.outlen = 0;
		return;
	}
	if (k.poll_waits) {
		struct fuse_out_header h = {sizeof(h) + sizeof(uint64_t), FUSE_NOTIFY_POLL, 0};
		unsigned char b[sizeof(h) + sizeof(uint64_t)];
		memcpy(b, &h, sizeof(h));
		memcpy(b + sizeof(h), &k.poll_kh, sizeof(k.poll_kh));
		k.poll_waits = 0;
		if (write(k.cuse, b, sizeof(b)) < 0)
			say("# poll notify failed: %s", strerror(errno));
	}
}

/* hvutil_transport_send */
static int send_daemon(const void *msg, size_t len)
{
	if (!k.opened)
		return -EINVAL;
	if (k.outlen)
		return -EFAULT;
	memcpy(k.out, msg, len);
	k.outlen = len;
	deliver();
	return 0;
}

/* vss_on_msg: what the daemon wrote */
static int on_msg(const unsigned char *msg, size_t len)
{
	uint32_t version = OP_REGISTER1, flags;
	int32_t error;
	if (len != 12) {
		say("# write of %zu bytes: EINVAL", len);
		return -EINVAL;
	}
	if (msg[0] == OP_REGISTER || msg[0] == OP_REGISTER1) {
		if (k.state > READY) {
			say("# register during a transaction: EINVAL");
			return -EINVAL;
		}
		k.state = READY;
		say("# register %d", msg[0]);
		if (msg[0] == OP_REGISTER1 && send_daemon(&version, sizeof(version)))
			return -EFAULT;
		return 0;
	}
	if (k.state != USERSPACE_REQ || k.op < 0) {
		say("# reply with no request waiting: EINVAL");
		return -EINVAL;
	}
	memcpy(&error, msg, sizeof(error));
	memcpy(&flags, msg + 8, sizeof(flags));
	say("# reply to %s: error 0x%x flags %u", op_name(k.op), (unsigned)error, flags);
	/* for HOT_BACKUP the kernel itself tells the host no auto-recovery */
	to_host((unsigned)error, k.op == OP_HOT_BACKUP ? " flags 5" : "");
	return 0;
}

/* hvt_reset and vss_on_reset: the device closed */
static void reset(void)
{
	k.outlen = 0;
	k.reading = k.poll_waits = 0;
	if (k.op >= 0)
		to_host(HV_E_FAIL, " (closed)");
	k.state = DEVICE_INIT;
}

static void cuse_init(uint64_t unique, const struct cuse_init_in *in)
{
	static const char info[] = "DEVNAME=vmbus/hv_vss";
	const char *name = getenv("HVVSS_DEVNAME");
	unsigned char b[sizeof(struct cuse_init_out) + 128];
	struct cuse_init_out o = {
		.major = FUSE_KERNEL_VERSION, .minor = in->minor, .max_read = 65536, .max_write = 65536};
	size_t n = sizeof(info);
	memcpy(b, &o, sizeof(o));
	if (name && strlen(name) < 100)
		n = (size_t)sprintf((char *)b + sizeof(o), "DEVNAME=%s", name) + 1;
	else
		memcpy(b + sizeof(o), info, n);
	reply(unique, 0, b, sizeof(o) + n);
}

static void request(unsigned char *b, size_t len)
{
	struct fuse_in_header *h = (struct fuse_in_header *)b;
	void *arg = b + sizeof(*h);
	if (len < sizeof(*h))
		return;
	switch (h->opcode) {
	case CUSE_INIT: return cuse_init(h->unique, arg);
	case FUSE_OPEN: {
		struct fuse_open_out o = {1, 0, 0};
		k.opens++;
		if (now() < k.refuse_until) {
			say("# open refused: EIO");
			return reply(h->unique, -EIO, NULL, 0);
		}
		if (k.opened) {
			say("# second open: EBUSY");
			return reply(h->unique, -EBUSY, NULL, 0);
		}
		k.opened = 1;
		say("# open");
		return reply(h->unique, 0, &o, sizeof(o));
	}
	case FUSE_READ: {
		const struct fuse_read_in *r = arg;
		if (k.fail_read) {
			k.fail_read = 0;
			say("# read: EIO (fault)");
			return reply(h->unique, -EIO, NULL, 0);
		}
		k.reading = 1;
		k.read_unique = h->unique;
		k.read_size = r->size;
		return deliver();
	}
	case FUSE_WRITE: {
		const struct fuse_write_in *w = arg;
		struct fuse_write_out o = {w->size, 0};
		if (k.fail_write) {
			k.fail_write = 0;
			say("# write: EIO (fault)");
			return reply(h->unique, -EIO, NULL, 0);
		}
		int rc = on_msg((unsigned char *)(w + 1), w->size);
		return reply(h->unique, rc, &o, sizeof(o));
	}
	case FUSE_POLL: {
		const struct fuse_poll_in *p = arg;
		struct fuse_poll_out o = {k.outlen ? POLLIN | POLLRDNORM : 0, 0};
		if (!o.revents && (p->flags & FUSE_POLL_SCHEDULE_NOTIFY)) {
			k.poll_waits = 1;
			k.poll_kh = p->kh;
		}
		return reply(h->unique, 0, &o, sizeof(o));
	}
	case FUSE_INTERRUPT: {
		const struct fuse_interrupt_in *i = arg;
		if (k.reading && k.read_unique == i->unique) {
			k.reading = 0;
			reply(k.read_unique, -EINTR, NULL, 0);
		}
		return;
	}
	case FUSE_FLUSH: return reply(h->unique, 0, NULL, 0);
	case FUSE_RELEASE:
		say("# close");
		k.opened = 0;
		reset();
		return reply(h->unique, 0, NULL, 0);
	default: return reply(h->unique, -ENOSYS, NULL, 0);
	}
}

/* The host asks: hv_snapshot.c's vss_handle_request and vss_send_op. */
static void host_request(int op)
{
	unsigned char msg[12] = {(unsigned char)op};
	if (k.op >= 0)
		return say("= %s: busy", op_name(op));
	k.op = op;
	if (k.state < READY)
		return to_host(HV_E_FAIL, " (no daemon)");
	k.state = USERSPACE_REQ;
	k.deadline = now() + (op == OP_FREEZE ? k.freeze_ms : k.other_ms);
	if (send_daemon(msg, sizeof(msg)))
		to_host(HV_E_FAIL, " (not sent)");
}

static void command(char *line)
{
	long n = 0;
	if (!strcmp(line, "FREEZE"))
		return host_request(OP_FREEZE);
	if (!strcmp(line, "THAW"))
		return host_request(OP_THAW);
	if (!strcmp(line, "HOT_BACKUP"))
		return host_request(OP_HOT_BACKUP);
	if (!strcmp(line, "fail-read"))
		k.fail_read = 1;
	else if (!strcmp(line, "fail-write"))
		k.fail_write = 1;
	else if (sscanf(line, "refuse %ld", &n) == 1)
		k.refuse_until = now() + n;
	else if (!strcmp(line, "opens"))
		return say("= opens %d", k.opens);
	else if (!strcmp(line, "registered"))
		return say("= %s", k.opened && k.state >= READY ? "yes" : "no");
	else
		return say("= unknown command: %s", line);
	say("= ok");
}

static void commands(void)
{
	static char buf[512];
	static size_t len;
	ssize_t r = read(k.cmd, buf + len, sizeof(buf) - 1 - len);
	if (r <= 0)
		return;
	len += (size_t)r;
	for (char *nl; (nl = memchr(buf, '\n', len));) {
		*nl = 0;
		command(buf);
		len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, len);
	}
	if (len == sizeof(buf) - 1)
		len = 0;
}

int main(int argc, char **argv)
{
	static unsigned char b[FUSE_MIN_READ_BUFFER + 65536];
	int c;
	while ((c = getopt(argc, argv, "f:t:")) != -1) {
		if (c == 'f')
			k.freeze_ms = atol(optarg);
		else if (c == 't')
			k.other_ms = atol(optarg);
		else
			return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: hvvss [-f FREEZE_MS] [-t MS] COMMAND_FILE\n");
		return 2;
	}
	k.cmd = open(argv[optind], O_RDWR | O_NONBLOCK);
	k.cuse = open("/dev/cuse", O_RDWR);
	if (k.cmd < 0 || k.cuse < 0) {
		perror(k.cmd < 0 ? argv[optind] : "/dev/cuse");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = {{k.cuse, POLLIN, 0}, {k.cmd, POLLIN, 0}};
		long left = k.deadline ? k.deadline - now() : -1;
		if (k.deadline && left <= 0) {
			say("# %s: no reply in time", op_name(k.op));
			to_host(HV_E_FAIL, " (timeout)");
			continue;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return 1;
		if (p[1].revents)
			commands();
		if (p[0].revents) {
			ssize_t r = read(k.cuse, b, sizeof(b));
			if (r < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
				continue;
			if (r <= 0) {
				say("# /dev/cuse: %s", r ? strerror(errno) : "end");
				return 1;
			}
			request(b, (size_t)r);
		}
	}
}
