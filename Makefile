# Precis - top-level build. `make` builds every job into bin/.
# `make check` runs every test; `make demo` runs the pipeline on datasets/sample;
# `make asan` runs the tests under AddressSanitizer and UBSan; `make bench` runs bench/;
# `make fuzz` runs the libFuzzer targets of tests/fuzz (FUZZ_SECONDS each).

SHELL := /bin/bash
CC := mpicc
PKGS := hdf5-openmpi gsl cmocka openblas libcrypto jansson libdeflate zlib libzstd liblzma liblz4 libzip
BUILD ?= build
BIN ?= bin
OPT ?= -O2 -g
SAN ?=
# how the sanitizer builds (check-asan-smoke, asan, the fuzz targets) compile
ASAN_OPT := -O1 -g -fno-omit-frame-pointer
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
DEPS_STAMP := $(BUILD)/.deps-ok
# the sub-makes below build in parallel (one job per core) unless make was given -j
PAR = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

# Dependencies are checked (and installed) before anything that needs them.
HAVE_DEPS := $(shell command -v mpicc >/dev/null 2>&1 && pkg-config --exists $(PKGS) 2>/dev/null && test -e /usr/include/Random123/philox.h && test -e /usr/include/bzlib.h && echo yes)

ifeq ($(HAVE_DEPS),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs openblas hdf5-openmpi gsl libcrypto jansson libdeflate zlib libzstd liblzma liblz4 libzip) -lbz2 -llapacke -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)
endif

# sanitizer builds keep dlopen'ed modules loaded so LSan can name Open MPI's allocations
SAN_SRC := $(if $(SAN),tests/asan_nodlclose.c)
# -ffp-contract=off: a*b+c is never fused into one FMA instruction, so that a
# build with -march=native (x86 with FMA) or for aarch64 (where GCC fuses by
# default) rounds as the tested build does. Built with -march=native and
# fused, the exact quantiles' interpolation differed from numpy's (9 mpi
# tests failed) and precis-kmeans's centroids from the default build's in
# their last bits; with this flag both equal the default build's bit for bit.
FP := -ffp-contract=off
CFLAGS := -std=gnu11 $(OPT) $(FP) $(SAN) -Wall -Wextra -Werror -Icommon $(PKG_CFLAGS)
# (h5io.c defines pwrite, pwritev and write to check the writes under MPI-IO;
# pwritev is exported even when no library linked here names it)
LDFLAGS := $(SAN) -Wl,--export-dynamic-symbol=pwritev

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(patsubst common/%.c,$(BUILD)/common/%.o,$(COMMON_SRC))
LIB := $(BUILD)/libprecis.a

