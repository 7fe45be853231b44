# kill -9 half-way through a two-device bind (e1000e + NVMe), at a fixed write and at a random moment:
# vfioctl restore returns every device to exactly its original driver and driver_override.
LAB_SHAPES="A"
LAB_TIMEOUT=120

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
state() { for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(driver_of "${d##*/}") $(cat "$d/driver_override")"; done; }

guest() {
    # An override the restore must give back as it was.
    echo e1000e >/sys/bus/pci/devices/0000:02:00.0/driver_override
    state >"$OUT/before"
    for n in 2 4 5; do
        VFIOCTL_CRASH_AFTER_WRITES=$n vfioctl bind 0000:02:00.0 0000:03:00.0 >"$OUT/crash$n" 2>&1
        assert_eq "$?" 137 "bind killed (SIGKILL) after write $n"
        note "after write $n: 02:00.0 on $(driver_of 0000:02:00.0), 03:00.0 on $(driver_of 0000:03:00.0); $(wc -l </run/vfioctl/bind.journal) journal records"
        run_vfioctl restore$n restore
        cat "$OUT/restore$n"
        assert_eq "$(cat "$OUT/restore$n.status")" 0 "restore exits 0"
        state >"$OUT/after$n"
        diff "$OUT/before" "$OUT/after$n" || lab_fail "state differs after crash at write $n and restore"
        echo "ok - exact original state after a crash at write $n"
    done
    for delay in 0.05 0.15 0.3; do
        vfioctl bind 0000:02:00.0 0000:03:00.0 >"$OUT/kill$delay" 2>&1 &
        pid=$!
        sleep $delay
        kill -9 $pid 2>/dev/null
        wait $pid
        note "kill -9 after ${delay}s: 02:00.0 on $(driver_of 0000:02:00.0), 03:00.0 on $(driver_of 0000:03:00.0)"
        run_vfioctl restorek$delay restore
        assert_eq "$(cat "$OUT/restorek$delay.status")" 0 "restore exits 0"
        state >"$OUT/afterk$delay"
        diff "$OUT/before" "$OUT/afterk$delay" || lab_fail "state differs after kill -9 at ${delay}s and restore"
        echo "ok - exact original state after kill -9 at ${delay}s"
    done
    echo >/sys/bus/pci/devices/0000:02:00.0/driver_override
}
