# tests/sanitizers.sh - the sanitizer settings of every sanitizer run (sourced by
# tests/run-all.sh under `make asan`, tests/run-asan-smoke.sh and tests/fuzz/run.sh).
# Open MPI keeps process-lifetime allocations: LSan suppresses them by name
# (tests/lsan.supp), and the slow unwind lets it see the library that made them.
# A sanitizer report exits 86, the code sanitizer builds of precis-clean also
# give for a hugemem block still live at the end.
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:exitcode=86
export LSAN_OPTIONS=suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
