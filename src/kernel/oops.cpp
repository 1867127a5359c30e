// die() and panic() for faults in kernel-model context (arch/arm/kernel/traps.c,
// kernel/panic.c of 4.14): the report goes to the kernel log in the kernel's words,
// then the run ends with kExitKernelPanic when the kernel would panic: an Oops in
// interrupt context ("Fatal exception in interrupt") or one that kills init or the
// idle task, unless another CPU was already stopping the machine (a power-off, an
// earlier panic): then the run ends as that stop does. A kernel thread that oopses is
// killed (do_exit(SIGSEGV)) and the run goes on, as in Linux without panic_on_oops.
#include <fmt/format.h>

#include "kernel/guest_format.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

bool KernelModel::oops(unsigned cpu, const std::vector<std::string>& first, const char* str,
                       uint32_t err, uint32_t regs) {
    ArmCore& c = *cfg_.cores.at(cpu);
    task_struct* t = current_[cpu];
    for (const auto& line : first)
        log_.log(KERN_ALERT, line);

    PtRegsValues frame{};
    for (unsigned i = 0; i < 18; ++i)
        frame.uregs[i] = rd32(regs + 4 * i);
    CrashContext ctx;
    ctx.cpu = cpu;
    ctx.pid = t->pid;
    ctx.comm = t->comm;
    ctx.task = t->addr;
    ctx.stack = t->stack;
    ctx.sctlr = c.sctlr();
    ctx.ttbr0 = c.cp15(2, 0, 0, 0);
    ctx.dacr = rd32(t->stack + TI_CPU_DOMAIN); // what the thread runs with (MMU off)
    ctx.addr_limit = rd32(regs + SVC_ADDR_LIMIT);
    ctx.die_counter = ++die_counter_;
    ctx.taint = taint_;
    uint32_t pc = preempt().get(cpu);
    ctx.in_interrupt = (pc & (HARDIRQ_MASK | SOFTIRQ_MASK | NMI_MASK)) != 0;
    ctx.symbolize = [this](uint32_t addr) { return symbolize(addr); };
    ctx.read_word = [this](uint32_t addr, uint32_t& w) { return cfg_.bus->read32(addr, w); };
    ctx.backtrace = backtrace(cpu);
    for (const auto& line : die_lines(str, err, frame, ctx))
        log_.log(KERN_EMERG, line);
    log_.print_oops_end_marker();
    taint_ |= 1u << kTaintDie; // add_taint(TAINT_DIE) in oops_end()

    // die() ends in do_exit(SIGSEGV) of the task that oopsed: a panic in interrupt
    // context and for init or the idle task; any other kernel thread just dies.
    std::string msg;
    if (ctx.in_interrupt)
        msg = "Fatal exception in interrupt";
    else if (t->pid <= 1)
        msg = fmt::format("Attempted to kill {}! exitcode=0x{:08x}\n",
                          t->is_idle ? "the idle task" : "init", 0x0000000b); // SIGSEGV
    else
        return false;
    std::string summary = msg;
    while (!summary.empty() && summary.back() == '\n')
        summary.pop_back();
    panic(msg, "Kernel panic - not syncing: " + summary);
    return true;
}

void KernelModel::panic(std::string_view msg, std::string why) {
    // Another CPU may be stopping the machine already (smp_send_stop() waits for the
    // others). panic() does not return: it disables interrupts first, so this CPU never
    // takes the IPI that would stop it, and the other waits out its second. The message
    // only when the other did not panic first (else panic_smp_self_stop(), silent); its
    // end line would come after a wait of its own that the other's ends first.
    const unsigned cpu = irq_.smp_processor_id();
    const bool other_stopping = stopping_ && cpu != stopping_cpu_;
    auto lines = panic_lines(msg);
    auto end = split_panic_end(lines);
    if (!other_stopping || stopping_->kind != KernelStop::Kind::Panic)
        for (const auto& line : lines)
            log_.log(KERN_EMERG, line);
    if (other_stopping) {
        panicked_cpus_ |= 1u << cpu;
        return;
    }
    stop({KernelStop::Kind::Panic, kExitKernelPanic, std::move(why)}, std::move(end));
}

} // namespace piemu::kernel
