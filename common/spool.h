/* spool.h - compressed CSV inputs (gzip, zstd, xz, bzip2, lz4, a zip archive
 * of one file), decompressed once to unlinked files; UTF-16 and UTF-32 ones
 * transcoded to UTF-8 on the way.
 *
 * DESIGN
 * The CSV reader maps its files and splits them into byte ranges, which a
 * compressed stream cannot offer: its bytes can only be read from the
 * start. So an input that starts with the magic bytes of gzip (1f 8b), zstd
 * (28 b5 2f fd, or a skippable frame's 5? 2a 4d 18), xz (fd 37 7a 58 5a 00)
 * bzip2 ("BZh" and a block's or the end's magic) or lz4's frame format
 * (04 22 4d 18), whatever its name, is decompressed by one rank into a
 * spool file (zlib, libzstd, liblzma, libbz2, liblz4), and read from there
 * (lz4's legacy format, `lz4 -l`, 02 21 4c 18, is refused by name: exit 3); so is the one file of a zip archive (PK 03
 * 04, or an empty archive's PK 05 06) with libzip.
 *   - Detection: rank i % P reads the first bytes of input i; an allreduce
 *     gives every rank every file's kind and size.
 *   - A zip archive must hold one file, folders and macOS's __MACOSX/, ._*
 *     and .DS_Store entries aside; none or several is exit 3 (which one is
 *     the table is not the reader's to guess), and so is a CRC that does
 *     not match, an encrypted file or an archive libzip cannot open.
 *   - Work: the compressed inputs go to ranks largest first, each to the
 *     rank with the fewest compressed bytes so far (ties to the lower rank),
 *     the same on every rank. One large file is decompressed by one rank
 *     while the others wait: give part files to spread the work.
 *   - A spool file is created exclusively, mode 0600, in the spool directory
 *     (which every rank must see: by default the output's directory), and
 *     named .precis-spool.<host>.<pid>.<call>.<n> after the process that
 *     makes it (hidden, so no input glob matches it). After it is written,
 *     every rank opens it, and after an agreement its maker unlinks it: the
 *     open descriptors keep it readable, and a run that then fails, is
 *     stopped or is killed leaves no copy of the raw data behind. Only a run
 *     killed while decompressing leaves one, and the next run whose spool
 *     directory it is (compressed inputs or not) removes it at its first
 *     spool_inputs call: each rank removes the spool files of
 *     its host whose process is gone (kill(pid, 0) gives ESRCH), with a
 *     warning naming them; other hosts' files and live processes' are kept.
 *   - Concatenated members are read one after another: gzip members (pigz,
 *     bgzip), zstd frames (pzstd) and skippable frames, xz streams, bzip2
 *     streams (pbzip2), lz4 frames (`cat a.lz4 b.lz4`, which the lz4 tool
 *     reads whole) and skippable frames. lz4 frames' content checksums are
 *     checked when the frame has one (the lz4 tool writes one). Zero bytes between or after gzip members and xz
 *     streams are skipped (padding). zstd frames may ask for the largest
 *     window libzstd reads (`zstd --long=31`). Damaged data, a stream that
 *     ends early or anything else after a member stops the run (exit 3,
 *     naming the file, the kind and the compressed byte by which it was
 *     found: where zlib, liblzma or libbz2 stopped, or for libzstd and
 *     liblz4, which report no input taken by a failed step, the end of
 *     what was read): no rows of it would be lost silently. A decoder
 *     that has filled its output is called again before more input is
 *     read, so output it holds at the input's end is not taken for a cut
 *     stream.
 *   - The decompressing rank says every 10 s how far it is (the text so
 *     far, the share of the file read; PRECIS_PROGRESS_S sets the period
 *     for the tests).
 *   - A stop signal ends the decompression at the next 1 MiB chunk with
 *     exit 75 (ckpt_stop_here; the test hook PRECIS_STOP_AT=spool:<chunk>).
 * The decompressed bytes are read with line numbers and byte offsets of
 * their own: quarantine rows name the compressed file, and the line and
 * offset in its decompressed text.
 *
 * UTF-16 and UTF-32 text (Excel's "Unicode text", SQL Server's bcp -w,
 * PowerShell 5's redirection) cannot be split on the bytes of ',' and
 * '\n' either, so it goes through the spool too, transcoded to UTF-8 with
 * iconv on the way (after any decompression: a .csv.gz of UTF-16 is read).
 *   - A file whose text starts with a UTF-16 or UTF-32 byte-order mark
 *     (ff fe, fe ff, ff fe 00 00, 00 00 fe ff) is transcoded from it, the
 *     mark dropped, when --encoding is the UTF-8 default. Under another
 *     ASCII-compatible --encoding (CP1252 ...) such a file is exit 3.
 *   - --encoding UTF-16 or UTF-32 (or UCS-2, UCS-4) transcodes every input:
 *     the byte order is the mark's, or without one the order in which the
 *     header's first ASCII character shows (00 first: big-endian), else
 *     little-endian. UTF-16LE, UTF-16BE, UTF-32LE and UTF-32BE fix the
 *     order: a mark of the other order, or a UTF-8 mark, is exit 3.
 *   - A code unit that is not the encoding (a lone surrogate, a last
 *     character cut short) becomes the byte ff, which is never UTF-8: its
 *     row is quarantined as bad_utf8 with its line, and a warning counts
 *     them. No row is lost silently.
 *   - Line numbers are the text's; byte offsets are those of its UTF-8.
 */
#ifndef PRECIS_SPOOL_H
#define PRECIS_SPOOL_H

#include "check.h"
#include <stdint.h>

typedef struct spool {
    int n;
    int *fd;        /* per input: its open, unlinked spool file, or -1 (read the input itself) */
    int64_t *size;  /* per input: decompressed bytes, or -1 */
} spool;

/* Collective over comm. Decompress the compressed inputs among paths[0..n) into
 * spool files in dir (a job's --spool), or when dir is NULL in the directory
 * of out (the job's --out), transcoding UTF-16 and UTF-32 text to UTF-8;
 * see DESIGN. *encoding is the job's --encoding (NULL: UTF-8) on entry,
 * and on return the one the CSV reader reads the inputs in: NULL (UTF-8)
 * when it named UTF-16 or UTF-32, whose files are all transcoded. Returns
 * 0 with *s filled (every fd -1 when no input is compressed or
 * transcoded), or -1 on every rank with nothing left open or on disk:
 * code 3 for damaged or unsupported compressed data or a byte-order mark
 * that contradicts *encoding, 4 for I/O (a spool
 * file that cannot be written or opened), 75 when stopped. */
int spool_inputs(MPI_Comm comm, char *const *paths, int n, const char *dir, const char *out, const char **encoding, spool *s,
                 precis_err *e);

/* Whether --encoding names UTF-16 or UTF-32 (or UCS-2, UCS-4), which the
 * spool transcodes (and the CSV reader could not read). */
int spool_is_unicode(const char *encoding);

/* Close the spool files (their space is freed then). Can't fail. */
void spool_close(spool *s);

#endif
