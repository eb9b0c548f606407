/* What the guest agent tells a host about this machine, as JSON values in
 * qemu-ga 7.2's shapes: read from the kernel's own files (/proc, /sys,
 * rtnetlink) and libc, never by running a program. Members come in the
 * order qemu-ga writes them (its dictionaries' hash order). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "qfs.h"

void guest_hostname(struct out *o)
{
	struct utsname u;
	uname(&u);
	json_fmt(o, "{\"host-name\": %j}", u.nodename);
}

/* qemu-ga's clock has microseconds */
void guest_time(struct out *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_fmt(o, "%d", (long long)ts.tv_sec * 1000000000 + ts.tv_nsec / 1000 * 1000);
}

/* The length of the os-release key of member m at l ("VERSION_ID=" for
 * version-id), or 0 when l has another. */
static size_t os_key(const char *l, const char *m)
{
	size_t n = 0;
	for (; m[n]; n++)
		if (l[n] != (m[n] == '-' ? '_' : m[n] - 'a' + 'A'))
			return 0;
	return l[n] == '=' ? n : 0;
}

/* the members that are uname's: kernel-release, kernel-version, machine */
enum { UNAME = 1 << 1 | 1 << 7 | 1 << 8 };

/* os-release's values into v (the kernel's, from uname, already there),
 * their quotes taken off in place */
static void os_values(char *f, size_t len, const char *const names[], const char **v)
{
	char *end = f + len;
	for (char *p = f; p < end; p++)
		if (*p == '\n')
			*p = 0;
	for (char *l = f, *nx; l < end; l = nx) {
		nx = l + strlen(l) + 1;
		for (int i = 0; i < 10; i++) {
			size_t n = UNAME >> i & 1 ? 0 : os_key(l, names[i]);
			if (!n)
				continue;
			char *val = l + n + 1, q = *val, *w = val, *r = val + 1;
			v[i] = val;
			if (q != '"' && q != '\'')
				continue;
			for (; *r && *r != q; *w++ = *r++)
				r += *r == '\\' && r[1];
			*w = 0;
		}
	}
}

void guest_osinfo(struct out *o)
{
	static const char *const names[] = {"name",       "kernel-release", "version",        "variant", "pretty-name",
					    "version-id", "variant-id",     "kernel-version", "machine", "id"};
	struct utsname u;
	size_t len = 0;
	char *f = read_file("/etc/os-release", &len);
	const char *sep = "{";
	if (!f)
		f = read_file("/usr/lib/os-release", &len);
	uname(&u);
	const char *v[10] = {NULL, u.release, NULL, NULL, NULL, NULL, NULL, u.version, u.machine, NULL};
	if (f)
		os_values(f, len, names, v);
	for (int i = 0; i < 10; i++) {
		if (!v[i])
			continue;
		json_fmt(o, "%s\"%s\": %j", sep, names[i], v[i]);
		sep = ", ";
	}
	out_str(o, *sep == '{' ? "{}" : "}");
	free(f);
}

static long long be(const unsigned char *p, int n)
{
	/* big-endian, two's complement */
	long long v = *p < 128 ? *p : *p - 256;
	for (int i = 1; i < n; i++)
		v = v * 256 + p[i];
	return v;
}

/* /etc/localtime (TZif): the abbreviation and offset in force now; UTC
 * without one. The zone's footer rule is not read: Debian's files are
 * "fat", with transitions to 2037. */
