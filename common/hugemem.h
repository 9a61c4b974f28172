/* hugemem.h - large growable buffers backed by transparent huge pages.
 *
 * DESIGN
 * The first write to each 4 KiB page of a new buffer is a page fault, and a
 * job that parses, shuffles and sorts a shard writes several times the
 * shard's bytes into new pages. A hugemem block is its own anonymous
 * mapping, aligned to 2 MiB; once it reaches HUGEMEM_MIN the kernel is
 * asked (madvise MADV_HUGEPAGE) to back it with 2 MiB pages: one fault per
 * 2 MiB instead of 512, and the pages a phase frees are taken again whole
 * by the next. Growth moves the page tables (mremap), never the bytes, and
 * keeps the 2 MiB alignment, so huge pages stay whole. Smaller blocks keep
 * 4 KiB pages, so a rank with many small buffers (one per destination
 * rank) does not pay 2 MiB for each. Where the kernel has no transparent
 * huge pages, or they are off, the hint is refused and the block is an
 * ordinary mapping. A freed large block is kept mapped (a few at most) for
 * the next allocation that fits, so later phases reuse pages earlier ones
 * touched instead of faulting in fresh zeroed ones; an allocation that
 * fits none releases them first (until then they stay resident). Use it for buffers that are filled and read in order
 * and that the job grows: parsed rows, shuffle buckets and results. None of
 * these functions is collective. A block comes only from hugemem_alloc or
 * hugemem_realloc and goes back only through hugemem_realloc or
 * hugemem_free (never free()).
 */
#ifndef PRECIS_HUGEMEM_H
#define PRECIS_HUGEMEM_H

#include <stddef.h>

#define HUGEMEM_MIN ((size_t)4 << 20)

/* A block of at least n bytes (n may be 0), zero-filled. NULL when out of
 * memory or address space. */
void *hugemem_alloc(size_t n);

/* Resize p (NULL: allocate) to at least n bytes, keeping its first
 * min(old, n) bytes; bytes beyond them are zero. Returns the block, which
 * may have moved, or NULL when out of memory, in which case p is untouched
 * and still owned by the caller. */
void *hugemem_realloc(void *p, size_t n);

/* Give back a block (NULL: nothing): a large one is kept for reuse. Can't
 * fail. */
void hugemem_free(void *p);

/* Unmap the kept blocks. Can't fail. */
void hugemem_release(void);

/* Blocks allocated and not yet freed in this process. LeakSanitizer does
 * not see mappings, so sanitizer builds check this at a job's end. Can't
 * fail. */
long hugemem_live(void);

#endif
