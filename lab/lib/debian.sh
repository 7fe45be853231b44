# The Debian shape's disk image and lab disk (bash, sourced by lab/run-tests).
#
# The image: mmdebstrap (minbase + the packages below) into a folder, the lab's cached kernel package installed
# with dpkg -i (its postinst runs the real update-initramfs), then without loop devices or root mounts: sfdisk
# writes an MBR with one partition at 1 MiB, mkfs.ext4 -d fills that partition from the folder (-E offset), and
# GRUB's boot.img (MBR code) and a core.img made by grub-mkimage (prefix (hd0,msdos1)/boot/grub) go in sector 0 and
# the gap after it, as grub-install would put them. /boot/grub/grub.cfg is written once here; update-grub in the
# guest replaces it. Cached as lab/cache/debian/KEY/disk.img, KEY from the package list, this file, the shape's
# guest files and the kernel; each boot runs on a qcow2 overlay, so the image itself never changes.

DEBIAN_SUITE=bookworm
DEBIAN_PACKAGES=(
    systemd-sysv udev dbus kmod linux-base initramfs-tools zstd grub2-common grub-pc-bin
    libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils ovmf swtpm
    python3 busybox-static cpio procps iproute2 pciutils pci.ids jq
)
# Units a test machine does not need; each costs boot time under TCG.
DEBIAN_MASKED_UNITS=(
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer
    getty@tty1.service serial-getty@ttyS0.service libvirt-guests.service systemd-timesyncd.service
    e2scrub_reap.service
)
DEBIAN_HOST_PACKAGES=("mmdebstrap:mmdebstrap" "grub-mkimage:grub-pc-bin" "sfdisk:fdisk" "mkfs.ext4:e2fsprogs" "qemu-img:qemu-utils")
DEBIAN_DISK_SIZE=6G

# Two cached stages: the root folder from mmdebstrap (slow: downloads and the kernel's initramfs), keyed by the
# package list, the suite and the kernel; and the disk image made from a copy of it, keyed by that and the recipe
# (this file and the runner), so changing the recipe does not download everything again.
debian_rootfs_key() {
    printf '%s\n' "$DEBIAN_SUITE" "${DEBIAN_PACKAGES[@]}" "$KERNEL_VERSION" "$DEBIAN_MMDEBSTRAP_RECIPE" | sha256sum | cut -c1-16
}
DEBIAN_MMDEBSTRAP_RECIPE="minbase, no recommends, no docs; kernel deb with dpkg -i; grub-pc preseeded, installed last"

debian_image_key() {
    {
        debian_rootfs_key
        printf '%s\n' "${DEBIAN_MASKED_UNITS[@]}"
        cat "$LAB_DIR/lib/debian.sh" "$LAB_DIR"/shapes/debian/lab-runner "$LAB_DIR"/shapes/debian/lab-runner.service
    } | sha256sum | cut -c1-16
}

ensure_debian_host_packages() {
    local saved=("${LAB_HOST_PACKAGES[@]}")
    LAB_HOST_PACKAGES=("${DEBIAN_HOST_PACKAGES[@]}")
    ensure_host_packages
    LAB_HOST_PACKAGES=("${saved[@]}")
}

