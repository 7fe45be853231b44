# What a shield gives a vCPU thread, in the kernel's exact accounting: a busy-loop stand-in on CPU 1 and the share
# of wall time it waited on a run queue (/proc/PID/schedstat field 2), idle, under a full CPU load (stress-ng
# --cpu 4) unshielded, shielded by vfioctl shield --cpus 1 with the stand-in moved in by shield --move, and with a
# second stand-in on the same shielded CPU (what pinning, not the shield, must prevent). In each state
# vfioctl latency --busy --cpu 1 runs in windows alternating with the stand-in's (stopped meanwhile), so its
# waitShare is compared with the kernel's figure for an outside process in the same state. Timings are printed;
# only the coarse direction is asserted (shielded wait share below a fifth of the loaded one).
# bench/shield.sh boots with waitshare.seconds=N for longer windows.
LAB_SHAPES="S2"
LAB_TIMEOUT=420
LAB_PAYLOADS="stress-ng"

# schedstat PID: "ONCPU_NS WAIT_NS" of the task (its main thread: the stand-in has one).
schedstat() {
    read -r _on _wait _slices <"/proc/$1/schedstat" || return 1
    echo "$_on $_wait"
}

# standin_window STATE I SECONDS PID [PID2]: each stand-in's schedstat over one window. A busy loop never sleeps,
# so its on-CPU time plus its wait is its wall time; the uptime difference is kept next to it as a check.
standin_window() {
    _b1=$(schedstat "$4") || lab_fail "no /proc/$4/schedstat"
    _b2=""
    [ -z "${5:-}" ] || _b2=$(schedstat "$5") || lab_fail "no /proc/$5/schedstat"
    _t0=$(cut -d' ' -f1 /proc/uptime)
    sleep "$3"
    _t1=$(cut -d' ' -f1 /proc/uptime)
    _a1=$(schedstat "$4") || lab_fail "stand-in $4 is gone"
    _a2=""
    [ -z "${5:-}" ] || _a2=$(schedstat "$5") || lab_fail "stand-in $5 is gone"
    _state=$1 _i=$2
    set -- $_b1 $_a1
    echo "standin $_state $_i 1 $(($3 - $1)) $(($4 - $2)) $_t0 $_t1" >>"$OUT/results"
    [ -n "$_b2" ] || return 0
    set -- $_b2 $_a2
    echo "standin $_state $_i 2 $(($3 - $1)) $(($4 - $2)) $_t0 $_t1" >>"$OUT/results"
}

# probe_window STATE I SECONDS [moved]: vfioctl latency --busy on CPU 1 (from the VM cgroup when "moved").
probe_window() {
    if [ "${4:-}" = moved ]; then
        sh -c 'vfioctl shield --move $$ >/dev/null && exec vfioctl latency --busy --cpu 1 --duration "$1" --json' sh "$3" \
            >"$OUT/$1.busy.$2.json" 2>"$OUT/$1.busy.$2.err"
    else
        vfioctl latency --busy --cpu 1 --duration "$3" --json >"$OUT/$1.busy.$2.json" 2>"$OUT/$1.busy.$2.err"
    fi || lab_fail "vfioctl latency --busy ($1) failed: $(cat "$OUT/$1.busy.$2.err")"
    _share=$(sed -n 's/.*"waitShare" *: *\([0-9.eE+-]*\).*/\1/p' "$OUT/$1.busy.$2.json")
    _wall=$(sed -n 's/.*"wallNs" *: *\([0-9]*\).*/\1/p' "$OUT/$1.busy.$2.json")
    _rq=$(sed -n 's/.*"runQueueWaitNs" *: *\([0-9]*\).*/\1/p' "$OUT/$1.busy.$2.json")
    [ -n "$_share" ] || lab_fail "vfioctl latency --busy ($1): no waitShare in $(cat "$OUT/$1.busy.$2.json")"
    echo "probe $1 $2 $_share $_wall $_rq" >>"$OUT/results"
}

# measure STATE SECONDS N [moved]: N alternating windows, the stand-in's (probe idle) then the probe's (stand-in
# stopped, so the two never share CPU 1).
measure() {
    _j=0
    while [ "$_j" -lt "$3" ]; do
        kill -CONT "$standin"
        standin_window "$1" "$_j" "$2" "$standin"
        kill -STOP "$standin"
        probe_window "$1" "$_j" "$2" "${4:-}"
        _j=$((_j + 1))
    done
    kill -CONT "$standin"
}

