// Why C: a signal handler may only make async-signal-safe calls (signal-safety(7)). Swift code allocates,
// takes locks and retains objects, and FileManager's removal (fts) allocates too, so neither may run in a
// handler. Everything a handler touches here is set up beforehand: the paths live in fixed slots written under
// a sequence counter, and the removal uses open/openat/getdents64/unlinkat/close and static buffers only.
//
// Trade-off: the handler removes at most MAX_DEPTH levels of directories (deeper ones stay behind; snapshots
// refuse members that deep), and a signal arriving while a slot is being written skips that slot (the
// directory was only just made and is still empty, or its owner is removing it).
#define _GNU_SOURCE
#include "cvfio_cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SLOTS 64
#define MAX_DEPTH 128

struct slot {
    atomic_uint sequence;  // odd while the path is being written
    atomic_int used;
    char path[PATH_MAX];
};

struct level {
    int fd;
    long pos, len;
    char name[NAME_MAX + 1];
    char buf[2048];
};

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static struct slot slots[SLOTS];
static pthread_mutex_t registration = PTHREAD_MUTEX_INITIALIZER;
static int installed;
static atomic_flag emergency_running = ATOMIC_FLAG_INIT;
// Only the one emergency removal (signal or exit) uses these; normal removals allocate their own.
static struct level emergency_levels[MAX_DEPTH];
static char emergency_path[PATH_MAX];
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void copy_name(char *dst, const char *src, size_t cap) {
    size_t i = 0;
    for (; i + 1 < cap && src[i]; i++) dst[i] = src[i];
    dst[i] = 0;
}

static int remove_with(const char *path, struct level *levels) {
    int top = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0) {
        if (errno == ENOENT) return 0;
        // Not a directory (or a link): remove the name itself.
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    }
    (void)fchmod(top, 0700);
    int depth = 0;
    levels[0].fd = top;
    levels[0].pos = levels[0].len = 0;
    levels[0].name[0] = 0;
    while (depth >= 0) {
        struct level *l = &levels[depth];
        if (l->pos >= l->len) {
            long n = syscall(SYS_getdents64, l->fd, l->buf, sizeof l->buf);
            if (n <= 0) {
                close(l->fd);
                if (depth > 0) (void)unlinkat(levels[depth - 1].fd, l->name, AT_REMOVEDIR);
                depth--;
                continue;
            }
            l->len = n;
            l->pos = 0;
        }
        struct linux_dirent64 *d = (struct linux_dirent64 *)(l->buf + l->pos);
        l->pos += d->d_reclen;
        const char *name = d->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
        if (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN) {
            (void)unlinkat(l->fd, name, 0);
            continue;
        }
        if (unlinkat(l->fd, name, AT_REMOVEDIR) == 0) continue;
        if (d->d_type == DT_UNKNOWN && errno == ENOTDIR) {
            (void)unlinkat(l->fd, name, 0);
            continue;
        }
        if (depth + 1 >= MAX_DEPTH) continue;
        int child = openat(l->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) continue;
        (void)fchmod(child, 0700);
        depth++;
        levels[depth].fd = child;
        levels[depth].pos = levels[depth].len = 0;
        copy_name(levels[depth].name, name, sizeof levels[depth].name);
    }
    if (rmdir(path) == 0 || errno == ENOENT) return 0;
    return -1;
}

// A helper (tar) still writing into the tree can add an entry after its directory was read; another pass
// removes it (once a directory is gone, nothing more can be made in it).
static int remove_passes(const char *path, struct level *levels) {
    int rc = -1;
    for (int pass = 0; pass < 3; pass++) {
        rc = remove_with(path, levels);
        if (rc == 0 || errno != ENOTEMPTY) break;
    }
    return rc;
}

int cvfio_remove_tree(const char *path) {
    struct level *levels = malloc(sizeof(struct level) * MAX_DEPTH);
    if (!levels) return -1;
    int rc = remove_passes(path, levels);
    int saved = errno;
    free(levels);
    errno = saved;
    return rc;
}

// Removes every registered directory; runs in a signal handler or at exit, once per process.
static void remove_registered(void) {
    if (atomic_flag_test_and_set(&emergency_running)) return;
    for (int i = 0; i < SLOTS; i++) {
        unsigned before = atomic_load(&slots[i].sequence);
        if ((before & 1) || !atomic_load(&slots[i].used)) continue;
        copy_name(emergency_path, slots[i].path, sizeof emergency_path);
        if (atomic_load(&slots[i].sequence) != before || !emergency_path[0]) continue;
        (void)remove_passes(emergency_path, emergency_levels);
    }
    atomic_flag_clear(&emergency_running);
}

static void on_fatal_signal(int sig) {
    int saved = errno;
    remove_registered();
    // Die of the same signal, as without vfioctl's handler: the default action runs once this handler returns
    // (the signal is blocked while it runs, so raise() leaves it pending).
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    (void)sigaction(sig, &dfl, NULL);
    (void)raise(sig);
    errno = saved;
}

static void at_exit(void) { remove_registered(); }

static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_fatal_signal;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) sigaddset(&action.sa_mask, fatal_signals[i]);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction old;
        // A signal the parent chose to ignore (nohup's SIGHUP) stays ignored.
        if (sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        (void)sigaction(fatal_signals[i], &action, NULL);
    }
    (void)atexit(at_exit);
}

int cvfio_cleanup_register(const char *path) {
    size_t length = strlen(path);
    if (length == 0 || length >= PATH_MAX) return -1;
    pthread_mutex_lock(&registration);
    if (!installed) {
        install();
        installed = 1;
    }
    int found = -1;
    for (int i = 0; i < SLOTS; i++) {
        if (atomic_load(&slots[i].used)) continue;
        atomic_fetch_add(&slots[i].sequence, 1);
        memcpy(slots[i].path, path, length + 1);
        atomic_store(&slots[i].used, 1);
        atomic_fetch_add(&slots[i].sequence, 1);
        found = i;
        break;
    }
    pthread_mutex_unlock(&registration);
    return found;
}

int cvfio_cleanup_remove(int slot) {
    if (slot < 0 || slot >= SLOTS) return -1;
    int rc = cvfio_remove_tree(slots[slot].path);
    int saved = errno;
    pthread_mutex_lock(&registration);
    atomic_fetch_add(&slots[slot].sequence, 1);
    atomic_store(&slots[slot].used, 0);
    slots[slot].path[0] = 0;
    atomic_fetch_add(&slots[slot].sequence, 1);
    pthread_mutex_unlock(&registration);
    errno = saved;
    return rc;
}
