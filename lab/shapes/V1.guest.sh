# The cpuset controller on a v1 hierarchy of its own, as on older hosts: a tmpfs at /sys/fs/cgroup with one
# directory per v1 controller (cpuset here) and the unified hierarchy beside it, like systemd's hybrid layout.
umount /sys/fs/cgroup
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/cpuset /sys/fs/cgroup/unified
mount -t cgroup -o cpuset cgroup /sys/fs/cgroup/cpuset
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
