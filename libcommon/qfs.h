/* Declarations shared by the applets and libcommon. */
#ifndef QFS_H
#define QFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes, the same in every applet. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_DEADLINE = 3 };

#ifndef QFS_VERSION
#define QFS_VERSION "0.1.0"
#endif

/* main.c: the applet being run, for messages and --help. */
extern const char *applet_name;  /* "qfs freeze", or "fsfreeze" for the drop-in */
extern const char *applet_usage; /* its usage text */

/* out.c: buffered output without stdio. A held stream keeps everything in
 * memory until released, so nothing is written to a frozen filesystem. */
struct out {
	int fd;
	int hold;
	size_t len, cap;
	char *buf;
};
extern struct out qout, qerr;
extern int out_errno;
void out_mem(struct out *o, const char *s, size_t n);
void out_str(struct out *o, const char *s);
void out_chr(struct out *o, char c);
void out_num(struct out *o, unsigned long long v);
char *fmt_uint(char *end, unsigned long long v);
void out_flush(struct out *o);
void out_release(struct out *o);

/* err.c: "qfs APPLET: a: b: c" on stderr, NULL parts left out. */
extern int errors_to_stdout; /* --hold: a remote caller reads stdout only */
void complain(const char *a, const char *b, const char *c);
void complain_errno(const char *a, const char *b);
void kmsg(const char *who, unsigned long long n, const char *why, int to_stderr);
const char *errstr(int num);
_Noreturn void die(const char *a, const char *b, const char *c);
void *must(void *p);
_Noreturn void usage_error(const char *what, const char *arg);
_Noreturn void quit(int code);

/* path.c */
char *path_join(const char *dir, const char *name);

/* opt.c: a small getopt_long. Options and operands may be mixed; "--" ends
 * options and is remembered (freeze runs the command after it). */
struct opt {
	const char *name; /* long name, or NULL */
	char key;         /* short letter, or a value above 127 for long-only */
	char arg;         /* 1 when the option takes an argument */
};
struct optstate {
	char **argv;
	int i, nops, dashdash; /* dashdash: operand index where "--" stood, or -1 */
	const char *next;      /* rest of a bundle of short options */
	const char *arg;
};
void opt_init(struct optstate *s, char **argv);
int opt_next(struct optstate *s, const struct opt *opts);
const char *scan_uint(const char *s, unsigned long long max, unsigned long long *v);
int parse_uint(const char *s, unsigned long long max, unsigned long long *v);
unsigned opt_seconds(const char *s);

/* decode.c */
char *escape_next(const char *s);
size_t decode_mntname(char *s);
void json_str(struct out *o, const char *s);
size_t out_escaped(struct out *o, const char *s);
void out_oneline(struct out *o, const char *s);
size_t escaped_len(const char *s);
char *contains(const char *s, const char *sub);
int utf8_len(const unsigned char *s);

/* json.c: the guest agent's request reader. Fixed size: a request longer
 * or deeper than these is an error, and reading goes on after it. */
enum { JSON_MAX = 1 << 16, JSON_DEPTH = 1024 };
enum { JSON_MORE, JSON_DONE, JSON_ERR };
struct jreader {
	size_t len, tok; /* bytes of the message in buf; where its last token began */
	size_t depth;    /* may pass JSON_DEPTH while a bad message is skipped */
	int state, str, esc;
	unsigned char stack[JSON_DEPTH]; /* 1: an object at that depth */
	char buf[JSON_MAX];
};
void json_reset(struct jreader *r);
int json_feed(struct jreader *r, int c, const char **err, int *again);
long json_cp(const char **p);
int hexnum(const char *s, int n);
const char *json_skip(const char *p);
void json_unq(struct out *o, const char *p);
void json_echo(struct out *o, const char *p);
void json_fmt(struct out *o, const char *fmt, ...);

/* read.c: whole files, or a chunk at a time. Far more than any mount
 * table (the kernel's default limit is 100,000 mounts): -F of an endless
 * stream fails instead of taking all memory. */
enum { READ_MAX = 1 << 28 };
char *read_file(const char *name, size_t *len);
ssize_t read_more(int fd, char **buf, size_t *cap, size_t have);

/* guest.c: what the guest agent tells about this machine, as JSON values. */
void guest_hostname(struct out *o);
void guest_time(struct out *o);
void guest_osinfo(struct out *o);
void guest_timezone(struct out *o);
void guest_users(struct out *o);
const char *guest_fsinfo(struct out *o);
int guest_interfaces(struct out *o);

