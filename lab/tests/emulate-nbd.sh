# vfioctl emulate nbd serves the bound NVMe's namespace over NBD through the user-space driver: qemu-io reads
# the marker the kernel's nvme driver wrote before the bind, writes a pattern and reads it back; SIGTERM
# ends the server (exit 0, socket removed, device released: restore works), and after restore the kernel's
# nvme driver reads the pattern. Then sequential read MB/s of the whole namespace, through the emulation and
# through the kernel's nvme driver, in this guest and run (printed as "# bench ...").
LAB_SHAPES="A"
LAB_TIMEOUT=300
LAB_PAYLOADS="qemu-io"

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

guest() {
    d=0000:03:00.0
    sock=/tmp/vfioctl-nbd.sock
    url="nbd+unix:///nvme?socket=$sock"
    [ -x /usr/bin/qemu-io ] || lab_fail "no qemu-io in the guest (payload qemu-io)"
    assert_eq "$(driver_of $d)" nvme "the NVMe starts on nvme"
    marker="vfioctl-nbd-$$-$(cut -d' ' -f1 /proc/uptime)"
    printf '%s\n' "$marker" | dd of=/dev/nvme0n1 bs=512 count=1 conv=sync,fsync 2>/dev/null || lab_fail "could not write the marker"

    # Kernel driver baseline first (same device, same guest): 64 MiB sequential, page cache dropped.
    sync; echo 3 >/proc/sys/vm/drop_caches
    t0=$(uptime_cs)
    dd if=/dev/nvme0n1 of=/dev/null bs=1M count=64 2>/dev/null
    t1=$(uptime_cs)
    kernel_cs=$((t1 - t0))

    run_vfioctl bind bind $d
    assert_eq "$(cat "$OUT/bind.status")" 0 "bind exits 0"

    vfioctl emulate nbd $d --socket $sock >"$OUT/emulate" 2>"$OUT/emulate.stderr" &
    pid=$!
    i=0; while [ ! -S $sock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    cat "$OUT/emulate" "$OUT/emulate.stderr"
    [ -S $sock ] || lab_fail "no socket at $sock after 30 s"
    assert_grep "serving $d \(QEMU NVMe Ctrl, serial LAB0001, 67108864 bytes\)" "$OUT/emulate" "emulate serves the namespace"

    qemu-io -f raw -r -c "read -v 0 512" "$url" >"$OUT/read-marker" 2>&1
    head -5 "$OUT/read-marker"
    first=$(printf "%s" "$marker" | cut -c1-16 | tr -- - .)   # qemu-io shows "-" as "." in its ASCII column
    assert_grep "$first" "$OUT/read-marker" "qemu-io reads the marker through the emulation"

    qemu-io -f raw -c "write -P 0x5a 1M 192k" -c "flush" "$url" >"$OUT/write" 2>&1
    cat "$OUT/write"
    assert_grep "wrote 196608/196608 bytes at offset 1048576" "$OUT/write" "qemu-io writes 192 KiB"
    qemu-io -f raw -r -c "read -P 0x5a 1M 192k" "$url" >"$OUT/readback" 2>&1
    cat "$OUT/readback"
    assert_grep "read 196608/196608 bytes at offset 1048576" "$OUT/readback" "and reads the pattern back"
    assert_no_grep "Pattern verification failed" "$OUT/readback" "pattern verified"

    t0=$(uptime_cs)
    qemu-io -f raw -r -c "read 0 64M" "$url" >"$OUT/bench-read" 2>&1
    t1=$(uptime_cs)
    emul_cs=$((t1 - t0))
    cat "$OUT/bench-read"
    assert_grep "read 67108864/67108864 bytes at offset 0" "$OUT/bench-read" "the whole 64 MiB namespace reads through the emulation"

    kill -TERM $pid
    wait $pid
    echo $? >"$OUT/emulate.status"
    cat "$OUT/emulate" "$OUT/emulate.stderr"
    assert_eq "$(cat "$OUT/emulate.status")" 0 "emulate exits 0 on SIGTERM"
    assert_grep "stop signal: releasing the device" "$OUT/emulate" "and says it releases the device"
    [ ! -e $sock ] || lab_fail "socket left behind"
    echo "ok - socket removed"

    run_vfioctl restore restore
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of $d)" nvme "nvme is back"
    i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    got=$(dd if=/dev/nvme0n1 bs=4096 skip=256 count=48 2>/dev/null | od -An -tx1 -v | tr -s ' \n' '\n\n' | grep -v '^$' | sort -u | tr -d '\n')
    assert_eq "$got" "5a" "the kernel's nvme driver reads the pattern written through the emulation"
    assert_eq "$(dd if=/dev/nvme0n1 bs=512 count=1 2>/dev/null | head -1)" "$marker" "and the marker is intact"

    # Guard against a zero elapsed time on a fast host.
    [ $kernel_cs -gt 0 ] || kernel_cs=1
    [ $emul_cs -gt 0 ] || emul_cs=1
    echo "# bench kernel-nvme 64MiB ${kernel_cs}0 ms $((6400 / kernel_cs)) MiB/s"
    echo "# bench emulate-nbd 64MiB ${emul_cs}0 ms $((6400 / emul_cs)) MiB/s"
    echo "# bench ratio emulate/kernel $(awk -v k=$kernel_cs -v e=$emul_cs 'BEGIN { printf "%.2f", k / e }')"
}
