# Timer-wakeup latency on CPU 1 (SCHED_OTHER) by cyclictest and vfioctl latency: idle, under a full CPU load
# (stress-ng --cpu 4) unshielded, and shielded by vfioctl with the probes moved in by shield --move. The two
# probes alternate in windows, and both histograms go through the same percentile code (vfioctl latency
# --histfile writes cyclictest's format). CI runs it
# briefly and checks the shield helps; bench/latency.sh boots with shieldbench.seconds=N for the real figures.
LAB_SHAPES="S2"
LAB_TIMEOUT=300
LAB_PAYLOADS="rt-tests stress-ng"

# p50 p99 p99.9 max (µs) from a cyclictest --histfile (lines "USEC COUNT"; overflows count as the max).
# busybox awk reads a number with leading zeros as octal ("000117" + 0 is 79): NUM strips them first.
NUM='function num(s) { sub(/^0+/, "", s); return s == "" ? 0 : s + 0 }'

cyclic_percentiles() {
    awk "$NUM"'
        /^# Max Latenc/ { max = num($4) }
        /^# Histogram Overflows:/ { over = num($4) }
        /^[0-9]/ { v[n] = num($1); c[n] = num($2); total += c[n]; n++ }
        END {
            total += over
            split("50 99 99.9", ps, " ")
            out = ""
            for (k = 1; k <= 3; k++) {
                want = total * ps[k] / 100; acc = 0; r = max
                for (i = 0; i < n; i++) { acc += c[i]; if (acc >= want) { r = v[i]; break } }
                out = out r " "
            }
            print out max
        }' "$1"
}

# merge_hist FILE...: one histogram from several cyclictest-format histfiles (counts summed per microsecond,
# the largest max, overflows summed), sorted, in the same format.
merge_hist() {
    cat "$@" | awk "$NUM"'
        /^# Max Latenc/ { if (num($4) > max) max = num($4) }
        /^# Histogram Overflows:/ { over += num($4) }
        /^[0-9]/ { c[num($1)] += num($2) }
        END { for (u in c) printf "%06d %06d\n", u, c[u]; printf "# Max Latencies: %d\n# Histogram Overflows: %d\n", max, over }' |
        sort
}

# measure NAME SECONDS [CYCLICTEST-OPTION]: cyclictest and vfioctl latency on CPU 1 in alternating windows (so that
# both see the same conditions), each tool's windows merged into one histogram and read by the same percentile code.
# cyclictest's main thread wakes every 10 ms on the CPUs of -a unless --mainaffinity puts it elsewhere; vfioctl
# latency is one thread. Where CPU 0 is allowed (idle, loaded) the main thread goes there; in the shield the VM
# cgroup holds only CPU 1, so it shares the CPU with its measuring thread (reported, not hidden).
measure() {
    extra=${3:-}
    # Windows of 2 s (1 s for the shortest runs): host noise under emulation drifts over seconds.
    w=2; [ "$2" -ge 4 ] || w=1
    n=$(($2 / w))
    i=0
    while [ $i -lt $n ]; do
        cyclictest -q -t 1 -a 1 $extra -i 1000 -D "$w" -h 20000 --histfile="$OUT/$1.cyclictest.$i.hist" >/dev/null 2>&1 ||
            lab_fail "cyclictest ($1) failed"
        vfioctl latency --cpu 1 --duration "$w" --json --histfile "$OUT/$1.vfioctl.$i.hist" >"$OUT/$1.vfioctl.json" 2>"$OUT/$1.vfioctl.err" ||
            lab_fail "vfioctl latency ($1) failed: $(cat "$OUT/$1.vfioctl.err")"
        i=$((i + 1))
    done
    merge_hist "$OUT/$1".cyclictest.*.hist >"$OUT/$1.cyclictest.hist"
    merge_hist "$OUT/$1".vfioctl.*.hist >"$OUT/$1.vfioctl.hist"
    set -- "$1" $(cyclic_percentiles "$OUT/$1.cyclictest.hist") $(cyclic_percentiles "$OUT/$1.vfioctl.hist")
    echo "$1 cyclictest p50 $2 p99 $3 p99.9 $4 max $5 vfioctl p50 $6 p99 $7 p99.9 $8 max $9" | tee -a "$OUT/results"
}