/* The mount table: parse.c reads it, mnt.c orders and judges it. */
enum skip { SKIP_NONE, SKIP_NETWORK, SKIP_NODEV, SKIP_DEV, SKIP_RO, SKIP_SHADOWED, SKIP_BIND, SKIP_UNSELECTED };
enum { NAME_TARGET, NAME_SOURCE, NAME_FSTYPE, NAME_OPTS, NNAMES };
struct mnt {
	union { /* by name, or by number for a table's columns */
		struct {
			char *target, *source, *fstype, *opts; /* decoded; options as they are, if kept */
		};
		char *name[NNAMES];
	};
	unsigned len[NNAMES]; /* their lengths */
	unsigned id, parent, maj, min;
	dev_t dev;            /* the filesystem's device: major 0 resolved through the source */
	size_t up;            /* parent's index, or SIZE_MAX */
	unsigned char fixed;  /* a reason known from the table alone */
	unsigned char hidden; /* under a mount that another covers */
	unsigned char ro;     /* the superblock is read-only */
	unsigned char plain;  /* bit k: name[k] holds no byte that escaping changes */
	unsigned char skip, sel;
	unsigned char frozen; /* FS_FROZEN by this process, or FS_JOINED: kept frozen by another qfs freeze */
	unsigned char lost;   /* thawed under this freeze by another command */
	int fd;
	int err;                   /* the errno of its syncfs or FIFREEZE, 0 if none */
	unsigned long long holder; /* FS_JOINED: the pid of the hold it joined */
};
enum { FS_FROZEN = 1, FS_JOINED, FS_THAWING };
struct names {
	struct names *prev;
	char s[];
};
struct mtab {
	struct mnt *m;
	size_t n, cap;
	size_t *order;        /* parents before children */
	int info;             /* read from mountinfo (ids and parents are real); -1 until known */
	int opts;             /* keep the options of mountinfo lines (a mounts line's are needed) */
	size_t line;          /* lines read, for messages */
	struct names *blocks; /* where the names are, newest first */
	char *names;          /* free space in the newest block */
	size_t left;
};
void mtab_init(struct mtab *t, int opts);
long mtab_feed(struct mtab *t, char *buf, size_t len, int eof, const char *file);
int mtab_read(struct mtab *t, const char *file, int opts);
int mtab_parse(struct mtab *t, char *buf, size_t len, const char *name);
int mtab_finish(struct mtab *t);
const char *skip_word(int skip);
int mtab_select(struct mtab *t, char **paths, int n);
void mtab_classify(struct mtab *t, int selected_only);
int mtab_frozen_at(const struct mtab *t, int dirfd, const char *path);
int mtab_has_dev(const struct mtab *t, dev_t d);
const struct mnt *mtab_by_dev(const struct mtab *t, dev_t d);
void mtab_free(struct mtab *t);

/* depend.c: may a filesystem be frozen at the same time as the others? */
int fs_alone(const struct mtab *t, const struct mnt *m);

/* fs.c: the freeze/thaw engine. */
int fs_open(const struct mtab *t, struct mnt *m);
int mount_id_at(int dirfd, const char *path, unsigned long long *id);
struct mnt *fs_nth(const struct mtab *t, size_t k);
size_t fs_plan(const struct mtab *t, struct mnt **list);
int fs_thaw_list(struct mnt **list, size_t n, int all, int verbose, size_t *count);
void fs_count(size_t n, const char *what);
void fs_frozen_count(size_t n, int64_t frozen_ms, int flushed, int64_t flush_ms, size_t foreign, size_t at_once);
void fs_skipped(const struct mnt *m, const char *why);
void fs_said(const char *what, const struct mnt *m);
#ifdef QFS_FAULT_INJECTION
int fault_hit(const char *var);
#endif
int fs_freeze(int fd);
int fs_thaw(int fd);
int fs_unfreeze(int fd);

/* sync.c: syncfs, or FIFREEZE, of many filesystems at once. */
int fs_sync_all(struct mnt **list, size_t n, unsigned timeout_s, int verbose, int64_t *ms);
int fs_freeze_all(struct mnt **list, size_t n, int64_t end, struct mnt **job, size_t njob);

/* hold.c: one file per freeze that keeps filesystems frozen, so that
 * overlapping freezes never thaw each other. */
