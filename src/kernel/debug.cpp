// The kernel's reports of misuse in the kernel model's terms: dump_stack() with a
// backtrace through gates, exception frames and guest code, and the two "sleeping in
// atomic context" reports of kernel/sched/core.c (__schedule_bug, ___might_sleep).

#include <algorithm>

#include "kernel/guest_format.hpp"
#include "kernel/kernel_model.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

namespace {
constexpr unsigned kMaxFrames = 32;
} // namespace

std::vector<std::string> KernelModel::backtrace(unsigned cpu) {
    // dump_backtrace_entry(): "[<where>] (%ps) from [<from>] (%pS)".
    // Formatted by hand: guests that report in a loop make hundreds of these lines a
    // run, and fmt's formatting was three quarters of backtrace()'s time in the fuzz
    // build (replaying 800 syscall fuzz inputs: 15 % less CPU without it).
    std::vector<std::string> out;
    std::string line;
    auto put_hex = [&line](uint32_t v, unsigned min_digits) {
        char digits[8];
        unsigned n = 8;
        do {
            digits[--n] = "0123456789abcdef"[v & 15];
            v >>= 4;
        } while (v || 8 - n < min_digits);
        line.append(digits + n, 8 - n);
    };
    auto put_symbol = [&](uint32_t addr, bool with_offset) {
        if (auto s = symbol_at(addr)) {
            line.append(s->name);
            if (with_offset) {
                line.append("+0x");
                put_hex(s->offset, 1);
                line.append("/0x");
                put_hex(s->size, 1);
            }
        } else {
            line.append("0x");
            put_hex(addr, 1);
        }
    };
    auto entry = [&](uint32_t where, uint32_t from) {
        line.assign("[<");
        put_hex(where, 8);
        line.append(">] (");
        put_symbol(where, false);
        line.append(") from [<");
        put_hex(from, 8);
        line.append(">] (");
        put_symbol(from, true);
        line.append(")\n");
        out.push_back(line);
    };
    // Guest frames from (pc, fp) by the APCS frame-pointer chain (unwind_frame of
    // arch/arm/kernel/stacktrace.c): fp-12 the caller's fp, fp-4 the return address.
    // Ends where the chain leaves the task's stack or returns into the vector page.
    task_struct* t = current_[cpu];
    auto guest_frames = [&](uint32_t pc, uint32_t fp) {
        for (unsigned n = 0; n < kMaxFrames; ++n) {
            if (fp < t->stack + 12 || fp >= t->stack + THREAD_SIZE)
                return;
            uint32_t lr = rd32(fp - 4);
            entry(pc, lr);
            if (lr >= PIEMU_KM_VECTORS)
                return;
            pc = lr;
            fp = rd32(fp - 12);
        }
    };
    const auto& frames = t->gate_frames;
    for (size_t i = frames.size(); i-- > 0;) {
        const GateFrame& g = frames[i];
        // A frame outside the task's stack ends the walk, as the guest frames' walk
        // ends (unwind_frame() stops where the frame pointer leaves the THREAD_SIZE
        // block it started in). Calls nested deeper than the stack holds (a guest
        // function making the syscall that called it) have run off its end, where
        // Linux would have crashed long before; walking on listed every level at
        // every report.
        if (g.sp < t->stack || g.sp > t->stack + THREAD_SIZE)
            break;
        entry(g.gate, g.lr);
        // The exception frame the gate's caller was entered from, if any.
        uint32_t regs = syscall_pt_regs(g.lr, g.sp);
        if (!regs) {
            auto hit = symbol_at(g.lr);
            std::string_view caller = hit ? hit->name : std::string_view();
            if (caller.starts_with("__irq_") || caller.starts_with("__und_"))
                regs = g.r0; // handle_arch_irq(regs), do_undefinstr(regs)
            else if (caller.starts_with("__dabt_") || caller.starts_with("__pabt_"))
                regs = g.r2; // do_DataAbort(addr, fsr, regs)
        }
        if (!regs)
            continue;
        uint32_t pc = rd32(regs + S_PC), fp = rd32(regs + 11 * 4);
        entry(g.lr, pc);
        guest_frames(pc, fp);
    }
    return out;
}

