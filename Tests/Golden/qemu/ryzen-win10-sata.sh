#!/bin/sh
# vfioctl render qemu: VM "ryzen-win10-sata".
# Before starting: bind 0000:06:00.0 0000:06:00.1 to vfio-pci.
# QEMU cannot pin threads itself; after start, pin each thread named "CPU N/KVM":
#   vCPU 0 -> host CPU 3
#   vCPU 1 -> host CPU 15
#   vCPU 2 -> host CPU 4
#   vCPU 3 -> host CPU 16
#   vCPU 4 -> host CPU 5
#   vCPU 5 -> host CPU 17
#   emulator and iothreads -> host CPUs 0,12
exec qemu-system-x86_64 \
  -name ryzen-win10-sata,debug-threads=on \
  -machine q35,accel=kvm,kernel-irqchip=on,hpet=off,vmport=off,memory-backend=ram0 \
  -cpu host,migratable=off,topoext=on,kvm=off,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-synic,hv-stimer,hv-stimer-direct,hv-reset,hv-frequencies,hv-reenlightenment,hv-tlbflush,hv-ipi,hv-time,hv-vendor-id=0123456789ab \
  -smp 6,sockets=1,dies=1,cores=3,threads=2 \
  -m 8192M \
  -object memory-backend-ram,id=ram0,size=8192M \
  -object iothread,id=iothread1 \
  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
  -drive if=pflash,format=raw,unit=1,file=/var/lib/libvirt/qemu/nvram/ryzen-win10-sata_VARS.fd \
  -rtc base=localtime,driftfix=slew \
  -global kvm-pit.lost_tick_policy=delay \
  -nodefaults \
  -no-user-config \
  -vga none \
  -display none \
  -serial none \
  -parallel none \
  -drive file=/var/lib/libvirt/images/ryzen-win10-sata.qcow2,format=qcow2,if=none,id=disk0,cache=none,aio=native,discard=unmap \
  -device ide-hd,drive=disk0,bus=ide.0,bootindex=1 \
  -drive file=/srv/iso/Win10_22H2_English_x64.iso,format=raw,if=none,id=cd0,media=cdrom,readonly=on \
  -device ide-cd,drive=cd0,bus=ide.1,bootindex=2 \
  -device qemu-xhci,id=xhci \
  -device usb-tablet,bus=xhci.0 \
  -netdev bridge,id=net0,br=br0 \
  -device virtio-net-pci,netdev=net0 \
  -audiodev none,id=audio0 \
  -device ich9-intel-hda \
  -device hda-duplex,audiodev=audio0 \
  -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0 \
  -device vfio-pci,host=0000:06:00.0,id=hostdev6_0_0,bus=rp1,addr=0x0.0,multifunction=on \
  -device vfio-pci,host=0000:06:00.1,id=hostdev6_0_1,bus=rp1,addr=0x0.1
