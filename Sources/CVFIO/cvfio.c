#include "cvfio.h"
#include <errno.h>
#include <sys/ioctl.h>

int cvfio_get_api_version(int container) { return ioctl(container, VFIO_GET_API_VERSION); }
int cvfio_check_extension(int container, int extension) { return ioctl(container, VFIO_CHECK_EXTENSION, extension); }
int cvfio_group_get_status(int group, struct vfio_group_status *status) {
    status->argsz = sizeof(*status);
    return ioctl(group, VFIO_GROUP_GET_STATUS, status);
}
int cvfio_group_set_container(int group, int container) { return ioctl(group, VFIO_GROUP_SET_CONTAINER, &container); }
int cvfio_group_unset_container(int group) { return ioctl(group, VFIO_GROUP_UNSET_CONTAINER); }
int cvfio_set_iommu(int container, int type) { return ioctl(container, VFIO_SET_IOMMU, type); }
int cvfio_group_get_device_fd(int group, const char *address) { return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, address); }
int cvfio_device_get_info(int device, struct vfio_device_info *info) {
    info->argsz = sizeof(*info);
    return ioctl(device, VFIO_DEVICE_GET_INFO, info);
}
int cvfio_device_get_region_info(int device, struct vfio_region_info *info) {
    info->argsz = sizeof(*info);
    return ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info);
}
int cvfio_device_reset(int device) { return ioctl(device, VFIO_DEVICE_RESET); }

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

int cvfio_iommu_map_dma(int container, uint64_t vaddr, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = vaddr, .iova = iova, .size = size,
    };
    return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}
int cvfio_iommu_unmap_dma(int container, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = iova, .size = size };
    return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}
int cvfio_device_get_irq_info(int device, uint32_t index, uint32_t *count, uint32_t *flags) {
    struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
    int rc = ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &info);
    if (rc >= 0) { *count = info.count; *flags = info.flags; }
    return rc;
}
int cvfio_device_set_irqs_eventfd(int device, uint32_t index, uint32_t start, uint32_t count, const int32_t *fds) {
    if (count > 2048) { errno = EINVAL; return -1; }
    size_t size = sizeof(struct vfio_irq_set) + sizeof(int32_t) * count;
    struct vfio_irq_set *set = calloc(1, size);
    if (!set) return -1;
    set->argsz = (uint32_t)size;
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = index;
    set->start = start;
    set->count = count;
    memcpy(set->data, fds, sizeof(int32_t) * count);
    int rc = ioctl(device, VFIO_DEVICE_SET_IRQS, set);
    int saved = errno;
    free(set);
    errno = saved;
    return rc;
}
int cvfio_device_trigger_irqs(int device, uint32_t index, uint32_t start, uint32_t count) {
    struct vfio_irq_set set = {
        .argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
        .index = index, .start = start, .count = count,
    };
    return ioctl(device, VFIO_DEVICE_SET_IRQS, &set);
}
int cvfio_device_disable_irqs(int device, uint32_t index) {
    struct vfio_irq_set set = {
        .argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, .index = index, .count = 0,
    };
    return ioctl(device, VFIO_DEVICE_SET_IRQS, &set);
}
int cvfio_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
uint32_t cvfio_load32(const void *base, uint64_t offset) { return *(const volatile uint32_t *)((const char *)base + offset); }
uint64_t cvfio_load64(const void *base, uint64_t offset) { return *(const volatile uint64_t *)((const char *)base + offset); }
void cvfio_store32(void *base, uint64_t offset, uint32_t value) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    *(volatile uint32_t *)((char *)base + offset) = value;
}
void cvfio_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int cvfio_stop_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
int cvfio_unix_listen(const char *path) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}
int cvfio_unix_socketpair(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }
