/* csv.h - RFC 4180 reader over byte ranges of files, exact at any rank count.
 *
 * DESIGN
 * Every rank maps the input files read-only and takes an even share of the
 * total data bytes (all files after their header rows, in order). A rank
 * returns exactly the records that START in its share, so the ranks together
 * return each record once, and the records equal those of a sequential read.
 * Headers read the mapping; csv_next reads records with pread into a window
 * of 8 MiB that starts at a record, and the split agreement reads its long
 * stretches (the search for a quote, the newline count) with pread in 1 MiB
 * blocks (first touches of mapped pages are faults, dear on a VM). A record that runs
 * past the window's end is read again into a new one, doubled while it
 * does; one longer than 8 windows, or a file that no longer is the one
 * mapped, is read through the mapping (csv.c: PRECIS_CSV_WINDOW).
 *
 * Record boundary rule (one rule, used by every reader and by precis-gen):
 *   From a record start, each '"' toggles "inside quotes" (a doubled quote
 *   toggles twice). The record ends at the first '\n' outside quotes; a '\r'
 *   before it is dropped. Blank lines are skipped and are not records.
 *   A quote still open at end of file (CSV_OPEN_QUOTE), or open for more
 *   than max_field bytes (CSV_FIELD_TOO_LONG), makes the record bad; reading
 *   resumes after the first '\n' that follows the record's start.
 * Within a record, fields split on the delimiter outside quotes. A quoted
 * field runs to its closing quote ("" is a literal quote); anything but a
 * delimiter or the record end after the closing quote, or a '"' inside an
 * unquoted field, is CSV_BAD_QUOTE. A field longer than max_field, invalid
 * UTF-8, or a field count different from the header's make the record bad
 * too; such records are still returned, with status and field index, so the
 * caller can quarantine them. A UTF-8 BOM at the start of a file is skipped,
 * and so are blank lines before the header (as pandas skips them).
 *
 * Split agreement: a rank cannot know locally whether its first byte lies
 * inside quotes. Each rank guesses its first record start under the two
 * quote hypotheses (and "starts exactly here"; a share that begins a file's
 * data needs no guess), scans record boundaries to the end of its share for
 * each guess (guesses that meet are followed once; a share that reaches its
 * file's end has no rank after it there and scans nothing), and the ranks allgather
 * these (guess -> end) pairs, for a batch of files at a time, so ranks whose
 * shares lie in different files scan at the same time. Every rank then walks
 * the chain from each file's start: the true start of rank r is the end
 * reached by rank r-1. If the true start is none of rank r's guesses (only
 * after a resync), rank r rescans from it and broadcasts the end.
 * csv_open() is collective; everything else is local.
 *
 * A record that is a line without a quote is split 32 bytes at a time, with
 * AVX2 where the CPU has it (decided at run time) and SSE2 otherwise; the
 * environment variable PRECIS_CSV_NO_AVX2 forces SSE2 (tests read both).
 * So is a record with quotes that ends inside the bytes in view, is no
 * longer than max_field, and has every quote where the rules above put it
 * (each quoted field "...", inner quotes doubled): inside-quotes masks come
 * from the parity of the quotes before each byte, which is where the rule
 * above ends the record. Any other record with a quote is read by the rule
 * itself, byte run by byte run; PRECIS_CSV_SLOW_QUOTES reads every one that
 * way (tests/unit/test_csv.c compares the two).
 */
#ifndef PRECIS_CSV_H
#define PRECIS_CSV_H

#include "check.h"
#include <stddef.h>
#include <stdint.h>

#define CSV_MAX_FIELD_DEFAULT ((size_t)1 << 20)

enum csv_status {
    CSV_OK = 0,
    CSV_BAD_QUOTE,
    CSV_OPEN_QUOTE,
    CSV_FIELD_TOO_LONG,
    CSV_BAD_UTF8,
    CSV_FIELD_COUNT,
    CSV_NUL_BYTE,      /* a NUL byte in a field: a binary or UTF-16 file, or a damaged one */
    CSV_BAD_ENCODING,  /* (with csv_opts.encoding) a field not valid in that encoding */
    CSV_NSTATUS
};

