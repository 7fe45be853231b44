#!/bin/sh
# vfioctl render qemu: VM "z490-rx5700xt".
# Before starting: bind 0000:01:00.0 0000:01:00.1 0000:01:00.2 0000:01:00.3 0000:04:00.0 0000:04:00.1 to vfio-pci.
# QEMU cannot pin threads itself; after start, pin each thread named "CPU N/KVM":
#   vCPU 0 -> host CPU 1
#   vCPU 1 -> host CPU 11
#   vCPU 2 -> host CPU 2
#   vCPU 3 -> host CPU 12
#   vCPU 4 -> host CPU 3
#   vCPU 5 -> host CPU 13
#   vCPU 6 -> host CPU 4
#   vCPU 7 -> host CPU 14
#   vCPU 8 -> host CPU 5
#   vCPU 9 -> host CPU 15
#   vCPU 10 -> host CPU 6
#   vCPU 11 -> host CPU 16
#   emulator and iothreads -> host CPUs 0,10
# TPM 2.0: swtpm keeps the TPM state in /var/lib/vfioctl/swtpm/z490-rx5700xt.
mkdir -p /var/lib/vfioctl/swtpm/z490-rx5700xt
swtpm socket --tpm2 --daemon --tpmstate dir=/var/lib/vfioctl/swtpm/z490-rx5700xt --ctrl type=unixio,path=/run/vfioctl-swtpm-z490-rx5700xt.sock --terminate
exec qemu-system-x86_64 \
  -name z490-rx5700xt,debug-threads=on \
  -machine q35,accel=kvm,kernel-irqchip=on,hpet=off,vmport=off,smm=on,memory-backend=ram0 \
  -cpu host,migratable=off,kvm=off,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-synic,hv-stimer,hv-stimer-direct,hv-reset,hv-frequencies,hv-reenlightenment,hv-tlbflush,hv-ipi,hv-time,hv-vendor-id=0123456789ab \
  -smp 12,sockets=1,dies=1,cores=6,threads=2 \
  -m 8192M \
  -object memory-backend-ram,id=ram0,size=8192M \
  -object iothread,id=iothread1 \
  -global driver=cfi.pflash01,property=secure,value=on \
  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd \
  -drive if=pflash,format=raw,unit=1,file=/var/lib/libvirt/qemu/nvram/z490-rx5700xt_VARS.fd \
  -rtc base=localtime,driftfix=slew \
  -global kvm-pit.lost_tick_policy=delay \
  -nodefaults \
  -no-user-config \
  -vga none \
  -display none \
  -serial none \
  -parallel none \
  -drive file=/var/lib/libvirt/images/z490-rx5700xt.qcow2,format=qcow2,if=none,id=disk0,cache=none,aio=native,discard=unmap \
  -device virtio-blk-pci,drive=disk0,iothread=iothread1 \
  -device qemu-xhci,id=xhci \
  -device usb-tablet,bus=xhci.0 \
  -netdev user,id=net0 \
  -device virtio-net-pci,netdev=net0 \
  -chardev socket,id=chrtpm,path=/run/vfioctl-swtpm-z490-rx5700xt.sock \
  -tpmdev emulator,id=tpm0,chardev=chrtpm \
  -device tpm-crb,tpmdev=tpm0 \
  -audiodev none,id=audio0 \
  -device ich9-intel-hda \
  -device hda-duplex,audiodev=audio0 \
  -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0 \
  -device vfio-pci,host=0000:01:00.0,id=hostdev1_0_0,bus=rp1,addr=0x0.0,multifunction=on,romfile=/var/lib/vfioctl/navi10.rom \
  -device vfio-pci,host=0000:01:00.1,id=hostdev1_0_1,bus=rp1,addr=0x0.1 \
  -device vfio-pci,host=0000:01:00.2,id=hostdev1_0_2,bus=rp1,addr=0x0.2 \
  -device vfio-pci,host=0000:01:00.3,id=hostdev1_0_3,bus=rp1,addr=0x0.3 \
  -device pcie-root-port,id=rp2,chassis=2,bus=pcie.0 \
  -device vfio-pci,host=0000:04:00.0,id=hostdev4_0_0,bus=rp2,addr=0x0.0,multifunction=on,romfile=/var/lib/vfioctl/navi10.rom \
  -device vfio-pci,host=0000:04:00.1,id=hostdev4_0_1,bus=rp2,addr=0x0.1
