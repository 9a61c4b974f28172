/* hugemem.h - large growable buffers backed by transparent huge pages.
 *
 * DESIGN
 * The first write to each page of a new buffer is a page fault, and a job
 * that parses, shuffles and sorts a shard writes several times the shard's
 * bytes into new pages. A hugemem block is its own anonymous mapping,
 * aligned to 2 MiB, so that it can be backed by 2 MiB pages; growth moves
 * the page tables (mremap), never the bytes, and keeps the alignment.
 * From HUGEMEM_MIN, a block asks for 2 MiB pages (madvise MADV_HUGEPAGE,
 * honoured where /sys/kernel/mm/transparent_hugepage/enabled is `madvise`
 * or `always`): one fault per 2 MiB instead of 512, and fewer TLB misses.
 * PRECIS_HUGEPAGES=0 asks for 4 KiB pages instead (MADV_NOHUGEPAGE). That
 * is for a virtual machine whose host takes back freed guest memory (free
 * page reporting, on in this VM's kernel): a huge page the host took back
 * must be backed again, 2 MiB at once, and on this VM 1 GiB
 * of such cold huge pages took 2.3 s to touch, against 0.4-0.6 s in 4 KiB
 * pages and 0.09 s for huge pages freed a moment before. So huge pages win
 * when memory was freed recently (runs back to back: precis-clean at 1 GB,
 * np=1, medians 6.26 s against 7.40 s in 4 KiB pages) and lose on a cold
 * start (8.65 s against 7.40 s; jobs/clean/README.md, "Memory and speed").
 * A freed large block is kept mapped (a few at most) for the next
 * allocation that fits, so later phases reuse pages earlier ones touched
 * instead of faulting in fresh zeroed ones; an allocation that fits none
 * releases them first (until then they stay resident). Use it for buffers
 * that are filled and read in order and that the job grows: parsed rows,
 * shuffle buckets and results.
 * None of these functions is collective. A block comes only from
 * hugemem_alloc or hugemem_realloc and goes back only through
 * hugemem_realloc or hugemem_free (never free()).
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

/* Give the whole 2 MiB pages inside bytes [from, from + len) of block p
 * back to the kernel now (MADV_DONTNEED: they read as zero if touched
 * again), for a caller done with part of a block while it still uses the
 * rest. Returns the bytes given back (0 when the range holds no whole
 * page). Can't fail. */
size_t hugemem_discard(void *p, size_t from, size_t len);

/* Unmap the kept blocks. Can't fail. */
void hugemem_release(void);

/* Blocks allocated and not yet freed in this process. LeakSanitizer does
 * not see mappings, so sanitizer builds check this at a job's end. Can't
 * fail. */
long hugemem_live(void);

#endif
