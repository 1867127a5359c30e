# tools/bench/table.awk - the table of tools/bench/run from its results file.
#
# Input lines: `time WORKLOAD COLUMN SECONDS`, `rss WORKLOAD COLUMN KIB`,
# `insns WORKLOAD piemu N`; COLUMN is piemu, raw, qemu or qemui (QEMU -icount).
# Variables: wl (the workloads measured, space-separated), irqs (interrupts per
# irq/km run), accesses (device accesses per mmio run).
#
# Every workload's time is its median minus the median of the start-up run of the
# same command (hello.elf; bench_km_boot.elf for the kernel-model workloads), so a
# column is emulation time (linux's is its whole boot, start-up included); raw Unicorn times only its uc_emu_start. A ratio
# "piemu vs X" is X's time / piemu's time for the same guest work: above 1.00x piemu
# is faster.
function median(key,    n, a, i, j, v) {
    n = split(vals[key], a, " ")
    if (n == 0)
        return ""
    for (i = 2; i <= n; i++) { # insertion sort, numerically
        v = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > v; j--)
            a[j + 1] = a[j]
        a[j + 1] = v
    }
    return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function has(key) { return key in vals }
# Emulation seconds of workload w in column c ("" if not measured).
function emu(w, c,    t, s) {
    if (!has("time " w " " c))
        return ""
    t = median("time " w " " c)
    if (c == "raw" || w == "startup" || w == "km_boot" || w == "linux")
        return t
    s = median("time " (kind(w) == "km" ? "km_boot" : "startup") " " c)
    return t - s
}
function kind(w) { return w ~ /^km_/ ? "km" : "bare" }
# The metric of workload w from emulation seconds t.
function metric(w, t) {
    if (t == "")
        return ""
    if (t <= 0)
        return "-"
    if (w ~ /^compute/)
        return sprintf("%.0f", insns[w] / t / 1e6)
    if (w == "mmio")
        return sprintf("%.0f", t / accesses * 1e9)
    if (w == "startup")
        return sprintf("%.0f", t * 1000)
    if (w == "linux")
        return sprintf("%.1f", t)
    return sprintf("%.0f", t / irqs * 1e9) # irq and km_*
}
function unit(w) {
    if (w ~ /^compute/) return "guest MIPS"
    if (w == "mmio") return "ns/access"
    if (w == "startup") return "wall ms"
    if (w == "linux") return "wall s"
    return "ns/IRQ"
}
function ratio(w, c,    tp, tc) { # piemu vs column c: c's time / piemu's
    tp = emu(w, "piemu"); tc = emu(w, c)
    if (tp == "" || tc == "" || tp <= 0 || tc <= 0)
        return ""
    return tc / tp
}
function x(r) { return r == "" ? "-" : sprintf("%.2fx", r) }
function cell(v) { return v == "" ? "-" : v }
function verdict(ok) { return ok ? "met" : "**missed**" }
function row(name, u, p, r, q, qi, vr, vq, vqi, target, result) {
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, u, cell(p),
        cell(r), cell(q), cell(qi), vr, vq, vqi, target, result
}
BEGIN {
    label["compute"] = "1. compute, no interrupts"
    label["compute_timer"] = "1. compute + 1 kHz generic timer"
    label["irq"] = "2. bare IRQ round trip (system timer)"
    label["mmio"] = "3. MMIO polling (PL011 + mailbox)"
    label["km_handler"] = "4. kernel model -> guest handler"
    label["km_thread"] = "4. kernel model -> guest IRQ thread"
    label["km_handler_trace"] = "5. (4) handler, --trace irq,sched"
    label["km_thread_trace"] = "5. (4) thread, --trace irq,sched"
    label["startup"] = "6. start-up: hello end to end"
    label["linux"] = "7. Linux boot to /init and power-off (4 cores)"
}
$1 == "time" || $1 == "rss" { vals[$1 " " $2 " " $3] = vals[$1 " " $2 " " $3] " " $4 }
$1 == "insns" { insns[$2] = $4 }
END {
    printf "| workload | metric | piemu | raw Unicorn | QEMU | QEMU -icount | piemu vs raw "
    printf "| piemu vs QEMU | piemu vs QEMU -icount | target | result |\n"
    printf "|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n"
    n = split(wl " startup", ws, " ")
    for (i = 1; i <= n; i++) {
        w = ws[i]
        p = metric(w, emu(w, "piemu")); r = metric(w, emu(w, "raw"))
        q = metric(w, emu(w, "qemu")); qi = metric(w, emu(w, "qemui"))
        vr = ratio(w, "raw"); vq = ratio(w, "qemu"); vqi = ratio(w, "qemui")
        target = "-"; result = ""
        if (w == "compute" && vr != "") {
            target = "(foundation) >= 0.7x raw"; result = verdict(vr >= 0.7)
        } else if (w == "compute_timer") {
            target = ">= 0.9x raw, >= 1.0x QEMU"
            if (vr != "" && vq != "")
                result = verdict(vr >= 0.9 && vq >= 1.0)
        } else if (w == "irq") {
            target = "cost <= QEMU's"
            if (vq != "" && vqi != "")
                result = verdict(vq >= 1.0 && vqi >= 1.0)
        } else if (w == "km_handler" || w == "km_thread") {
            tb = emu("irq", "piemu"); tk = emu(w, "piemu")
            if (tb != "" && tb > 0 && tk != "") {
                target = sprintf("<= 2x bare IRQ: %.2fx", tk / tb)
                result = verdict(tk / tb <= 2.0)
            } else
                target = "<= 2x bare IRQ (not measured)"
        } else if (w ~ /_trace$/) {
            base = w; sub(/_trace$/, "", base)
            tb = emu(base, "piemu"); tk = emu(w, "piemu")
            if (tb != "" && tb > 0 && tk != "") {
                target = sprintf("<= 1.10x untraced: %.3fx", tk / tb)
                result = verdict(tk / tb <= 1.10)
            } else
                target = "<= 1.10x untraced (not measured)"
        } else if (w == "linux") {
            target = "wall <= QEMU's"
            if (vq != "")
                result = verdict(vq >= 1.0)
        } else if (w == "startup") {
            target = "wall <= QEMU's"
            if (vq != "" && vqi != "")
                result = verdict(vq >= 1.0 && vqi >= 1.0)
        }
        row(label[w], unit(w), p, r, q, qi, x(vr), x(vq), x(vqi), target, result)
        if (w == "startup" && has("rss startup piemu")) {
            rp = median("rss startup piemu") / 1024
            rq = has("rss startup qemu") ? sprintf("%.0f", median("rss startup qemu") / 1024) : ""
            rqi = has("rss startup qemui") ? sprintf("%.0f", median("rss startup qemui") / 1024) : ""
            row(label[w], "peak RSS MiB", sprintf("%.0f", rp), "", rq, rqi, "-", "-", "-",
                "RSS <= 64 MiB", verdict(rp <= 64))
        }
    }
    print ""
    print "Median seconds (start-up subtracted; raw Unicorn: its uc_emu_start alone) and the"
    print "largest peak RSS of any run (MiB):"
    n = split(wl " startup km_boot", ws, " ")
    for (i = 1; i <= n; i++) {
        w = ws[i]
        if (!has("time " w " piemu"))
            continue
        line = sprintf("  %-17s", w)
        split("piemu raw qemu qemui", cs, " ")
        for (k = 1; k <= 4; k++) {
            c = cs[k]
            if (!has("time " w " " c))
                continue
            line = line sprintf("  %s %.3f s", c == "qemui" ? "qemu-icount" : c, emu(w, c))
            if (has("rss " w " " c)) {
                m = 0; cnt = split(vals["rss " w " " c], a, " ")
                for (j = 1; j <= cnt; j++) if (a[j] + 0 > m) m = a[j] + 0
                line = line sprintf(" (%.0f MiB)", m / 1024)
            }
        }
        if (w in insns)
            line = line sprintf("  [%.0f guest insns]", insns[w])
        print line
    }
    print "  ratios: the other column's time / piemu's for the same guest work (> 1.00x: piemu"
    print "  faster); km rows compare with piemu's bare IRQ row, trace rows with the same"
    print "  workload untraced"
}
