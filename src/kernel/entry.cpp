// The C++ side of the vector page: gates (gates.S) and calls into guest code.
//
// A gate is a C function of the kernel: when the core meets its UDF (inside the run,
// through the machine's code trap, or at a stop under a debugger), enter_gate() runs
// the C++ as a coroutine (run_gate) and, when that finishes, "returns" like the C
// function would: r0 = result, sp as at the call, pc = lr. If the C++ must run guest
// code first (call_guest), it points the core at the guest function with
// lr = ret_from_guest_call and suspends; the guest runs, and the return gate resumes
// the C++ with the guest's r0. Nothing nests uc_emu_start.
#include "kernel/kernel_model.hpp"

#include <fmt/format.h>

#include "kernel/guest_format.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

namespace {
constexpr int kSigsegv = 11; ///< do_exit(SIGSEGV) after an Oops
} // namespace

struct KernelModel::GuestCallAwaiter {
    KernelModel* km;
    unsigned cpu;
    uint32_t fn;
    std::array<uint32_t, 4> args;
    bool irqs_on;
    GuestCallInfo info;
    GuestCallFrame frame{};
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        frame.waiter = h;
        km->begin_guest_call(cpu, fn, args, irqs_on, info, frame);
    }
    uint32_t await_resume() const noexcept { return frame.result; }
};

std::pair<uint32_t, uint32_t> KernelModel::gate_range() const {
    return {vector_page_symbol("__gates_start"), vector_page_symbol("__gates_end")};
}

std::optional<KernelStop> KernelModel::enter_gate(unsigned cpu) {
    irq_.set_current_cpu(cpu);
    Gate gate = gates_.at(cfg_.cores.at(cpu)->pc());
    if (gate == Gate::RetFromGuestCall) {
        ret_from_guest_call(cpu);
    } else {
        task_struct* t = current_[cpu];
        t->gates.push_back(run_gate(cpu, gate));
        t->gates.back().start();
    }
    reap_gates(cpu);
    return std::exchange(stop_, std::nullopt);
}

uint32_t KernelModel::syscall_pt_regs(uint32_t lr, uint32_t sp) const {
    static const uint32_t ret_fast_syscall = vector_page_symbol("ret_fast_syscall");
    return lr == ret_fast_syscall ? sp + S_OFF : 0; // pt_regs above the pushed r4, r5
}

void KernelModel::reap_gates(unsigned cpu) {
    // Gate calls finish innermost first, and only while their task runs.
    task_struct* t = current_[cpu];
    while (!t->gates.empty() && t->gates.back().done())
        t->gates.pop_back();
}

void KernelModel::stop(KernelStop s, std::vector<std::string> end_lines) {
    if (stop_ || stopping_)
        return;
    if (s.kind != KernelStop::Kind::InitExit && smp_send_stop(irq_.smp_processor_id())) {
        stopping_ = std::move(s);
        stopping_end_lines_ = std::move(end_lines);
        return;
    }
    for (const auto& line : end_lines)
        log_.log(KERN_EMERG, line);
    stop_ = std::move(s);
}

Task<void> KernelModel::run_gate(unsigned cpu, Gate gate) {
    ArmCore& c = *cfg_.cores.at(cpu);
    GateArgs a;
    std::array<uint32_t, 16> regs; // in one read: a context switch may want them all
    a.cpsr = c.context(regs);
    std::copy(regs.begin(), regs.begin() + 6, a.r.begin());
    a.scno = regs[7];
    a.sp = regs[13];
    a.lr = regs[14];
    task_struct* t = current_[cpu];
    t->gate_frames.push_back({regs[15], a.lr, a.sp, a.r[0], a.r[2]});
    uint32_t ret = co_await gate_body(cpu, gate, a);
    // A call that slept (or may have) with interrupts off comes back with them on.
    const bool irqs_on = std::exchange(t->irqs_on_at_return, false);
    // A syscall that woke a more important task ends, as the kernel function would,
    // in preempt_enable(): the switch happens before the caller resumes.
    if (gate == Gate::Syscall && !stop_ && (irqs_on || !(a.cpsr & psr::I)) &&
        preempt().get(t->cpu) == 0 && need_resched(t->cpu)) {
        preempting_ = true;
        co_await schedule(t->cpu);
    }
    t->gate_frames.pop_back();
    if (stop_)
        co_return; // the run ends here; leave the core where it stopped
    if (stopping_ && (cpu == stopping_cpu_ || (panicked_cpus_ >> cpu) & 1)) {
        // panic() and machine_power_off() go on with interrupts off while the other
        // CPUs stop (panic's final loop; the power going off), and so does a CPU that
        // panicked meanwhile: a WFE loop here, never a return to what the gate
        // interrupted (an Oops would repeat for ever).
        ArmCore& self = *cfg_.cores.at(cpu);
        self.set_cpsr(self.cpsr() | psr::I | psr::F);
        self.set_pc(vector_page_symbol("ipi_cpu_stop_loop"), false);
        co_return;
    }
    // The task may have moved to another CPU while the gate slept: it returns there.
    ArmCore& on = *cfg_.cores.at(t->cpu);
    if (irqs_on) {
        // ret_fast_syscall returns with the CPSR vector_swi saved in pt_regs.
        if (uint32_t regs = syscall_pt_regs(a.lr, a.sp))
            wr32(regs + S_PSR, rd32(regs + S_PSR) & ~uint32_t(PSR_I_BIT));
        else
            on.set_cpsr(on.cpsr() & ~psr::I);
    }
    on.set_reg(13, a.sp);
    on.set_reg(0, ret);
    on.set_pc(a.lr & ~1u, a.lr & 1);
}

