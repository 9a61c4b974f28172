/* asan_nodlclose.c - linked into sanitizer builds only. Open MPI unloads its
 * MCA plugins at MPI_Finalize; LeakSanitizer then cannot name the module of
 * their process-lifetime allocations, so tests/lsan.supp could not match
 * them. Keeping modules loaded (dlclose does nothing) lets the suppressions
 * name Open MPI precisely while every other leak is still reported. */
int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
