/* Hyper-V's VSS requests, as the kernel's hv_utils driver passes them on
 * through /dev/vmbus/hv_vss (Linux's include/uapi/linux/hyperv.h): one
 * 12-byte message each way, FREEZE, THAW and HOT_BACKUP. A freeze is held
 * by a `qfs freeze --hold` child (child.c), as for the QEMU protocol, so its
 * -t deadline, hooks, order and holds are freeze's own; the agent's loop
 * (applets/agent.c) waits for requests, signals and the child. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "qfs.h"

enum { VSS_OP_HOT_BACKUP = 2, VSS_OP_FREEZE = 5, VSS_OP_THAW = 6, VSS_OP_REGISTER1 = 129 };
enum { VSS_HBU_NO_AUTO_RECOVERY = 5 };
#define HV_E_FAIL ((int)0x80004005U)

/* As the kernel's struct hv_vss_msg: the error overlays the operation. */
struct vss_msg {
	union {
		struct {
			uint8_t operation;
			uint8_t reserved[7];
		} hdr;
		int error;
	};
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct vss_msg) == 12, "struct hv_vss_msg is 12 bytes");

/* The device, once REGISTER1 is answered by the kernel's version: its fd,
 * or -1 and errno. */
int hyperv_open(const char *path)
{
	struct vss_msg m = {.hdr.operation = VSS_OP_REGISTER1};
	uint32_t version;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m) ||
			read(fd, &version, sizeof(version)) != (ssize_t)sizeof(version))) {
		close(fd); /* leaves errno as it is */
		return -1;
	}
	return fd;
}

/* The freeze's first error on the log, once it is over: HV_E_FAIL. */
static int failed(struct out *why)
{
	if (why->len)
		complain(why->buf, NULL, NULL);
	why->len = 0;
	return HV_E_FAIL;
}

static int answer(struct vss_msg *m, struct child *ch, char *const argv[], struct out *why)
{
	char num[24];
	int op = m->hdr.operation;
	if (op == VSS_OP_THAW)
		return ch->pid && child_release(ch, num, why) ? failed(why) : 0;
	/* HOT_BACKUP: no auto-recovery; the rest (unknown) answered HV_S_OK */
	if (op == VSS_OP_HOT_BACKUP)
		m->flags = VSS_HBU_NO_AUTO_RECOVERY;
	/* a FREEZE while frozen: the host asked again, frozen once is enough */
	if (op != VSS_OP_FREEZE || ch->pid)
		return 0;
	if (child_start(ch, argv)) {
		complain("qfs freeze", errstr(errno), NULL);
		return HV_E_FAIL;
	}
	if (child_read(ch, "frozen ", num, why, "failed to freeze ") || !ch->pid)
		return failed(why);
	/* nothing written to a file until the thaw releases it */
	qerr.hold = 1;
	if (!strcmp(num, "0"))
		child_release(ch, num, why);
	return 0;
}

/* One request read and answered: 0, or -1 when the device failed (then it
 * is closed, and nothing is frozen). why: room for a freeze's error. */
int hyperv_request(int fd, struct child *ch, char *const argv[], struct out *why)
{
	struct vss_msg m;
	char num[24];
	errno = EIO; /* for a short message */
	ssize_t r = read(fd, &m, sizeof(m));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r == (ssize_t)sizeof(m)) {
		m.error = answer(&m, ch, argv, why);
		if (write(fd, &m, sizeof(m)) == (ssize_t)sizeof(m))
			return 0;
	}
	complain("hv_vss", errstr(errno), "opening it again");
	if (ch->pid)
		child_release(ch, num, why);
	close(fd);
	return -1;
}