void guest_timezone(struct out *o)
{
	size_t len = 0;
	unsigned char *f = (unsigned char *)read_file("/etc/localtime", &len), *p = f;
	const char *zone = "UTC";
	long long off = 0, now = (long long)now_s(), c[6];
	for (int w = 4; f && len >= 44 && !memcmp(f, "TZif", 4); w = 8) {
		for (int i = 0; i < 6; i++)
			c[i] = be(p + 20 + 4 * (size_t)i, 4) & 0xffffff;
		/* isut, isstd, leap, time, type, char */
		unsigned char *t = p + 44, *idx = t + c[3] * w, *tt = idx + c[3], *ab = tt + c[4] * 6;
		unsigned char *end = ab + c[5] + c[2] * (w + 4) + c[1] + c[0];
		if (end > f + len || !c[4])
			break;
		if (w == 4 && f[4] >= '2' && end + 44 <= f + len) {
			p = end;
			continue;
		}
		long long k = 0;
		for (long long i = 0; i < c[3] && be(t + i * w, w) <= now; i++)
			k = idx[i] < c[4] ? idx[i] : 0;
		off = be(tt + 6 * k, 4);
		if (tt[6 * k + 5] < c[5] && memchr(ab + tt[6 * k + 5], 0, (size_t)(c[5] - tt[6 * k + 5])))
			zone = (const char *)ab + tt[6 * k + 5];
		break;
	}
	json_fmt(o, "{\"zone\": %j, \"offset\": %d}", zone, off);
	free(f);
}

/* utmp as glibc writes it: its session and time fields are 32 bits on the
 * 64-bit systems that keep 32-bit compatibility, a long elsewhere. */
#if defined(__x86_64__) || defined(__powerpc64__) || defined(__s390x__) || defined(__mips64) || \
	(defined(__sparc__) && defined(__arch64__))
typedef int32_t utlong;
#else
typedef long utlong;
#endif
struct utrec {
	short type, pad;
	int32_t pid;
	char line[32], id[4], user[32], host[256];
	short term, exit;
	utlong session, sec, usec;
	int32_t addr[4];
	char unused[20];
};

/* Users logged in (utmp's USER_PROCESS), each once at its first login. */
void guest_users(struct out *o)
{
	size_t len = 0;
	struct utrec *u = (struct utrec *)read_file("/var/run/utmp", &len);
	size_t n = u ? len / sizeof(*u) : 0;
	out_chr(o, '[');
	for (size_t i = 0, first = 1; i < n; i++) {
		size_t j = 0, k = i;
		for (; u[i].type == 7 && j < n; j++) {
			if (u[j].type != 7 || strncmp(u[j].user, u[i].user, 32) != 0)
				continue;
			if (j < i)
				break; /* listed already */
			if (u[j].sec < u[k].sec || (u[j].sec == u[k].sec && u[j].usec < u[k].usec))
				k = j;
		}
		if (j < n || u[i].type != 7)
			continue;
		char name[33] = {0}, us[8] = {'.', 0};
		memcpy(name, u[i].user, 32);
		for (int d = 6, v = (int)u[k].usec; d > 0; d--, v /= 10)
			us[d] = (char)('0' + v % 10);
		json_fmt(o, "%s{\"login-time\": %d%s, \"user\": %j}", first ? "" : ", ", (long long)u[k].sec, us, name);
		first = 0;
	}
	out_chr(o, ']');
	free(u);
}

/* "/DDDD:BB:SS.F" */
static int pci_at(const char *p)
{
	return p[0] == '/' && p[5] == ':' && p[8] == ':' && p[11] == '.';
}

/* A block device's place in sysfs, "../../devices/...": 0, or -1 */
static int dev_link(const char *dir, const char *name, char *link, size_t size)
{
	char path[300];
	if (strlen(name) > 255)
		return -1;
	ssize_t n = readlink(strcat(strcpy(path, dir), name), link, size - 1);
	link[n > 0 ? n : 0] = 0;
	return n > 0 ? 0 : -1;
}

/* The disk of a real device, as far as its path in sysfs says and as
 * qemu-ga reads it: virtio-blk, virtio-scsi and NVMe behind PCI; anything
 * else "unknown". */