guest() {
    secs=$(sed -n 's/.*shieldbench.seconds=\([0-9]*\).*/\1/p' /proc/cmdline)
    secs=${secs:-4}
    note "$secs s per measurement"
    : >"$OUT/results"
    measure idle "$secs" --mainaffinity=0
    stress-ng --cpu 4 --timeout 3600 >/dev/null 2>&1 &
    stress=$!
    sleep 1
    measure loaded "$secs" --mainaffinity=0
    # Shield CPU 1, then put this shell (and so the probes it starts) on the VM side.
    t0=$(cut -d' ' -f1 /proc/uptime)
    vfioctl shield --cpus 1 >"$OUT/shield.out" 2>&1 || { cat "$OUT/shield.out"; lab_fail "shield failed"; }
    t1=$(cut -d' ' -f1 /proc/uptime)
    vfioctl shield --move $$ >/dev/null || lab_fail "shield --move failed"
    measure shielded "$secs"
    vfioctl shield --status >"$OUT/status"
    kill "$stress"
    wait "$stress" 2>/dev/null
    t2=$(cut -d' ' -f1 /proc/uptime)
    vfioctl unshield >"$OUT/unshield.out" 2>&1 || lab_fail "unshield failed"
    t3=$(cut -d' ' -f1 /proc/uptime)
    echo "timing shield $t0 $t1 unshield $t2 $t3" >>"$OUT/results"
    vfioctl latency --cpu 1 --duration 1 >"$OUT/sample.txt" 2>&1
    # p99 of both probes: a p99.9 of a few seconds under TCG can be one stall of the whole guest by the host.
    set -- $(awk '$1 == "loaded" { print $6, $15 } $1 == "shielded" { print $6, $15 }' "$OUT/results")
    [ "$3" -lt "$1" ] || [ "$4" -lt "$2" ] ||
        lab_fail "shielded p99 (cyclictest $3 µs, vfioctl $4 µs) is not better than unshielded ($1 µs, $2 µs)"
    echo "ok - p99 under load: unshielded cyclictest $1 µs / vfioctl $2 µs, shielded $3 µs / $4 µs"
}

host() {
    cat "$OUT/results"
    awk '
        # name cyclictest p50 A p99 B p99.9 C max D vfioctl p50 E p99 F p99.9 G max H ($4 $6 $8 $10, $13 $15 $17 $19)
        $1 == "idle" || $1 == "loaded" || $1 == "shielded" { c50[$1] = $4; c99[$1] = $6; c999[$1] = $8; v50[$1] = $13; v99[$1] = $15; v999[$1] = $17 }
        $1 == "timing" { sh = $4 - $3; un = $7 - $6 }
        function line(tool, p, i, l, s) {
            printf "%-10s %-5s: idle %d µs, loaded %d µs, shielded %d µs: shielded is %.1fx better than loaded, %.2fx idle\n", tool, p, i, l, s, l / (s ? s : 1), s / (i ? i : 1)
        }
        END {
            line("cyclictest", "p99.9", c999["idle"], c999["loaded"], c999["shielded"])
            line("vfioctl", "p99.9", v999["idle"], v999["loaded"], v999["shielded"])
            line("cyclictest", "p99", c99["idle"], c99["loaded"], c99["shielded"])
            line("vfioctl", "p99", v99["idle"], v99["loaded"], v99["shielded"])
            printf "vfioctl latency / cyclictest, same CPU, alternating windows:"
            n = split("idle loaded shielded", names, " ")
            for (k = 1; k <= n; k++) { m = names[k]; printf " %s p50 %.2f p99 %.2f;", m, v50[m] / (c50[m] ? c50[m] : 1), v99[m] / (c99[m] ? c99[m] : 1) }
            printf "\nshield %.2f s, unshield %.2f s (under the stress-ng load, guest clock)\n", sh, un
        }' "$OUT/results"
}
