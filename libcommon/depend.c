/* Which filesystems may be frozen at the same time as the others. Freezing
 * one after another makes the first wait for all the rest, but at the same
 * time is safe only for a filesystem whose device does not write through
 * another one being frozen: a loop device whose image is stored there would
 * wait for that freeze while flushing, and never finish. So a device is
 * followed down to what it is stored on: a disk or a partition is safe, a
 * loop device is if its image is on a filesystem that is not being frozen
 * and is safe itself. Anything else (device-mapper, md, nbd, NVMe multipath
 * heads, a loop image on tmpfs or NFS, no /sys) is frozen alone, children
 * before parents, before the others. */
#include <fcntl.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qfs.h"

static int dev_alone(const struct mtab *t, dev_t d, int depth);

/* A loop device: its image is on the filesystem with device number d (as
 * stat gives it: btrfs shows a subvolume's, found through its mount). */
static int image_alone(const struct mtab *t, dev_t d, int depth)
{
	if (!major(d)) {
		const struct mnt *m = mtab_by_dev(t, d);
		if (!m || !m->dev)
			return 0; /* tmpfs, NFS, overlay...: not followed */
		d = m->dev;
	}
	return !mtab_has_dev(t, d) && dev_alone(t, d, depth + 1);
}

static int loop_alone(const struct mtab *t, int fd, int depth)
{
	struct loop_info64 info;
	return !ioctl(fd, LOOP_GET_STATUS64, &info) && image_alone(t, (dev_t)info.lo_device, depth);
}

/* Is d stored on nothing that is being frozen? A disk or a partition is (no
 * "virtual" in its sysfs path). */
static int dev_alone(const struct mtab *t, dev_t d, int depth)
{
	char path[48] = "/sys/dev/block/", num[24] = "", link[256];
	char *p = stpcpy(stpcpy(path + 15, fmt_uint(num + 23, major(d))), ":");
	stpcpy(p, fmt_uint(num + 23, minor(d)));
	ssize_t n = depth < 8 ? readlink(path, link, sizeof(link) - 1) : -1;
	if (n <= 0)
		return 0;
	link[n] = 0;
	if (strncmp(link, "../../devices/virtual/", 22) != 0)
		return 1;
	const char *name = strrchr(link, '/') + 1;
	if (strncmp(name, "loop", 4) != 0)
		return 0; /* device-mapper, md, nbd, nvme multipath...: not followed */
	stpcpy(stpcpy(path, "/dev/"), name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ok = fd >= 0 && loop_alone(t, fd, depth);
	if (fd >= 0)
		close(fd);
	return ok;
}

int fs_alone(const struct mtab *t, const struct mnt *m)
{
#ifdef QFS_MUTANT_ALL_ALONE
	return 1; /* make mutants: every filesystem frozen at the same time */
#endif
	return m->dev && dev_alone(t, m->dev, 0);
}