static void real_disk(struct out *o, const char *name)
{
	char link[512], buf[256], *p = NULL, *e;
	long pci[4] = {-1, -1, -1, -1};
	unsigned long long btu[3] = {0, 0, 0};
	const char *type = "unknown";
	int k = -1;
	if (!dev_link("/sys/class/block/", name, link, sizeof(link)))
		p = contains(link, "/devices/pci");
	for (p = p ? strchr(p + 12, '/') : NULL; k < 0 && p && pci_at(p); p += 13) {
		char c = p[13];
		p[13] = 0;
		ssize_t n =
			readlink(strcat(strcat(strcpy(buf, "/sys"), contains(link, "/devices/")), "/driver"), buf, 255);
		p[13] = c;
		buf[n > 0 ? n : 0] = 0;
		e = strrchr(buf, '/');
		if (e)
			k = !strcmp(e + 1, "virtio-pci") ? 0 : !strcmp(e + 1, "nvme") ? 1 : -1;
		if (k >= 0)
			pci[0] = hexnum(p + 1, 4), pci[1] = hexnum(p + 6, 2), pci[2] = hexnum(p + 9, 2),
			pci[3] = hexnum(p + 12, 1);
	}
	if (k >= 0)
		type = k ? "nvme" : "virtio";
	/* virtio-scsi: .../target0:0:1/0:0:1:2 is bus 0, target 1, unit 2 */
	p = k == 0 ? contains(link, "/target") : NULL;
	if (p && (p = strchr(p + 1, '/')) && (e = (char *)scan_uint(p + 1, ~0ULL, btu))) {
		type = "scsi";
		for (int i = 0; i < 3 && e && *e == ':'; i++)
			e = (char *)scan_uint(e + 1, ~0ULL, btu + i);
	}
	/* the serial as udev's database has it, as libudev reads it */
	size_t len;
	char *dev = read_file(strcat(strcat(strcpy(link, "/sys/class/block/"), name), "/dev"), &len), *db = NULL;
	if (dev && (e = strchr(dev, '\n')) != NULL && e - dev < 32) {
		*e = 0;
		db = read_file(strcat(strcpy(link, "/run/udev/data/b"), dev), &len);
	}
	free(dev);
	char *serial = db ? contains(db, "E:ID_SERIAL=") : NULL;
	if (serial) {
		serial += 12;
		for (e = serial; *e && *e != '\n'; e++)
			;
		*e = 0;
		json_fmt(o, "{\"serial\": %j, ", serial);
	}
	json_fmt(o,
		 "%s\"bus-type\": %j, \"bus\": %d, \"unit\": %d, \"pci-controller\": {\"bus\": %d, \"slot\": %d, "
		 "\"domain\": %d, \"function\": %d}, \"dev\": \"/dev/%s\", \"target\": %d}",
		 serial ? "" : "{", type, (long long)btu[0], (long long)btu[2], (long long)pci[1], (long long)pci[2],
		 (long long)pci[0], (long long)pci[3], name, (long long)btu[1]);
	free(db);
}

/* The real devices under a block device, depth first: a virtual one's
 * (device mapper, md) are its slaves'. */
static void real_devs(struct out *names, const char *name, int depth)
{
	char link[512], path[300];
	if (depth > 8 || dev_link("/sys/class/block/", name, link, sizeof(link)))
		return;
	if (!contains(link, "/devices/virtual/block/")) {
		out_mem(names, name, strlen(name) + 1);
		return;
	}
	DIR *d = opendir(strcat(strcat(strcpy(path, "/sys/class/block/"), name), "/slaves"));
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.')
			real_devs(names, e->d_name, depth + 1);
	if (d)
		closedir(d);
}

/* One entry per mounted block device (btrfs's major 0 resolved), the last
 * mounted first, as qemu-ga lists them. NULL, or the sysfs path that could
 * not be read (errno set). */
