#include "cvfio.h"
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