# summary: per state the stand-in's wait share (summed over its windows) and the probe's, and their ratio.
summary() {
    awk '
        $1 == "standin" && $4 == 1 { on[$2] += $5; wait[$2] += $6; up[$2] += $8 - $7 }
        $1 == "standin" && $4 == 2 { on2[$2] += $5; wait2[$2] += $6 }
        $1 == "probe" { pw[$2] += $5 * $4; pt[$2] += $5 }
        END {
            n = split("idle loaded shielded shared", s, " ")
            for (k = 1; k <= n; k++) {
                m = s[k]
                if (on[m] + wait[m] == 0) continue
                share = wait[m] / (on[m] + wait[m])
                line = sprintf("%-9s stand-in wait %.3f %% (kernel schedstat, %.2f s of %.2f s uptime)", m, 100 * share, (on[m] + wait[m]) / 1e9, up[m])
                if (on2[m] + wait2[m] > 0) line = line sprintf(", second stand-in %.3f %%", 100 * wait2[m] / (on2[m] + wait2[m]))
                if (pt[m] > 0) {
                    ps = pw[m] / pt[m]
                    line = line sprintf("; latency --busy %.3f %% (%.2fx the stand-in)", 100 * ps, share > 0 ? ps / share : 0)
                }
                print line
                shares[m] = share
            }
            if (shares["shielded"] > 0) printf "loaded / shielded wait share: %.0fx (goal >= 50x)\n", shares["loaded"] / shares["shielded"]
            else if (on["shielded"] > 0) printf "loaded / shielded wait share: shielded wait was 0 ns\n"
            printf "shares %.6f %.6f %.6f\n", shares["idle"], shares["loaded"], shares["shielded"]
        }' "$OUT/results"
}

# progress WHAT: to the console as well (console.log on the host), so a run stopped from outside shows how far it got.
progress() {
    note "$* (uptime $(cut -d' ' -f1 /proc/uptime))"
    echo "shield-waitshare: $*" >/dev/console 2>/dev/null
}

guest() {
    w=$(sed -n 's/.*waitshare.seconds=\([0-9]*\).*/\1/p' /proc/cmdline)
    w=${w:-2}
    standin="" second="" stress=""
    # Whatever ends the test, the busy loops go (a stopped one first continued): left running they would hold the
    # test's output open and load the guest.
    trap 'for p in $standin $second $stress; do kill -CONT "$p"; kill "$p"; done 2>/dev/null' EXIT
    note "$w s windows, 2 per state and probe"
    : >"$OUT/results"
    command -v taskset >/dev/null || lab_skip "no taskset in the guest"
    taskset -c 1 sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
    standin=$!
    sleep 1
    progress idle
    measure idle "$w" 2
    progress loaded
    stress-ng --cpu 4 --timeout 3600 </dev/null >/dev/null 2>&1 &
    stress=$!
    sleep 1
    measure loaded "$w" 2
    progress shield
    vfioctl shield --cpus 1 >"$OUT/shield.out" 2>&1 || { cat "$OUT/shield.out"; lab_fail "shield failed"; }
    vfioctl shield --move "$standin" >"$OUT/move.out" 2>&1 || { cat "$OUT/move.out"; lab_fail "shield --move failed"; }
    sleep 1
    progress shielded
    measure shielded "$w" 2 moved
    vfioctl shield --status >"$OUT/status" 2>&1
    # Two VM threads on one shielded CPU: the shield keeps the host away, not the VM's own threads from each other.
    # This shell is on the host side now (CPU 0 only): the second one moves itself before it pins itself to CPU 1.
    sh -c 'vfioctl shield --move $$ >/dev/null && exec taskset -c 1 sh -c "while :; do :; done"' </dev/null >/dev/null 2>&1 &
    second=$!
    # Its vfioctl start takes a while on a loaded machine: up to 20 s for the move and the pin.
    _i=0
    while [ "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$second/status" 2>/dev/null)" != 1 ] && [ $_i -lt 200 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    [ "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$second/status" 2>/dev/null)" = 1 ] ||
        lab_fail "the second stand-in is not on CPU 1 in the VM cgroup: $(cat "/proc/$second/cgroup" 2>&1)"
    progress shared
    standin_window shared 0 "$w" "$standin" "$second"
    kill "$second" "$stress"
    wait "$stress" 2>/dev/null
    second="" stress=""
    progress unshield
    vfioctl unshield >"$OUT/unshield.out" 2>&1 || lab_fail "unshield failed"
    kill "$standin"
    standin=""
    summary | tee "$OUT/summary"
    set -- $(sed -n 's/^shares //p' "$OUT/summary")
    awk -v l="$2" -v s="$3" 'BEGIN { exit !(s < l / 5) }' ||
        lab_fail "shielded wait share $3 is not below a fifth of the loaded one ($2)"
    echo "ok - stand-in wait share: loaded $2, shielded $3 (below a fifth)"
}

host() {
    grep -v '^shares ' "$OUT/summary"
    echo "shield --status while shielded:"
    sed 's/^/  /' "$OUT/status"
}
