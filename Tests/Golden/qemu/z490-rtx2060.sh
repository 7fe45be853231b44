#!/bin/sh
# vfioctl render qemu: VM "z490-rtx2060".
# Before starting: bind 0000:06:00.0 0000:06:00.1 0000:06:00.2 0000:06:00.3 to vfio-pci.
# QEMU cannot pin threads itself; after start, pin each thread named "CPU N/KVM":
#   vCPU 0 -> host CPU 1
#   vCPU 1 -> host CPU 11
#   vCPU 2 -> host CPU 2
#   vCPU 3 -> host CPU 12
#   vCPU 4 -> host CPU 3
#   vCPU 5 -> host CPU 13
#   vCPU 6 -> host CPU 4
#   vCPU 7 -> host CPU 14
#   emulator and iothreads -> host CPUs 0,10
# TPM 2.0: swtpm keeps the TPM state in /var/lib/vfioctl/swtpm/z490-rtx2060.
mkdir -p /var/lib/vfioctl/swtpm/z490-rtx2060
swtpm socket --tpm2 --daemon --tpmstate dir=/var/lib/vfioctl/swtpm/z490-rtx2060 --ctrl type=unixio,path=/run/vfioctl-swtpm-z490-rtx2060.sock --terminate
exec qemu-system-x86_64 \
  -name z490-rtx2060,debug-threads=on \
  -machine q35,accel=kvm,kernel-irqchip=on,hpet=off,vmport=off,smm=on,memory-backend=ram0 \
  -cpu host,migratable=off,kvm=off,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-synic,hv-stimer,hv-stimer-direct,hv-reset,hv-frequencies,hv-reenlightenment,hv-tlbflush,hv-ipi,hv-time,hv-vendor-id=0123456789ab \
  -smp 8,sockets=1,dies=1,cores=4,threads=2 \
  -m 16384M \
  -object memory-backend-file,id=ram0,size=16384M,mem-path=/dev/hugepages,prealloc=on \
  -overcommit mem-lock=on \
  -object iothread,id=iothread1 \
  -global driver=cfi.pflash01,property=secure,value=on \
  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd \
  -drive if=pflash,format=raw,unit=1,file=/var/lib/libvirt/qemu/nvram/z490-rtx2060_VARS.fd \
  -rtc base=localtime,driftfix=slew \
  -global kvm-pit.lost_tick_policy=delay \
  -nodefaults \
  -no-user-config \
  -vga none \
  -display none \
  -serial none \
  -parallel none \
  -drive file=/var/lib/libvirt/images/z490-rtx2060.qcow2,format=qcow2,if=none,id=disk0,cache=none,aio=native,discard=unmap \
  -device virtio-blk-pci,drive=disk0,iothread=iothread1 \
  -device qemu-xhci,id=xhci \
  -device usb-tablet,bus=xhci.0 \
  -netdev user,id=net0 \
  -device virtio-net-pci,netdev=net0 \
  -chardev socket,id=chrtpm,path=/run/vfioctl-swtpm-z490-rtx2060.sock \
  -tpmdev emulator,id=tpm0,chardev=chrtpm \
  -device tpm-crb,tpmdev=tpm0 \
  -audiodev none,id=audio0 \
  -device ich9-intel-hda \
  -device hda-duplex,audiodev=audio0 \
  -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0 \
  -device vfio-pci,host=0000:06:00.0,id=hostdev6_0_0,bus=rp1,addr=0x0.0,multifunction=on \
  -device vfio-pci,host=0000:06:00.1,id=hostdev6_0_1,bus=rp1,addr=0x0.1 \
  -device vfio-pci,host=0000:06:00.2,id=hostdev6_0_2,bus=rp1,addr=0x0.2 \
  -device vfio-pci,host=0000:06:00.3,id=hostdev6_0_3,bus=rp1,addr=0x0.3 \
  -object input-linux,id=input0,evdev=/dev/input/by-id/usb-Corsair_K70_RGB_Gaming_Keyboard-event-kbd,grab_all=on,repeat=on,grab-toggle=ctrl-ctrl \
  -object input-linux,id=input1,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd \
  -object input-linux,id=input2,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse \
  -object memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size=32M,share=on \
  -device ivshmem-plain,memdev=looking-glass
