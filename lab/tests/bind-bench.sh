# Benchmark, same boot: binding IOMMU group 10 (e1000 05:01.0 + xHCI 05:02.0 behind the PCIe-to-PCI bridge,
# which keeps its driver) with vfioctl bind, against the raw sysfs writes done by hand (driver_override, unbind,
# drivers_probe, then a busy wait for the driver links and /dev/vfio/10). Goal: vfioctl ≤ 1.5 × raw.
# What is left above raw is mostly starting the process (argument parsing, runtime); bind itself reads only the
# inventory and the pci.ids lines of the functions it prints. 11 runs each, interleaved; the median counts.
LAB_SHAPES="A"
LAB_TIMEOUT=150
# A real host has pci.ids, and vfioctl names what it prints from it: the guest gets it whatever else runs.
LAB_PAYLOADS="pci-ids"

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
# busybox has no date +%N; adjtimex prints the time in µs (shell arithmetic is 64-bit, busybox awk's %d is not).
now_us() {
    set -- $(adjtimex | sed -n 's/.*tv_sec: *//p; s/.*tv_usec: *//p')
    echo $(($1 * 1000000 + $2))
}

raw_bind() {
    for d in 0000:05:01.0 0000:05:02.0; do
        echo vfio-pci >/sys/bus/pci/devices/$d/driver_override
        echo $d >/sys/bus/pci/devices/$d/driver/unbind
        echo $d >/sys/bus/pci/drivers_probe
    done
    until [ "$(driver_of 0000:05:01.0)" = vfio-pci ] && [ "$(driver_of 0000:05:02.0)" = vfio-pci ] && [ -e /dev/vfio/10 ]; do :; done
}

raw_restore() {
    for d in 0000:05:01.0 0000:05:02.0; do
        echo >/sys/bus/pci/devices/$d/driver_override
        echo $d >/sys/bus/pci/devices/$d/driver/unbind
    done
    echo 0000:05:01.0 >/sys/bus/pci/drivers/e1000/bind
    echo 0000:05:02.0 >/sys/bus/pci/drivers/xhci_hcd/bind
}

guest() {
    assert_eq "$(driver_of 0000:05:01.0) $(driver_of 0000:05:02.0)" "e1000 xhci_hcd" "group 10 starts on its host drivers"
    # The cost of taking a timestamp, subtracted from every interval.
    t0=$(now_us); t1=$(now_us); stamp=$((t1 - t0))
    raw=""; tool=""
    for i in 1 2 3 4 5 6 7 8 9 10 11; do
        t0=$(now_us); raw_bind; t1=$(now_us)
        raw="$raw $((t1 - t0 - stamp))"
        raw_restore
        t0=$(now_us); vfioctl bind 0000:05:01.0 >"$OUT/bind$i" 2>&1 || lab_fail "vfioctl bind failed: $(cat "$OUT/bind$i")"; t1=$(now_us)
        tool="$tool $((t1 - t0 - stamp))"
        assert_eq "$(driver_of 0000:05:01.0) $(driver_of 0000:05:02.0)" "vfio-pci vfio-pci" "run $i: both on vfio-pci"
        vfioctl restore >/dev/null 2>&1 || lab_fail "restore failed"
        assert_eq "$(driver_of 0000:05:01.0) $(driver_of 0000:05:02.0)" "e1000 xhci_hcd" "run $i: restored"
    done
    median() { echo $* | tr ' ' '\n' | sort -n | sed -n 6p; }
    r=$(median $raw); v=$(median $tool)
    {
        echo "group 10 (2 endpoints), 11 runs each, microseconds:"
        echo "raw sysfs writes:$raw   median $r"
        echo "vfioctl bind:    $tool   median $v"
        awk -v r="$r" -v v="$v" 'BEGIN { printf "ratio vfioctl/raw: %.2f\n", v / r }'
    } | tee "$OUT/bench.txt"
    # The ratio is printed, not asserted: performance goals are read from benchmarks, and a timed assertion fails
    # at random on a loaded machine. The test fails only when a bind or restore fails.
}
