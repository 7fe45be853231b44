# A real distribution: Debian 12 with systemd, libvirtd, GRUB on a disk and initramfs-tools, vfioctl installed from
# its .deb (lib/debian.sh builds and caches the disk image). The hardware of shape A plus the boot disk and the lab
# disk on q35's own AHCI controller (00:1f.2, so the PCI layout is A's); booted by SeaBIOS and the guest's GRUB,
# whose grub.cfg (update-grub) gives the kernel its arguments. 3 GiB: room for a nested guest started by libvirtd.
SHAPE_TITLE="Debian 12 (systemd, libvirtd, GRUB, initramfs-tools, vfioctl .deb) on A's hardware, 3 GiB"
SHAPE_MEM=3G
SHAPE_BOOT=disk
shape_args() {
    q35_machine
    q35_iommu on
    q35_devices acs=on
    QEMU_ARGS+=(
        -drive "if=none,id=bootdisk,format=qcow2,file=$BOOT_DIR/disk.qcow2,cache=unsafe"
        -device ide-hd,drive=bootdisk,bus=ide.0,bootindex=0
        -drive "if=none,id=labin,format=raw,file=$BOOT_DIR/lab.tar"
        -device ide-hd,drive=labin,bus=ide.1,serial=LABIN
    )
}