void KernelModel::dump_stack(unsigned cpu) {
    task_struct* t = current_[cpu];
    CrashContext ctx;
    ctx.cpu = cpu;
    ctx.pid = t->pid;
    ctx.comm = t->comm;
    ctx.taint = taint_;
    for (const auto& line : dump_stack_print_info_lines(ctx))
        log_.log(KERN_DEFAULT, line);
    for (const auto& line : backtrace(cpu))
        log_.log(KERN_DEFAULT, line);
}

bool KernelModel::check_sleep(unsigned cpu, const char* might_sleep_at, bool blocks) {
    uint32_t count = preempt().get(cpu);
    bool irqs_off = cfg_.cores.at(cpu)->cpsr() & psr::I;
    if (count == 0 && !irqs_off)
        return true;
    task_struct* t = current_[cpu];
    // Interrupts off with preempt_count 0 is process context only outside an
    // exception's handler: the count lives in guest memory, where the guest may have
    // overwritten it, so the gates in progress decide (an interrupt handler, an IPI's
    // function, an abort's handler; and the idle task, which never sleeps).
    auto in_exception = [this](const GateFrame& g) {
        auto it = gates_.find(g.gate);
        if (it == gates_.end())
            return false;
        switch (it->second) {
        case Gate::HandleArchIrq:
        case Gate::DoDataAbort:
        case Gate::DoPrefetchAbort:
        case Gate::DoUndefinstr:
        case Gate::BadMode:
            return true;
        default:
            return false;
        }
    };
    const bool atomic =
        count != 0 || t->is_idle || std::ranges::any_of(t->gate_frames, in_exception);
    auto report = [&](const char* panic_msg, const char* why) {
        dump_stack(cpu);
        taint_ |= 1u << kTaintWarn; // add_taint(TAINT_WARN)
        if (!cfg_.panic_on_bug)
            return false;
        // As panic_on_warn makes __schedule_bug() do: panic("scheduling while atomic\n").
        panic(panic_msg, why);
        return true;
    };
    // ___might_sleep(): "preempt_count_equals(0) && !irqs_disabled()" or a report;
    // quiet while the system goes down, and at most one report a second ("if
    // (time_before(jiffies, prev_jiffy + HZ) && prev_jiffy) return;"; Linux's jiffies
    // start at INITIAL_JIFFIES, so the first report always prints).
    if (might_sleep_at && system_running_ &&
        !(might_sleep_reported_ && ticks_ - *might_sleep_reported_ < cfg_.hz)) {
        might_sleep_reported_ = ticks_;
        log_.printk(KERN_ERR, "BUG: sleeping function called from invalid context at %s\n",
                    might_sleep_at);
        log_.printk(KERN_ERR, "in_atomic(): %d, irqs_disabled(): %d, pid: %d, name: %s\n",
                    count != 0, irqs_off ? PSR_I_BIT : 0, t->pid, t->comm.c_str());
        if (report("sleeping function called from invalid context\n",
                   "BUG: sleeping function called from invalid context (--panic-on-bug)"))
            return false;
    }
    if (atomic) {
        // schedule() -> __schedule() -> schedule_debug(): in_atomic_preempt_off(), a
        // count other than schedule()'s own preempt_disable(), makes __schedule_bug()
        // print preempt_count() with that disable included (a hard handler's
        // msleep(): 0x00010001). The model does not sleep in atomic context.
        if (blocks) {
            log_.printk(KERN_ERR, "BUG: scheduling while atomic: %s/%d/0x%08x\n", t->comm.c_str(),
                        t->pid, count + PREEMPT_OFFSET);
            log_.printk(KERN_DEFAULT, "Modules linked in:\n");
            report("scheduling while atomic\n", "BUG: scheduling while atomic (--panic-on-bug)");
        }
        return false;
    }
    // preempt_count 0 with interrupts off, no bug to the scheduler: Linux sleeps, and
    // schedule() comes back with interrupts on (finish_task_switch()'s
    // raw_spin_unlock_irq(), or rq_unlock_irq() when no other task ran); so do the
    // spin_unlock_irq()s of the wait paths. The system call returns with them on.
    t->irqs_on_at_return = true;
    return true;
}

} // namespace piemu::kernel
