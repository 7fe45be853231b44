# vfioctl doctor judges each shape's IOMMU as it is: all IOMMU checks pass on A; on B the GPU's group also
# holds the other root ports' endpoints; C lacks interrupt remapping; D has no IOMMU. The exit status is
# the worst finding's (0 info, 1 warn, 2 fail) and no check crashes.
LAB_SHAPES="A B C D"
LAB_TIMEOUT=120

GPU=0000:01:00.0

guest() {
    run_vfioctl doctor.json doctor --json
    run_vfioctl doctor-gpu.json doctor --json --device "$GPU"
    run_vfioctl doctor.txt doctor --device "$GPU"
    cat "$OUT/doctor.txt"
}

# status_of CHECK FILE: the worst status among the check's findings ("absent" if it reported none).
status_of() {
    jq -r --arg id "$1" '
        [.findings[] | select(.check == $id) | .status] as $s
        | if ($s | length) == 0 then "absent"
          else ["skipped", "pass", "info", "warn", "crashed", "fail"] as $order
               | $s | max_by(. as $x | $order | index($x)) end' "$2"
}

# findings_of CHECK FILE: the check's findings as text, to look for names and words.
findings_of() { jq -c --arg id "$1" '[.findings[] | select(.check == $id)]' "$2"; }

# The exit status must be what the findings say, and the same for text and JSON output.
check_exit() {
    file=$OUT/$1
    jq -e . "$file" >/dev/null || lab_fail "$1 is not JSON: $(head -c 300 "$file")"
    crashed=$(jq -r '[.findings[] | select(.status == "crashed") | .check] | join(" ")' "$file")
    assert_eq "$crashed" "" "no crashed check in $1"
    want=$(jq -r '[.findings[].status] as $s
        | if ($s | index("fail")) then 2 elif ($s | index("warn")) or ($s | index("crashed")) then 1 else 0 end' "$file")
    assert_eq "$(cat "$file.status")" "$want" "$1: exit status is the worst finding's"
    assert_eq "$(jq -r '.summary.exitStatus' "$file")" "$want" "$1: summary.exitStatus"
}

host() {
    check_exit doctor.json
    check_exit doctor-gpu.json
    assert_eq "$(cat "$OUT/doctor.txt.status")" "$(cat "$OUT/doctor-gpu.json.status")" "text and JSON reports exit alike"
    d=$OUT/doctor.json g=$OUT/doctor-gpu.json
    case $LAB_SHAPE in
        A)
            for c in iommu.enabled iommu.interrupt-remapping iommu.unsafe-interrupts iommu.acs-override; do
                assert_eq "$(status_of $c "$d")" pass "$c passes"
            done
            s=$(status_of device.group-isolation "$g")
            case $s in pass | info) echo "ok - the GPU's group (GPU + its audio) can be given away ($s)" ;;
                *) lab_fail "device.group-isolation for the GPU is $s, expected pass or info" ;; esac
            assert_not_contains "$(findings_of device.group-isolation "$g")" 0000:03:00.0 "the GPU's group leaves the NVMe out"
            for c in $(jq -r '.findings[] | select(.status == "warn" or .status == "fail") | .check' "$d" "$g" | sort -u); do
                case $c in iommu.* | device.group-isolation) lab_fail "IOMMU-related check $c is $(status_of "$c" "$g")" ;; esac
            done
            echo "ok - no IOMMU-related warning or failure"
            ;;
        B)
            assert_eq "$(status_of iommu.enabled "$d")" pass "iommu.enabled passes"
            assert_eq "$(status_of iommu.interrupt-remapping "$d")" pass "interrupt remapping passes"
            assert_contains "$(findings_of iommu.shared-groups "$d")" 0000:03:00.0 "iommu.shared-groups names the merged NVMe"
            s=$(status_of device.group-isolation "$g")
            case $s in warn | fail) echo "ok - device.group-isolation is $s for the GPU" ;;
                *) lab_fail "device.group-isolation for the GPU is $s, expected warn or fail" ;; esac
            text=$(findings_of device.group-isolation "$g")
            assert_contains "$text" 0000:03:00.0 "the GPU's group finding names the NVMe"
            assert_contains "$text" 0000:02:00.0 "the GPU's group finding names the e1000e"
            assert_ne "$(cat "$g.status")" 0 "doctor --device GPU exits non-zero"
            ;;
        C)
            assert_eq "$(status_of iommu.enabled "$d")" pass "iommu.enabled passes"
            s=$(status_of iommu.interrupt-remapping "$d")
            case $s in warn | fail) echo "ok - iommu.interrupt-remapping is $s" ;;
                *) lab_fail "iommu.interrupt-remapping is $s, expected warn or fail" ;; esac
            assert_contains "$(findings_of iommu.interrupt-remapping "$d" | tr 'A-Z' 'a-z')" remapping "the finding speaks of remapping"
            assert_ne "$(cat "$d.status")" 0 "doctor exits non-zero"
            ;;
        D)
            assert_eq "$(status_of iommu.enabled "$d")" fail "iommu.enabled fails"
            assert_eq "$(cat "$d.status")" 2 "doctor exits 2"
            assert_contains "$(findings_of iommu.enabled "$d")" "virtual IOMMU" "the fix says how to give the VM an IOMMU"
            ;;
    esac
    grep -q . "$OUT/doctor.txt" || lab_fail "the text report is empty"
}
