/* h5so.h - HDF5's integer scale-offset filter, encoded and decoded faster.
 *
 * DESIGN
 * HDF5 packs a chunk of a scale-offset dataset one function call per byte
 * of every element; for clean.h5's codes and timestamps that was a tenth of
 * precis-clean's instructions. h5so_install() puts h5so_filter in that
 * filter's place in this process's filter table. The format is HDF5's, bit
 * for bit, so files read the same in any HDF5, h5py or h5dump, and files
 * that HDF5 wrote read here:
 *   a 21-byte header: minbits (4 bytes, little-endian), the byte 8, the
 *   chunk's minimum (8 bytes, little-endian, sign-extended), 8 zero bytes;
 *   then each element's offset from the minimum in minbits bits, most
 *   significant bit first. With a fill value defined (HDF5's default fill,
 *   0, counts), elements equal to it are left out of the minimum and the
 *   range and stored as all ones. A range too wide to gain anything (within
 *   2 of the type's) is stored as is, after the header.
 * Only the case h5io writes is served here: integers in the machine's byte
 * order (little-endian), minbits left to the filter. Everything else
 * (floating point, big-endian data, a fixed minbits) goes to HDF5's own
 * function, as before.
 *
 * HDF5 refuses to re-register a predefined filter through H5Zregister, so
 * installing takes the library's internal H5Z_register and its filter class
 * H5Z_SCALEOFFSET, both exported by the shared library, through dlsym; where
 * either is missing, nothing changes. PRECIS_H5_BUILTIN_SCALEOFFSET=1 in the
 * environment keeps HDF5's own filter (tests compare the two).
 */
#ifndef PRECIS_H5SO_H
#define PRECIS_H5SO_H

#include <hdf5.h>
#include <stddef.h>

/* Put h5so_filter in place of HDF5's scale-offset filter, once per process,
 * before any dataset is written or read (HDF5 here is not thread-safe).
 * Returns 1 when installed, 0 when HDF5's own filter stays. Can't fail. */
int h5so_install(void);

/* The filter (H5Z_func_t): encodes, or decodes with H5Z_FLAG_REVERSE, one
 * chunk in *buf (nbytes; from H5allocate_memory, freed here and replaced).
 * Returns the bytes of the result, or 0 when the chunk cannot be decoded
 * (a header out of range, a chunk shorter than its header says) or memory
 * runs out. */
size_t h5so_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                   size_t *buf_size, void **buf);

#endif
