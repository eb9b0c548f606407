/* The allocator. qfs lives for a moment, and its watchdog allocates almost
 * nothing, so small blocks are carved from a bump arena and never reused;
 * large ones (mount tables, held output) get mappings of their own that
 * grow with mremap. musl's general allocator would cost a sixth of the
 * binary for nothing qfs needs. Only the musl build uses it: sanitizers and
 * glibc bring their own. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "qfs.h"

#ifdef QFS_ALLOC

enum { ALIGN = 16, ARENA = 1 << 18, LARGE = 1 << 16 };

/* Each block starts with its size; a large block's is its whole mapping.
 * The head takes ALIGN bytes, so that what follows it is aligned as
 * malloc's result must be, with 32-bit size_t too. */
struct head {
	_Alignas(ALIGN) size_t size;
	size_t large;
};
_Static_assert(ALIGN >= _Alignof(max_align_t) && sizeof(struct head) == ALIGN, "malloc's alignment");

static char *cur, *end;

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

void *malloc(size_t n)
{
	struct head *h;
	if (n > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	n = round_up(n ? n : 1, ALIGN);
	if (n >= LARGE) {
		size_t total = round_up(n + sizeof(*h), 4096);
		if (!(h = map(total)))
			return NULL;
		h->size = total - sizeof(*h);
		h->large = 1;
		return h + 1;
	}
	if ((size_t)(end - cur) < n + sizeof(*h)) {
		if (!(cur = map(ARENA)))
			return NULL;
		end = cur + ARENA;
	}
	h = (struct head *)cur;
	h->size = n;
	h->large = 0;
	cur += sizeof(*h) + n;
	return h + 1;
}

void *calloc(size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	/* fresh mappings are zero and arena blocks are never reused */
	size_t n = a * b;
	return malloc(n > 0 ? n : 1);
}

static struct head *head_of(void *p)
{
	return (struct head *)p - 1;
}

void free(void *p)
{
	if (p && head_of(p)->large)
		munmap(head_of(p), head_of(p)->size + sizeof(struct head));
}

void *realloc(void *p, size_t n)
{
	struct head *h;
	void *q;
	if (!p)
		return malloc(n);
	h = head_of(p);
	if (n <= h->size)
		return p;
	if (h->large && n < SIZE_MAX / 2) {
		size_t total = round_up(n + n / 2 + sizeof(*h), 4096);
		h = mremap(h, h->size + sizeof(*h), total, MREMAP_MAYMOVE);
		if (h == MAP_FAILED) {
			errno = ENOMEM;
			return NULL;
		}
		h->size = total - sizeof(*h);
		return h + 1;
	}
	if (!(q = malloc(n)))
		return NULL;
	memcpy(q, p, h->size);
	return q;
}

#endif