enum hold_kind { HOLD_PLAIN, HOLD_TIMEOUT, HOLD_CMD, HOLD_HOLD, NKINDS };
enum hold_value { H_PID, H_START, H_TIME, H_DEADLINE, H_WATCHDOG, H_WDSTART, H_FROZEN_MS, H_STATE, NVALUES };
enum hold_state { HOLD_KEPT, HOLD_FREEZING, HOLD_THAWING }; /* H_STATE */
enum { HOLDS_CREATE = 1, HOLDS_BRIEF = 2 };                 /* holds_open */
struct holdfs {
	unsigned long long dev, id; /* the filesystem, and the mount it was opened through */
	char *target;
};
struct hold {
	char name[48]; /* "hold.PID.START" in the state directory */
	char *buf;
	int kind, live, dirty;
	unsigned long long v[NVALUES];
	struct holdfs *fs;
	size_t n;
};
struct holds {
	struct hold *h;
	size_t n;
	int dir, lock; /* -1 when there is no state directory */
};
extern const char *const hold_kinds[];
const char *state_dir(void);
const char *state_existing_dir(char *buf, size_t size);
unsigned long long proc_start(unsigned long long pid);
int holds_open(struct holds *hs, int flags);
void holds_unlock(struct holds *hs, struct hold *h);
void holds_close(struct holds *hs);
const struct hold *holds_with(const struct holds *hs, unsigned long long dev, const struct hold *except, int mask);
const struct hold *holds_keeping(const struct holds *hs, unsigned long long dev, const struct hold *except);
struct hold *holds_find(struct holds *hs, const char *name);
int hold_lists(const struct hold *h, unsigned long long dev);
int hold_save(struct holds *hs, const struct hold *h);
void hold_drop(struct holds *hs, struct hold *h);
void hold_disarm(const struct hold *h);

/* sig.c: signals read from a signalfd, never handled asynchronously. */
int sig_setup(void);
enum { SPAWN_KEEP = -1, SPAWN_NULL = -2 }; /* spawn's fd[] */
enum { SPAWN_SETSID = 1, SPAWN_PATH = 2 };
pid_t spawn(char *const argv[], char *const envp[], const int fd[3], int flags);
int sig_wait(int fd, int ms);
int sig_fd(void);
void sig_remember(int sig);
int sig_stop_pending(void);

/* hook.c */
struct hooks {
	char **path;
	size_t n;
	const char *mounts; /* "QFS_MOUNTPOINTS=..." */
	unsigned timeout;
	int verbose;
};
int hook_load(struct hooks *h, const char *spec);
int hook_run(const struct hooks *h, const char *action, size_t *n);
int child_wait(pid_t pid, int64_t ms);
int64_t now_ms(void);
unsigned long long now_s(void);

/* job.c: one freeze from its plan to its thaw, for freeze and (through
 * freeze --hold) the agent. */
struct job {
	struct mtab t;
	struct mnt **list; /* freeze order */
	size_t n;
	struct hooks hooks;
	size_t hooks_ran;
	unsigned timeout;
	int verbose, wdctl, expired, thaw_rc, held;
	pid_t wd;
	size_t kept;      /* released but left frozen for another hold */
	char *lost;       /* "was thawed by another command while CMD ran" */
	struct holds hs;  /* open (and locked) only while holds are read or written */
	struct hold mine; /* name empty: no hold is kept */
	int64_t flush_ms, frozen_ms;
	size_t at_once; /* how many were frozen at the same time */
	int flushed;    /* 0 --no-sync, 1 flushed, 2 the flush timed out */
	int nosync, kind;
	unsigned sync_timeout;
	int64_t end; /* the -t deadline, on now_ms()'s clock */
};
int job_plan(struct job *j, const char *file, char **paths, int npaths, const char *hook);
size_t job_freeze(struct job *j, char **cmd);
void job_keep(struct job *j);
int job_run(struct job *j, char **cmd);
void job_hold(struct job *j);
int job_end(struct job *j, size_t *thawed);

/* child.c: the `qfs freeze --hold` child that holds an agent's freeze. */
struct child {
	pid_t pid;                /* 0: none */
	int in, out;              /* its stdin's write end, its stdout's read end */
	int sig;                  /* a signal that ended the agent while it waited */
	unsigned long long until; /* now_s() past which it is not waited for, or 0 */
};
int child_start(struct child *c, char *const argv[]);
int child_read(struct child *c, const char *word, char *num, struct out *err, const char *prefix);
int child_release(struct child *c, char *num, struct out *err);

/* hyperv.c: `qfs agent -m hyperv`'s device, each freeze through child.c. */
int hyperv_open(const char *path);
int hyperv_request(int fd, struct child *ch, char *const argv[], struct out *why);

/* watchdog.c: a process of its own that thaws when the freezer cannot. */
pid_t watchdog_start(struct mnt **list, size_t n, unsigned seconds, const char *hold, int *ctl);
void watchdog_tell(int *ctl, char what);


#endif