Task<uint32_t> KernelModel::gate_body(unsigned cpu, Gate gate, const GateArgs& a) {
    task_struct* t = current_[cpu];
    switch (gate) {
    case Gate::HandleArchIrq: {
        pt_regs regs{a.r[0]};
        // The function tracer's first line: the driver's entry and the vector code
        // that called it (its return address, as the kernel's parent_ip). The symbol
        // lookup is a scan of the vector page's symbols: only when tracing.
        auto frame = irq_.ftrace_entry("bcm2836_arm_irqchip_handle_irq",
                                       irq_.trace_hooks() ? vector_page_symbol_name(a.lr) : "");
        co_await chip_.handle_irq(&regs);
        co_return 0;
    }
    case Gate::PreemptScheduleIrq:
        co_await preempt_schedule_irq(cpu);
        co_return 0;
    case Gate::ScheduleIdle:
        co_await schedule(cpu);
        co_return 0;
    case Gate::DoWorkPending:
        // do_work_pending(regs, thread_flags, syscall): signals are not modelled.
        if (ti_flags(t) & _TIF_NEED_RESCHED)
            co_await schedule(cpu);
        co_return 0;
    case Gate::DoExit:
        if (t->pid == 1) {
            stop({KernelStop::Kind::InitExit, int(a.r[0] & 0xff),
                  fmt::format("init exited with status {}", a.r[0] & 0xff)});
            co_return 0;
        }
        co_await do_exit(cpu, int(a.r[0])); // a kernel thread's function returned
        co_return 0;
    case Gate::KthreadBody: {
        // kthread(): the C++ thread function, then do_exit() with its result.
        uint32_t ret = co_await t->body(t);
        co_await do_exit(t->cpu, int(ret));
        co_return 0;
    }
    case Gate::DoDataAbort:
    case Gate::DoPrefetchAbort: {
        // __do_kernel_fault / do_PrefetchAbort: nothing can fix a fault here (no
        // pages to fault in, no exception tables): report and die.
        // Both end in __do_kernel_fault for kernel-mode accesses (MMU off: no pages).
        if (!oops(cpu, {kernel_fault_line(a.r[0])}, "Oops", a.r[1], a.r[2]))
            co_await do_exit(cpu, kSigsegv);
        co_return 0;
    }
    case Gate::DoUndefinstr: {
        uint32_t pc = rd32(a.r[0] + S_PC);
        bool bug = !(rd32(a.r[0] + S_PSR) & PSR_T_BIT) && rd32(pc) == 0xe7f001f2;
        if (!oops(cpu, {}, bug ? "Oops - BUG" : "Oops - undefined instruction", 0, a.r[0]))
            co_await do_exit(cpu, kSigsegv);
        co_return 0;
    }
    case Gate::BadMode: {
        static const char* const kHandler[] = {"prefetch abort", "data abort", "address exception",
                                               "interrupt", "undefined instruction"};
        std::vector<std::string> first{fmt::format("Bad mode in {} handler detected\n",
                                                   kHandler[std::min<uint32_t>(a.r[1], 4)])};
        if (!oops(cpu, first, "Oops - bad mode", 0, a.r[0]))
            co_await do_exit(cpu, kSigsegv);
        co_return 0;
    }
    case Gate::Syscall:
        co_return co_await syscall(cpu, a);
    case Gate::DwcOtgFiqFsm:
        // dwc_otg_fiq_fsm(state = r8, num_channels = r9), in FIQ mode: it never sleeps.
        dwc_otg_fiq(a.r[1]);
        co_return 0;
    case Gate::HubEvent:
        co_await hub_event(cpu);
        co_return 0;
    case Gate::RetFromGuestCall:
        break; // handled by enter_gate
    }
    co_return 0;
}

Task<uint32_t> KernelModel::call_guest(unsigned cpu, uint32_t fn, std::array<uint32_t, 4> args,
                                       bool irqs_on, GuestCallInfo info) {
    co_return co_await GuestCallAwaiter{this, cpu, fn, args, irqs_on, info};
}

void KernelModel::begin_guest_call(unsigned cpu, uint32_t fn, const std::array<uint32_t, 4>& args,
                                   bool irqs_on, const GuestCallInfo& info, GuestCallFrame& frame) {
    if (debug_)
        debug_->guest_call(cpu, fn, info, args);
    ArmCore& c = *cfg_.cores.at(cpu);
    frame.sp = c.reg(13);
    frame.cpsr = c.cpsr();
    if (irqs_on)
        c.set_cpsr(c.cpsr() & ~psr::I);
    current_[cpu]->calls.push_back(&frame);
    for (unsigned i = 0; i < 4; ++i)
        c.set_reg(i, args[i]);
    c.set_reg(14, ret_from_guest_call_);
    // Interworking as BX would: bit 0 selects Thumb.
    c.set_cpsr((c.cpsr() & ~psr::T) | (fn & 1 ? psr::T : 0));
    c.set_pc(fn & ~1u, fn & 1);
}

void KernelModel::ret_from_guest_call(unsigned cpu) {
    ArmCore& c = *cfg_.cores.at(cpu);
    task_struct* t = current_[cpu];
    if (t->calls.empty()) {
        // Guest code branched here on its own: there is no C++ to return to.
        log_.printk(KERN_EMERG,
                    "piemu: ret_from_guest_call reached with no guest call "
                    "outstanding (lr 0x%08x)\n",
                    c.reg(14));
        stop({KernelStop::Kind::Panic, kExitKernelPanic, "stray ret_from_guest_call"});
        return;
    }
    GuestCallFrame* frame = t->calls.back();
    t->calls.pop_back();
    frame->result = c.reg(0);
    c.set_cpsr(frame->cpsr);
    c.set_reg(13, frame->sp);
    frame->waiter.resume();
}

} // namespace piemu::kernel