JOBS := $(notdir $(wildcard jobs/*))
JOB_BINS := $(patsubst %,$(BIN)/precis-%,$(JOBS))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
MPI_SRC := $(wildcard tests/mpi/t_*.c)
MPI_BINS := $(patsubst tests/mpi/%.c,$(BUILD)/tests/%,$(MPI_SRC))

.PHONY: all deps check check-unit check-mpi check-slurm check-asan-smoke check-fuzz check-fma check-cross fuzz demo asan bench clean
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory $(PAR) binaries

binaries: $(JOB_BINS) $(UNIT_BINS) $(MPI_BINS)

deps:
	@bash scripts/install-deps.sh

$(BUILD)/common/%.o: common/%.c common/*.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ)
	@rm -f $@
	@ar rcs $@ $^

# jobs/<job>/main.c plus the job's other sources, as the objects the tests'
# archive is made of (below: each is compiled once) -> bin/precis-<job>
job_objs = $(patsubst jobs/%.c,$(BUILD)/jobs/%.o,$(filter-out %/main.c,$(wildcard jobs/$(1)/*.c)))
.SECONDEXPANSION:
$(BIN)/precis-%: jobs/%/main.c $$(call job_objs,$$*) $$(wildcard jobs/%/*.h) $(LIB)
	@mkdir -p $(BIN)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -Ijobs/$* $< $(call job_objs,$*) $(SAN_SRC) $(LIB) $(LDFLAGS) $(PKG_LIBS) -o $@

# unit and MPI tests may call a job's library functions: every job's non-main
# sources, compiled once (the job binaries link the same objects) into an
# archive the tests link (each test takes the objects it uses)
JOB_LIB_SRC := $(filter-out %/main.c,$(wildcard jobs/*/*.c))
JOB_LIB_OBJ := $(patsubst jobs/%.c,$(BUILD)/jobs/%.o,$(JOB_LIB_SRC))
JOB_INC := $(addprefix -I,$(wildcard jobs/*))
JOBLIB := $(BUILD)/libprecis-jobs.a

$(BUILD)/jobs/%.o: jobs/%.c $(wildcard jobs/*/*.h) common/*.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) $(JOB_INC) -c $< -o $@

$(JOBLIB): $(JOB_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/tests/test_%: tests/unit/test_%.c $(JOBLIB) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(JOB_INC) $< $(SAN_SRC) $(JOBLIB) $(LIB) $(LDFLAGS) $(CMOCKA_LIBS) $(PKG_LIBS) -o $@

$(BUILD)/tests/t_%: tests/mpi/t_%.c $(JOBLIB) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(JOB_INC) $< $(SAN_SRC) $(JOBLIB) $(LIB) $(LDFLAGS) $(PKG_LIBS) -o $@

check: all
	@bash tests/run-all.sh $(BUILD) $(BIN)
	@$(MAKE) --no-print-directory check-asan-smoke
	@$(MAKE) --no-print-directory check-fuzz
	@$(MAKE) --no-print-directory check-fma
	@$(MAKE) --no-print-directory check-cross

# libFuzzer targets (tests/fuzz): common/ again, built by clang with ASan and
# UBSan. `make check` replays their corpus plus a fixed-seed run; `make fuzz`
# explores for FUZZ_SECONDS per target. The replay runs twice: as built here,
# and as built for a CPU without SSE2 and with char unsigned (aarch64, POWER):
# PORTABLE_FLAGS, in $(FUZZP).
FUZZ := $(BUILD)/fuzz
FUZZP := $(BUILD)/fuzz-portable
PORTABLE_FLAGS := -funsigned-char -DPRECIS_CSV_PORTABLE
FUZZ_CFLAGS := -std=gnu11 $(ASAN_OPT) $(FP) $(ASAN_FLAGS) \
  -Wall -Wextra -Werror -Icommon $(PKG_CFLAGS)
# (what the targets link: the reader, the date and number parsers, the PII
# normalisers and what they call)
FUZZ_UNITS := check csv datefmt hugemem numparse pii timeutil tz
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(addprefix $(FUZZ)/,$(FUZZ_NAMES))
FUZZP_BINS := $(addprefix $(FUZZP)/,$(FUZZ_NAMES))

# the rules of one fuzz build: $(1) its directory, $(2) its extra flags
define fuzz_rules
$(1)/common/%.o: common/%.c common/*.h
	@mkdir -p $$(dir $$@)
	@echo "  CLANG   $$@"
	@OMPI_CC=clang $$(CC) $$(FUZZ_CFLAGS) $(2) -fsanitize=fuzzer-no-link -c $$< -o $$@

$(1)/libprecis.a: $$(patsubst %,$(1)/common/%.o,$$(FUZZ_UNITS))
	@rm -f $$@
	@ar rcs $$@ $$^

$(1)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(1)/libprecis.a tests/asan_nodlclose.c
	@echo "  FUZZ    $$@"
	@OMPI_CC=clang $$(CC) $$(FUZZ_CFLAGS) $(2) -fsanitize=fuzzer $$< tests/asan_nodlclose.c $(1)/libprecis.a $$(PKG_LIBS) -o $$@
endef
$(eval $(call fuzz_rules,$(FUZZ),))
$(eval $(call fuzz_rules,$(FUZZP),$(PORTABLE_FLAGS)))

check-fuzz: deps
	@$(MAKE) --no-print-directory $(PAR) $(FUZZ_BINS) $(FUZZP_BINS)
	@bash tests/fuzz/run.sh $(FUZZ) replay
	@bash tests/fuzz/run.sh $(FUZZP) replay

fuzz: deps
	@$(MAKE) --no-print-directory $(PAR) $(FUZZ_BINS)
	@bash tests/fuzz/run.sh $(FUZZ) explore

# A build with FMA instructions (-mfma: what -march=native gives on x86 since
# 2013) must give the default build's bytes (tests/fma; FP above). x86 only:
# elsewhere there is no -mfma, and aarch64's default build may fuse already.
FMA_BUILD := $(BUILD)-fma
FMA_BIN := $(BIN)-fma
check-fma: deps
	@echo "== FMA build (tests/fma)"
	@if [ "$$(uname -m)" = x86_64 ]; then \
	  $(MAKE) --no-print-directory $(PAR) BUILD=$(FMA_BUILD) BIN=$(FMA_BIN) OPT="$(OPT) -mfma" \
	    $(FMA_BUILD)/tests/t_quantile $(FMA_BIN)/precis-kmeans && \
	  bash tests/fma/run.sh $(BUILD) $(BIN) $(FMA_BUILD) $(FMA_BIN); \
	else echo "  skip not x86-64"; fi

# Every C file compiled for aarch64 by Debian's cross compiler (tests/cross).
check-cross: deps
	@echo "== cross compile (tests/cross)"
	@bash tests/cross/run.sh

# A sanitizer build of the unit tests plus an np=2 smoke run (part of `make check`).
check-asan-smoke:
	@$(MAKE) --no-print-directory $(PAR) BUILD=build-asan BIN=bin-asan OPT="$(ASAN_OPT)" \
	  SAN="$(ASAN_FLAGS)" binaries
	@bash tests/run-asan-smoke.sh build-asan bin-asan

# The whole test suite under AddressSanitizer and UBSan.
asan: deps
	@$(MAKE) --no-print-directory $(PAR) BUILD=build-asan BIN=bin-asan OPT="$(ASAN_OPT)" \
	  SAN="$(ASAN_FLAGS)" binaries
	@PRECIS_ASAN=1 bash tests/run-all.sh build-asan bin-asan

demo: all
	@bash scripts/demo.sh $(BIN)

bench: all
	@bash bench/run.sh $(BIN)

clean:
	rm -rf build build-asan build-fma bin bin-asan bin-fma