const char *guest_fsinfo(struct out *o)
{
	static char path[48];
	struct mtab t;
	struct out names = {-1, 1, 0, 0, NULL};
	char link[512], first = 1;
	if (mtab_read(&t, NULL, 0))
		return "/proc/self/mountinfo";
	out_chr(o, '[');
	for (size_t i = t.n; i-- > 0;) {
		const struct mnt *m = &t.m[i];
		struct statfs sv;
		char nb[48], *p = fmt_uint(nb + sizeof(nb) - 1, minor(m->dev));
		if (!major(m->dev))
			continue;
		*--p = ':';
		p = fmt_uint(p, major(m->dev));
		nb[sizeof(nb) - 1] = 0;
		if (dev_link("/sys/dev/block/", p, link, sizeof(link))) {
			strcat(strcpy(path, "/sys/dev/block/"), p);
			mtab_free(&t);
			free(names.buf);
			return path;
		}
		const char *name = strrchr(link, '/') + 1;
		json_fmt(o, "%s{\"name\": %j", first ? "" : ", ", name);
		first = 0;
		int st = statfs(m->target, &sv);
		unsigned long long used = sv.f_blocks - sv.f_bfree;
		if (!st)
			json_fmt(o, ", \"total-bytes\": %d", (long long)((used + sv.f_bavail) * sv.f_frsize));
		json_fmt(o, ", \"mountpoint\": %j, \"disk\": [", m->target);
		names.len = 0;
		real_devs(&names, name, 0);
		/* qemu-ga prepends each disk to its list */
		for (size_t n = names.len; n > 0;) {
			size_t s = n - 1;
			while (s > 0 && names.buf[s - 1])
				s--;
			if (n < names.len)
				out_str(o, ", ");
			real_disk(o, names.buf + s);
			n = s;
		}
		out_chr(o, ']');
		if (!st)
			json_fmt(o, ", \"used-bytes\": %d", (long long)(used * sv.f_frsize));
		json_fmt(o, ", \"type\": %j}", m->fstype);
	}
	out_chr(o, ']');
	mtab_free(&t);
	free(names.buf);
	return NULL;
}

/* rtnetlink's messages, which libc headers leave out: the kernel's ABI,
 * the same on every architecture (linux/netlink.h, linux/if_addr.h). */
struct nlmsg {
	uint32_t len;
	uint16_t type, flags;
	uint32_t seq, pid;
};
struct ifaddrmsg {
	uint8_t family, prefixlen, flags, scope;
	uint32_t index;
};
struct rtattr {
	uint16_t len, type;
};
enum { NETLINK_ROUTE = 0, RTM_NEWADDR = 20, RTM_GETADDR = 22, NLMSG_ERROR = 2, NLMSG_DONE = 3 };
enum { NLM_F_REQUEST = 1, NLM_F_DUMP = 0x300, IFA_ADDRESS = 1, IFA_LOCAL = 2 };

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Every address of every interface, in the kernel's order (as getifaddrs
 * gives them): the dump's messages one after another in b. */
