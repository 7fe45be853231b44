// glibc's GNU extensions that Swift's Glibc module does not import (their declarations need _GNU_SOURCE). Called
// through real C functions, so they link into a static executable as well (the lab's) and the compiler checks
// every argument against glibc's own prototypes.
#define _GNU_SOURCE
#include "cvfio.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

int cvfio_sched_setaffinity(int pid, size_t size, const void *mask) {
    return sched_setaffinity((pid_t)pid, size, (const cpu_set_t *)mask);
}

int cvfio_sched_getaffinity(int pid, size_t size, void *mask) {
    return sched_getaffinity((pid_t)pid, size, (cpu_set_t *)mask);
}

int cvfio_sched_getcpu(void) { return sched_getcpu(); }

const char *cvfio_errno_name(int code) { return strerrorname_np(code); }