# Build (or reuse) the root folder. Sets DEBIAN_ROOTFS.
ensure_debian_rootfs() {
    local dir=$LAB_CACHE/debian/rootfs-$(debian_rootfs_key)
    DEBIAN_ROOTFS=$dir/root
    [[ -f $dir/.complete ]] && return 0
    local kdeb
    kdeb=$(ls "$LAB_CACHE/kernel/$KERNEL_VERSION/deb/"linux-image-*.deb 2>/dev/null | head -1)
    [[ -f $kdeb ]] || die "no cached kernel package under $LAB_CACHE/kernel/$KERNEL_VERSION/deb"
    log "building the Debian root folder ($DEBIAN_SUITE, ${#DEBIAN_PACKAGES[@]} packages + kernel $KERNEL_VERSION; mmdebstrap)"
    local started include
    started=$(now)
    rm -rf "$dir"
    mkdir -p "$dir"
    include=$(IFS=,; echo "${DEBIAN_PACKAGES[*]}")
    # The hooks run on this machine with the root folder as $1 (mmdebstrap's root mode: chroot works there).
    if ! PATH=$PATH:/usr/sbin:/sbin mmdebstrap --variant=minbase --include="$include" \
        --aptopt='Apt::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --customize-hook="cp '$kdeb' \"\$1/tmp/kernel.deb\" && chroot \"\$1\" dpkg -i /tmp/kernel.deb && rm \"\$1/tmp/kernel.deb\"" \
        --customize-hook='printf "%s\n" "grub-pc grub-pc/install_devices multiselect" "grub-pc grub-pc/install_devices_empty boolean true" | chroot "$1" debconf-set-selections' \
        --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q grub-pc' \
        "$DEBIAN_SUITE" "$dir/root" >"$dir/mmdebstrap.log" 2>&1; then
        tail -30 "$dir/mmdebstrap.log" >&2
        die "mmdebstrap failed (log: $dir/mmdebstrap.log)"
    fi
    touch "$dir/.complete"
    log "  root folder ready in $(elapsed "$started") s ($(du -sh "$dir/root" | cut -f1))"
}