typedef struct csv_opts {
    char delim;        /* ',' by default */
    int has_header;    /* 1 by default */
    size_t max_field;  /* CSV_MAX_FIELD_DEFAULT by default */
    int64_t split_bytes; /* test hook: 0 = even split; otherwise rank r starts at r*split_bytes */
    const int *fds;    /* NULL, or per file an open descriptor to map instead of opening the path (-1: open it) */
    char *const *names; /* NULL, or per file the name that messages and csv_path give */
    const char *encoding; /* NULL or UTF-8: records must be valid UTF-8. Otherwise an
                           * ASCII-compatible encoding iconv knows (CP1252, LATIN1,
                           * GB18030, SHIFT_JIS ...): header names and the fields of
                           * records with non-ASCII bytes are converted to UTF-8, and a
                           * field not valid in it makes the record CSV_BAD_ENCODING;
                           * raw stays as read. */
} csv_opts;

typedef struct csv_record {
    int file;          /* index of the file in the reader's list */
    int64_t line;      /* 1-based line number of the record's first byte */
    int64_t offset;    /* byte offset of the record in its file */
    const char *raw;   /* the record's bytes, without its line ending */
    size_t raw_len;
    int nfields;       /* 0 when the record is bad at the boundary level */
    const char **f;    /* field values, unescaped; valid until the next call */
    size_t *flen;
    int status;        /* enum csv_status */
    int bad_field;     /* 0-based field of the problem, or -1 */
} csv_record;

typedef struct csv_reader csv_reader;

/* Default options. Can't fail. */
void csv_opts_default(csv_opts *o);

/* The delimiter the --delimiter option s names, into *delim: one character,
 * or "tab" (or "\t") for a tab. Returns 0, or -1 with code 2 when s names
 * none a CSV can have (a quote, a line end, a letter or digit, a non-ASCII
 * byte, or more than one character). */
int csv_delim_option(const char *s, char *delim, precis_err *e);

/* Collective over comm. Map the files, read their headers, split the data
 * bytes and agree on record boundaries. Returns 0, or -1 on every rank (code
 * 4 for I/O, 3 for a header with broken quoting). */
int csv_open(MPI_Comm comm, char *const *paths, int npaths, const csv_opts *o,
             csv_reader **out, precis_err *e);

/* Next record of this rank. Returns 1 with *rec filled, or 0 at the end.
 * Can't fail: problems are reported in rec->status. */
int csv_next(csv_reader *r, csv_record *rec);

/* Header of file i (nfields 0 when the file is empty or holds only blank
 * lines). Blank lines before the header are skipped, so it is the first
 * line with something on it; csv_header_line gives its line number. Can't
 * fail. */
void csv_header(const csv_reader *r, int file, int *nfields, const char *const **names,
                const size_t **lens);
int64_t csv_header_line(const csv_reader *r, int file);
const char *csv_path(const csv_reader *r, int file);

/* Records with quotes that csv_next split in its one-pass way so far (the
 * others go by the boundary rule; tests/unit/test_csv.c compares the two
 * ways with PRECIS_CSV_SLOW_QUOTES set, which turns the one-pass way off). */
int64_t csv_quoted_fast(const csv_reader *r);
/* The raw bytes of the record that starts at byte s of the open file fd
 * (size bytes), as csv_next returned them (without the line ending), found
 * by the record boundary rule: for a record read before, to hash it again
 * without keeping it. Reads a window at s with pread (64 KiB, grown while
 * the record runs past it), into *buf (*cap bytes, grown with realloc), so
 * only the record's own pages are touched. Returns 0 with *len, or -1 with
 * errno (a read error, or ENOMEM). */
int csv_raw_read(int fd, int64_t size, int64_t s, size_t max_field, char **buf, size_t *cap, size_t *len);
int csv_nfiles(const csv_reader *r);
/* Bytes of this rank's share, and blank lines skipped so far (those before
 * the headers are counted by rank 0 alone: a sum over ranks counts each
 * blank line once). */
int64_t csv_local_bytes(const csv_reader *r);
int64_t csv_blank_lines(const csv_reader *r);

/* Start this rank's records again from the first one. Can't fail. */
void csv_rewind(csv_reader *r);

/* Unmap and free. Can't fail. */
void csv_close(csv_reader *r);

/* Short stable name of a status ("bad_quote", ...). */
const char *csv_status_name(int status);

/* Nonzero when s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int csv_utf8_valid(const char *s, size_t n);

#endif
