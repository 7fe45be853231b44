# Building blocks for q35 machine shapes (bash, sourced by the harness). A shape file sets SHAPE_TITLE,
# optionally SHAPE_MEM / SHAPE_SMP / SHAPE_APPEND, and defines shape_args, which appends to QEMU_ARGS.
# $BOOT_DIR is a scratch folder for this boot (disk images).
#
# PCI layout of q35_devices (bus numbers as the firmware assigns them):
#   00:1c.0-3  pcie-root-port x4, one multifunction slot like a chipset's root ports
#   01:00.0    VGA (1234:1111, bochs-drm)     ┐ multifunction "GPU" behind rp1
#   01:00.1    ich9-intel-hda (8086:293e)     ┘
#   02:00.0    e1000e                         behind rp2
#   03:00.0    nvme                           behind rp3
#   04:00.0    pcie-pci-bridge                behind rp4
#   05:01.0    e1000 (conventional PCI)       ┐ behind the PCIe-to-PCI bridge: one group
#   05:02.0    qemu-xhci                      ┘
#   00:1d.0    qemu-xhci on the root bus (a second USB controller)
#   00:1f.x    q35's own LPC, AHCI and SMBus

SHAPE_MEM=2G
SHAPE_SMP=4,sockets=1,cores=2,threads=2
SHAPE_APPEND="intel_iommu=on iommu=pt"

# TCG because this machine's /dev/kvm cannot run stock kernels; vendor=GenuineIntel gives SMT siblings.
q35_machine() {
    QEMU_ARGS+=(-machine q35,kernel-irqchip=split -cpu max,vendor=GenuineIntel
        -m "$SHAPE_MEM" -smp "$SHAPE_SMP")
}

# q35_iommu on|off  (interrupt remapping). Must come before the PCI devices it translates for.
q35_iommu() {
    QEMU_ARGS+=(-device "intel-iommu,intremap=$1,caching-mode=on")
}

# q35_devices [acs=on|off]  (off: root ports without ACS, as on boards whose endpoints share a group)
q35_devices() {
    local disable_acs=off
    [[ ${1:-acs=on} == acs=off ]] && disable_acs=on
    local fn
    for fn in 0 1 2 3; do
        local mf=""
        [[ $fn == 0 ]] && mf=,multifunction=on
        QEMU_ARGS+=(-device "pcie-root-port,id=rp$((fn + 1)),bus=pcie.0,addr=1c.$fn$mf,chassis=$((fn + 1)),slot=$((fn + 1)),disable-acs=$disable_acs")
    done
    truncate -s 64M "$BOOT_DIR/nvme.img"
    QEMU_ARGS+=(
        -audiodev none,id=noaudio
        -device VGA,bus=rp1,addr=00.0,multifunction=on
        -device ich9-intel-hda,id=gpuaudio,bus=rp1,addr=00.1
        -device hda-duplex,bus=gpuaudio.0,audiodev=noaudio
        -netdev user,id=net0,restrict=on -device e1000e,netdev=net0,bus=rp2,mac=52:54:00:1a:b0:01
        -drive "if=none,id=nvme0,format=raw,file=$BOOT_DIR/nvme.img"
        -device nvme,drive=nvme0,serial=LAB0001,bus=rp3
        -device pcie-pci-bridge,id=pcibr,bus=rp4,addr=00.0
        -netdev user,id=net1,restrict=on -device e1000,netdev=net1,bus=pcibr,addr=01.0,mac=52:54:00:1a:b0:02
        -device qemu-xhci,id=usb1,bus=pcibr,addr=02.0
        -device qemu-xhci,id=usb0,bus=pcie.0,addr=1d.0
    )
}
