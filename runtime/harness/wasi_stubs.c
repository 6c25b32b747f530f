/* The guest grants nothing: these definitions replace the WASI calls that libc and QuickJS
 * reference, so the linked module imports no host functions at all (a test checks that its
 * only import is plugin_host.call, the composition capability's). Not metered: they are not reachable from plugin code in a way that
 * costs more than a constant.
 *
 * clock_time_get always answers 0. QuickJS seeds its hash seed from the clock at context
 * creation; a constant clock makes that seed, and with it every hash table layout and every
 * gas count, the same on every machine.
 */
#include <stdint.h>
#include <wasi/api.h>

/* libc's WASI wrappers call these import declarations; defining them here resolves the calls
 * inside the module, so no import is emitted. Raw ABI types, as libc declares them. */

int32_t __imported_wasi_snapshot_preview1_clock_time_get(int32_t id, int64_t precision, int32_t time_ptr)
{
    (void)id;
    (void)precision;
    *(uint64_t *)(uintptr_t)time_ptr = 0;
    return 0;
}

int32_t __imported_wasi_snapshot_preview1_fd_fdstat_get(int32_t fd, int32_t stat_ptr)
{
    (void)fd;
    (void)stat_ptr;
    return __WASI_ERRNO_BADF;
}

int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset_ptr)
{
    (void)fd;
    (void)offset;
    (void)whence;
    (void)newoffset_ptr;
    return __WASI_ERRNO_BADF;
}

int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten_ptr)
{
    (void)fd;
    (void)iovs;
    (void)iovs_len;
    *(uint32_t *)(uintptr_t)nwritten_ptr = 0;
    return __WASI_ERRNO_BADF;
}

/* zig's libc implements close() itself and calls the fd_close import directly */
int close(int fd)
{
    (void)fd;
    return -1;
}