# Build (or reuse) the disk image. Sets DEBIAN_IMAGE.
ensure_debian_image() {
    local key dir
    key=$(debian_image_key)
    dir=$LAB_CACHE/debian/image-$key
    DEBIAN_IMAGE=$dir/disk.img
    [[ -f $dir/.complete ]] && { touch "$dir/.complete"; return 0; }
    ensure_debian_host_packages
    local started
    started=$(now)
    ensure_debian_rootfs
    log "making the Debian disk image in ${dir#"$REPO_DIR"/}"
    rm -rf "$dir"
    mkdir -p "$dir"
    local root=$dir/root uuid
    uuid=$(cat /proc/sys/kernel/random/uuid)
    cp -a "$DEBIAN_ROOTFS" "$root" || die "could not copy the root folder"
    (set -e; debian_customize "$root" "$uuid" "$LAB_DIR") >"$dir/customize.log" 2>&1
    (($? == 0)) || { tail -20 "$dir/customize.log" >&2; die "could not configure the Debian root folder"; }
    debian_make_disk "$root" "$dir/disk.img.tmp" "$uuid" || die "could not make the disk image"
    mv "$dir/disk.img.tmp" "$DEBIAN_IMAGE"
    rm -rf "$root"
    touch "$dir/.complete"
    log "  Debian image ready in $(elapsed "$started") s"
    # Older images and root folders (another package list or recipe) go.
    local old
    for old in "$LAB_CACHE"/debian/*/; do
        [[ ${old%/} == "$dir" || ${old%/} == "${DEBIAN_ROOTFS%/root}" ]] || rm -rf "$old"
    done
}

# The configuration of a copy of the root folder.
debian_customize() {
    local root=$1 uuid=$2 lab=$3 kver
    # What mmdebstrap's own cleanup leaves out: the package lists are not needed in the image.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    kver=$(ls "$root/usr/lib/modules" | head -1)
    echo debian-lab >"$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 debian-lab\n' >"$root/etc/hosts"
    # No boot-time fsck: the image is made fresh and each boot runs on a new overlay.
    printf 'UUID=%s / ext4 rw,errors=remount-ro 0 0\n' "$uuid" >"$root/etc/fstab"
    chroot "$root" passwd -d root >/dev/null
    # GRUB: serial console, no menu wait; the kernel's own arguments here, vfioctl setup adds its own.
    sed -i -e 's/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=0/' \
        -e 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT="quiet"/' \
        -e 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="console=ttyS0,115200 no_timer_check intel_iommu=on"/' \
        "$root/etc/default/grub"
    printf '%s\n' 'GRUB_TERMINAL=serial' 'GRUB_SERIAL_COMMAND="serial --speed=115200"' 'GRUB_DISABLE_OS_PROBER=true' \
        >>"$root/etc/default/grub"
    # What grub-install puts in /boot/grub: the modules grub.cfg loads.
    mkdir -p "$root/boot/grub/i386-pc"
    cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
    # The first grub.cfg, as update-grub writes it for one kernel (update-grub in the guest replaces it).
    cat >"$root/boot/grub/grub.cfg" <<CFG
serial --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root $uuid
menuentry 'Debian GNU/Linux' {
    linux /boot/vmlinuz-$kver root=UUID=$uuid ro console=ttyS0,115200 no_timer_check intel_iommu=on quiet
    initrd /boot/initrd.img-$kver
}
CFG
    # The image's first initramfs was made in a chroot, where only MODULES=most works; in the guest MODULES=dep
    # (the drivers this machine uses) makes update-initramfs and every later boot much faster under TCG.
    printf '%s\n' '# lab: only the modules this machine needs' 'MODULES=dep' >"$root/etc/initramfs-tools/conf.d/lab"
    # Under TCG on a loaded machine the first boot's units can outlast systemd's defaults (journald's 3 min
    # watchdog, 90 s to start): seen as journald and libvirtd failing to start at load average 20.
    mkdir -p "$root/etc/systemd/system.conf.d"
    printf '%s\n' '[Manager]' 'DefaultTimeoutStartSec=15min' >"$root/etc/systemd/system.conf.d/lab.conf"
    for u in systemd-journald systemd-udevd systemd-logind; do
        mkdir -p "$root/etc/systemd/system/$u.service.d"
        printf '%s\n' '[Service]' 'WatchdogSec=0' >"$root/etc/systemd/system/$u.service.d/lab.conf"
    done
    local u
    for u in "${DEBIAN_MASKED_UNITS[@]}"; do ln -sf /dev/null "$root/etc/systemd/system/$u"; done
    # libvirtd stays up (no idle exit), and no default network (it needs dnsmasq and a bridge; VMs here have none).
    [[ -f $root/etc/default/libvirtd ]] && sed -i 's/^#\?LIBVIRTD_ARGS=.*/LIBVIRTD_ARGS=""/' "$root/etc/default/libvirtd"
    rm -f "$root"/etc/libvirt/qemu/networks/autostart/*.xml
    printf '%s\n' '[Journal]' 'Storage=volatile' >"$root/etc/systemd/journald.conf.d/lab.conf" 2>/dev/null ||
        { mkdir -p "$root/etc/systemd/journald.conf.d" && printf '%s\n' '[Journal]' 'Storage=volatile' >"$root/etc/systemd/journald.conf.d/lab.conf"; }
    install -m 0755 "$lab/shapes/debian/lab-runner" "$root/usr/local/sbin/lab-runner"
    install -m 0644 "$lab/shapes/debian/lab-runner.service" "$root/etc/systemd/system/lab-runner.service"
    ln -sf /etc/systemd/system/lab-runner.service "$root/etc/systemd/system/multi-user.target.wants/lab-runner.service"
    rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
    : >"$root/etc/machine-id"
    rm -f "$root/etc/resolv.conf" "$root/etc/apt/apt.conf.d/99mmdebstrap"
}

# debian_make_disk ROOT IMAGE UUID: MBR, one ext4 partition from 1 MiB filled from ROOT, GRUB in the MBR gap.
debian_make_disk() {
    local root=$1 img=$2 uuid=$3
    rm -f "$img"
    truncate -s "$DEBIAN_DISK_SIZE" "$img"
    printf 'label: dos\nstart=2048, type=83, bootable\n' | PATH=$PATH:/usr/sbin:/sbin sfdisk -q "$img" || return 1
    local bytes fs_kib
    bytes=$(stat -c %s "$img")
    fs_kib=$(((bytes - 1048576) / 1024))
    PATH=$PATH:/usr/sbin:/sbin mkfs.ext4 -q -F -L debian-lab -U "$uuid" -E offset=1048576,root_owner=0:0 -d "$root" "$img" "${fs_kib}k" || return 1
    local mods=$root/usr/lib/grub/i386-pc
    grub-mkimage -O i386-pc -d "$mods" -o "$img.core" -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2 || return 1
    # core.img must fit between the MBR and the partition (sectors 1..2047).
    (($(stat -c %s "$img.core") < 2047 * 512)) || return 1
    dd if="$mods/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none || return 1
    dd if="$img.core" of="$img" bs=512 seek=1 conv=notrunc status=none || return 1
    rm -f "$img.core"
}

# The .deb the guest installs: LAB_DEB, else the newest dist/vfioctl_*_amd64.deb (scripts/package builds it).
debian_deb() {
    local deb=${LAB_DEB:-}
    [[ -z $deb ]] && deb=$(ls -t "$REPO_DIR"/dist/vfioctl_*_amd64.deb 2>/dev/null | head -1)
    if [[ -z $deb && ${LAB_NO_BUILD:-0} != 1 ]]; then
        log "no dist/vfioctl_*_amd64.deb: building it (scripts/package)"
        (cd "$REPO_DIR" && scripts/package) >"$LAB_CACHE/package.log" 2>&1 || { tail -20 "$LAB_CACHE/package.log" >&2; die "scripts/package failed"; }
        deb=$(ls -t "$REPO_DIR"/dist/vfioctl_*_amd64.deb 2>/dev/null | head -1)
    fi
    [[ -f $deb ]] || die "no vfioctl .deb for the Debian shape (scripts/package, or LAB_DEB=PATH)"
    printf '%s\n' "$deb"
}

# debian_prepare_boot BOOT_DIR MODE [RUN_FILE] -- TESTS...: the per-boot overlay and the lab disk (a tar).
debian_prepare_boot() {
    local boot_dir=$1 mode=$2 run_file=$3
    shift 3
    local deb stage
    deb=$(debian_deb) || exit 3
    qemu-img create -q -f qcow2 -b "$DEBIAN_IMAGE" -F raw "$boot_dir/disk.qcow2" || die "qemu-img create failed"
    stage=$(mktemp -d "$boot_dir/lab.XXXXXX")
    mkdir -p "$stage/tests"
    cat "$LAB_DIR/guest/lib.sh" "$LAB_DIR/shapes/debian/lib.sh" >"$stage/lib.sh"
    cp "$LAB_DIR"/tests/*.sh "$stage/tests/"
    cp "$LAB_DIR/shapes/debian/lab-test" "$stage/lab-test"
    cp -r "$LAB_DIR/shapes/debian/files" "$stage/files" 2>/dev/null
    cp "$deb" "$stage/vfioctl.deb"
    [[ -n $run_file ]] && cp "$run_file" "$stage/run-file"
    {
        printf 'LAB_SHAPE=debian\n'
        printf 'LAB_MODE=%s\n' "$mode"
        printf 'LAB_TESTS="%s"\n' "$*"
    } >"$stage/run.conf"
    tar -C "$stage" -cf "$boot_dir/lab.tar" . || die "could not write the lab disk"
    rm -rf "$stage"
    log "  vfioctl package: ${deb#"$REPO_DIR"/}"
}

# Stream a --run file's output from the data channel until it reports its exit status; prints that status.
debian_stream_run() {
    local data=$1 pid=$2
    tail -n +1 -F --pid "$pid" "$data" 2>/dev/null | awk '
        { sub(/\r$/, "") }
        /^@@LAB RUN EXIT / { exit }
        /^@@LAB RUN BEGIN/ { on = 1; next }
        on && !/^@@LAB / { print; fflush() }'
}