static int addr_dump(struct out *b)
{
	struct {
		struct nlmsg h;
		struct ifaddrmsg a;
	} req = {{sizeof(req), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0}, {AF_UNSPEC, 0, 0, 0, 0}};
	static uint32_t buf[8192];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc = -1;
	if (fd < 0 || send(fd, &req, sizeof(req), 0) < 0)
		goto out;
	for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) {
		for (size_t at = 0; at + sizeof(struct nlmsg) <= (size_t)n;) {
			const struct nlmsg *h = (const struct nlmsg *)((char *)buf + at);
			if (h->type == NLMSG_DONE || h->type == NLMSG_ERROR || h->len < sizeof(*h) || h->len > n - at) {
				rc = h->type == NLMSG_DONE ? 0 : -1;
				goto out;
			}
			out_mem(b, (const char *)h, align4(h->len));
			at += align4(h->len);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* RFC 5952's text of an IPv6 address, as glibc's inet_ntop writes it */
static void ip6(struct out *o, const unsigned char *a)
{
	size_t best = 8, blen = 1;
	for (size_t i = 0, run = 0; i < 8; i++) {
		run = a[2 * i] || a[2 * i + 1] ? 0 : run + 1;
		if (run > blen)
			blen = run, best = i + 1 - run;
	}
	for (size_t i = 0; i < 8; i++) {
		/* the longest run of zeros as "::", the rest ':'-separated */
		json_fmt(o,
			 i == best               ? "::"
			 : i && i != best + blen ? ":%x"
						 : "%x",
			 (long long)(a[2 * i] << 8 | a[2 * i + 1]));
		if (i == best)
			i += blen - 1;
	}
}

/* ifindex's addresses: the array's members, or nothing */
static int addresses(struct out *o, const struct out *b, unsigned ifindex)
{
	int n = 0;
	for (size_t at = 0; at < b->len; at += align4(((const struct nlmsg *)(b->buf + at))->len)) {
		const struct nlmsg *h = (const struct nlmsg *)(b->buf + at);
		const struct ifaddrmsg *a = (const struct ifaddrmsg *)(h + 1);
		const unsigned char *addr = NULL;
		if (h->type != RTM_NEWADDR || a->index != ifindex || (a->family != AF_INET && a->family != AF_INET6))
			continue;
		for (size_t r = sizeof(*h) + sizeof(*a); r + sizeof(struct rtattr) <= h->len;) {
			const struct rtattr *ra = (const struct rtattr *)((const char *)h + r);
			if (ra->len < sizeof(*ra) || r + ra->len > h->len)
				break;
			/* IPv4's own address is IFA_LOCAL; IFA_ADDRESS a peer's */
			if (ra->type == IFA_LOCAL || (ra->type == IFA_ADDRESS && !addr))
				addr = (const unsigned char *)(ra + 1);
			r += align4(ra->len);
		}
		if (!addr)
			continue;
		json_fmt(o, "%s{\"ip-address-type\": \"ipv%d\", \"ip-address\": \"",
			 n++ ? ", " : ", \"ip-addresses\": [", a->family == AF_INET ? 4LL : 6LL);
		if (a->family == AF_INET)
			json_fmt(o, "%d.%d.%d.%d", (long long)addr[0], (long long)addr[1], (long long)addr[2],
				 (long long)addr[3]);
		else
			ip6(o, addr);
		json_fmt(o, "\", \"prefix\": %d}", (long long)a->prefixlen);
	}
	if (n)
		out_chr(o, ']');
	return n;
}

/* Every interface of /proc/net/dev: its addresses, its counters (only
 * with an address, as qemu-ga), its hardware address. 0, or -1 (errno). */
int guest_interfaces(struct out *o)
{
	struct out b = {-1, 1, 0, 0, NULL};
	size_t len;
	char *f = read_file("/proc/net/dev", &len), *l = f ? strchr(f, '\n') : NULL;
	l = l ? strchr(l + 1, '\n') : NULL;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;
	if (!l || fd < 0 || addr_dump(&b))
		goto out;
	out_chr(o, '[');
	for (int first = 1; (l = strchr(l, ':')) != NULL; first = 0) {
		char *name = l, *nl = strchr(l, '\n');
		unsigned long long v[12];
		struct ifreq ifr;
		*l++ = 0;
		while (name > f && name[-1] != ' ' && name[-1] != '\n')
			name--;
		for (int i = 0; i < 12; i++) {
			while (*l == ' ')
				l++;
			l = (char *)scan_uint(l, ~0ULL, v + i);
			if (!l)
				goto out;
		}
		json_fmt(o, "%s{\"name\": %j", first ? "" : ", ", name);
		memset(&ifr, 0, sizeof(ifr));
		for (int i = 0; i < IF_NAMESIZE - 1 && name[i]; i++)
			ifr.ifr_name[i] = name[i];
		if (addresses(o, &b, ioctl(fd, SIOCGIFINDEX, &ifr) ? 0 : (unsigned)ifr.ifr_ifindex)) {
			/* /proc/net/dev's columns in qemu-ga's order */
			json_fmt(o,
				 ", \"statistics\": {\"tx-packets\": %d, \"tx-errs\": %d, \"rx-bytes\": %d, "
				 "\"rx-dropped\": %d, \"rx-packets\": %d, \"rx-errs\": %d, \"tx-bytes\": %d, "
				 "\"tx-dropped\": %d}",
				 (long long)v[9], (long long)v[10], (long long)v[0], (long long)v[3], (long long)v[1],
				 (long long)v[2], (long long)v[8], (long long)v[11]);
		}
		if (!ioctl(fd, SIOCGIFHWADDR, &ifr)) {
			out_str(o, ", \"hardware-address\": \"");
			for (int i = 0; i < 6; i++) {
				unsigned char c = (unsigned char)ifr.ifr_hwaddr.sa_data[i];
				json_fmt(o, "%s%x%x", i ? ":" : "", (long long)(c >> 4), (long long)(c & 15));
			}
			out_chr(o, '"');
		}
		out_chr(o, '}');
		l = nl ? nl : l + strlen(l);
	}
	out_chr(o, ']');
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(f);
	free(b.buf);
	return rc;
}
