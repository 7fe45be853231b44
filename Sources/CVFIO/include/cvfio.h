// Raw VFIO bindings (linux/vfio.h, Documentation/driver-api/vfio.rst). ioctl(2) is variadic and cannot be
// called from Swift, so each request gets a typed C function here and nothing else: the Swift side
// (Sources/Host/VFIO) owns every decision. Each returns ioctl's result (-1 and errno on failure).
#ifndef CVFIO_H
#define CVFIO_H

#include <linux/vfio.h>
#include <stddef.h>
#include <stdint.h>

int cvfio_get_api_version(int container);
int cvfio_check_extension(int container, int extension);
int cvfio_group_get_status(int group, struct vfio_group_status *status);
int cvfio_group_set_container(int group, int container);
int cvfio_group_unset_container(int group);
int cvfio_set_iommu(int container, int type);
int cvfio_group_get_device_fd(int group, const char *address);
int cvfio_device_get_info(int device, struct vfio_device_info *info);
int cvfio_device_get_region_info(int device, struct vfio_region_info *info);
int cvfio_device_reset(int device);

// The user-space driver's requests (Sources/Host/VFIO/VFIOSession.swift).
int cvfio_iommu_map_dma(int container, uint64_t vaddr, uint64_t iova, uint64_t size);
int cvfio_iommu_unmap_dma(int container, uint64_t iova, uint64_t size);
int cvfio_device_get_irq_info(int device, uint32_t index, uint32_t *count, uint32_t *flags);
/// VFIO_IRQ_SET_DATA_EVENTFD | ACTION_TRIGGER for vectors start..<start+count (fd -1 leaves a vector unwired).
int cvfio_device_set_irqs_eventfd(int device, uint32_t index, uint32_t start, uint32_t count, const int32_t *fds);
/// VFIO_IRQ_SET_DATA_NONE | ACTION_TRIGGER: vfio-pci signals the vectors' eventfds itself (a loopback test).
int cvfio_device_trigger_irqs(int device, uint32_t index, uint32_t start, uint32_t count);
/// count 0: disables the index (MSI-X off, eventfds released).
int cvfio_device_disable_irqs(int device, uint32_t index);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); <sys/eventfd.h> is not in Glibc's Swift module.
int cvfio_eventfd(void);
/// Volatile MMIO and DMA-memory accesses: Swift loads may be merged or hoisted, a device register must not be.
uint32_t cvfio_load32(const void *base, uint64_t offset);
uint64_t cvfio_load64(const void *base, uint64_t offset);
/// A full fence, then the store: queue entries written before a doorbell reach memory before it rings.
void cvfio_store32(void *base, uint64_t offset, uint32_t value);
void cvfio_fence(void);
/// Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd for them: `vfioctl emulate` polls it beside its
/// sockets, so a stop request ends the loop and every resource is released on the way out.
int cvfio_stop_signalfd(void);
/// A listening AF_UNIX stream socket bound at `path` (ENAMETOOLONG past sun_path).
int cvfio_unix_listen(const char *path);
int cvfio_unix_socketpair(int fds[2]);

// The request constants Swift cannot import from the _IO macros.
static const int CVFIO_API_VERSION = VFIO_API_VERSION;
static const int CVFIO_TYPE1_IOMMU = VFIO_TYPE1_IOMMU;
static const int CVFIO_TYPE1v2_IOMMU = VFIO_TYPE1v2_IOMMU;
static const uint32_t CVFIO_GROUP_FLAGS_VIABLE = VFIO_GROUP_FLAGS_VIABLE;
static const uint32_t CVFIO_DEVICE_FLAGS_RESET = VFIO_DEVICE_FLAGS_RESET;
static const uint32_t CVFIO_DEVICE_FLAGS_PCI = VFIO_DEVICE_FLAGS_PCI;
static const uint32_t CVFIO_PCI_CONFIG_REGION_INDEX = VFIO_PCI_CONFIG_REGION_INDEX;
static const uint32_t CVFIO_PCI_BAR0_REGION_INDEX = VFIO_PCI_BAR0_REGION_INDEX;
static const uint32_t CVFIO_PCI_MSIX_IRQ_INDEX = VFIO_PCI_MSIX_IRQ_INDEX;
static const uint32_t CVFIO_REGION_INFO_FLAG_MMAP = VFIO_REGION_INFO_FLAG_MMAP;

// openat2(2) with RESOLVE_IN_ROOT (Linux 5.6; Sources/CVFIO/openat2.c): glibc has no wrapper, and the call
// takes a struct Swift would have to lay out by hand.

/// Opens `path` as if `root` were `/`: absolute link targets start again at `root`, `..` stops there, and
/// magic links (/proc/PID/fd) are refused. Returns the fd, or -1 with errno (ENOSYS before Linux 5.6;
/// EAGAIN when a concurrent rename made the kernel give up, worth retrying).
int cvfio_open_in_root(int root, const char *path, int flags);
/// O_PATH, which Glibc's Swift overlay does not export (it needs _GNU_SOURCE).
int cvfio_o_path(void);

// GNU extensions (Sources/CVFIO/gnu.c): declared by glibc only under _GNU_SOURCE, which Swift's Glibc lacks.

/// sched_setaffinity(2) / sched_getaffinity(2) with a mask of `size` bytes (a cpu_set_t); 0 or -1 and errno.
int cvfio_sched_setaffinity(int pid, size_t size, const void *mask);
int cvfio_sched_getaffinity(int pid, size_t size, void *mask);
/// sched_getcpu(3): the CPU the calling thread runs on.
int cvfio_sched_getcpu(void);
/// strerrorname_np(3) (glibc 2.32): "ENOENT" for ENOENT, NULL for a number glibc does not name.
const char *cvfio_errno_name(int code);

#include "cvfio_cleanup.h"

#endif
