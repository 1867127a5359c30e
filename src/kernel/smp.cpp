// Inter-processor interrupts, after Linux 4.14 arch/arm/kernel/smp.c and kernel/smp.c:
// smp_cross_call() through the irqchip's send_ipi (bcm2836_arm_irqchip_send_ipi: a
// bit in the target's local-controller mailbox 0), handle_IPI() on the target
// (called by bcm2836_arm_irqchip_handle_irq with the lowest bit it read and cleared),
// counted per CPU in the IPI rows of /proc/interrupts, and the function calls of
// smp_call_function_single().
//
// The IPIs 4.14 defines and what sends them here:
//   IPI_WAKEUP      arch_send_wakeup_ipi_mask(): platforms that wake secondaries with
//                   an IPI; the BCM2836 starts them through mailbox 3 instead (none)
//   IPI_TIMER       tick_broadcast(): a broadcast clockevent; the arch timer never
//                   stops on the Pi, so there is none (none)
//   IPI_RESCHEDULE  smp_send_reschedule(): a wake-up that should preempt another CPU
//   IPI_CALL_FUNC   smp_call_function_single() to another CPU
//   IPI_CPU_STOP    smp_send_stop(): panic() and kernel_power_off() stop the others
//   IPI_IRQ_WORK    irq_work_queue_on() (klogd wake-ups, perf): not modelled (none)
//   IPI_COMPLETION  register_ipi_completion(): CPU hotplug's death (none)
// handle_IPI() handles each as 4.14 does whoever sends it.
#include <cerrno>

#include <fmt/format.h>

#include "kernel/kernel_model.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

void KernelModel::smp_cross_call(uint32_t cpumask, unsigned ipi) {
    if (sched_trace_)
        sched_trace_->ipi_raise(cpumask, ipi);
    chip_.send_ipi(cpumask, ipi);
}

void KernelModel::smp_send_reschedule(unsigned cpu) {
    smp_cross_call(1u << cpu, IPI_RESCHEDULE);
}

Task<void> KernelModel::handle_IPI(unsigned ipinr, pt_regs* regs) {
    const unsigned cpu = irq_.smp_processor_id();
    pt_regs* old_regs = irq_.set_irq_regs(regs);
    if (ipinr < NR_IPI) {
        if (sched_trace_)
            sched_trace_->ipi_entry(ipinr);
        irq_.inc_ipi_stat(cpu, ipinr);
    }
    switch (ipinr) {
    case IPI_WAKEUP:
        break;
    case IPI_TIMER:
        // tick_receive_broadcast(): NOTE: no broadcast clockevent device exists.
        irq_.irq_enter();
        co_await irq_.irq_exit();
        break;
    case IPI_RESCHEDULE:
        // scheduler_ipi(): the waker set TIF_NEED_RESCHED of this CPU's current task;
        // the return from this interrupt (svc_preempt, the idle loop) reschedules.
        break;
    case IPI_CALL_FUNC:
        irq_.irq_enter();
        co_await flush_smp_call_function_queue(cpu);
        co_await irq_.irq_exit();
        break;
    case IPI_CPU_STOP:
        // ipi_cpu_stop(): the CPU says so, leaves the online mask and spins with
        // interrupts off for good (cpu_relax() in a loop: here a WFI loop).
        // It says so only while system_state <= SYSTEM_RUNNING: on a panic, not on a
        // power-off.
        irq_.irq_enter();
        if (system_running_) {
            log_.printk(KERN_CRIT, "CPU%u: stopping\n", cpu);
            dump_stack(cpu);
        }
        irq_.set_cpu_online(cpu, false);
        if (stopping_ && irq_.num_online_cpus() == 1)
            smp_send_stop_done();
        co_await call_guest(cpu, vector_page_symbol("ipi_cpu_stop_loop"), {0, 0, 0, 0}, false,
                            {"ipi_cpu_stop", {}});
        break; // never reached: the loop does not return
    case IPI_IRQ_WORK:
    case IPI_COMPLETION:
        // irq_work_run() / ipi_complete(): NOTE: nothing queues either here.
        irq_.irq_enter();
        co_await irq_.irq_exit();
        break;
    default:
        log_.printk(KERN_CRIT, "CPU%u: Unknown IPI message 0x%x\n", cpu, ipinr);
        break;
    }
    if (ipinr < NR_IPI && sched_trace_)
        sched_trace_->ipi_exit(ipinr);
    irq_.set_irq_regs(old_regs);
}

bool KernelModel::smp_send_stop(unsigned cpu) {
    uint32_t mask = 0;
    for (unsigned other = 0; other < cfg_.nr_cpus; ++other)
        if (other != cpu && irq_.cpu_online(other))
            mask |= 1u << other;
    if (!mask)
        return false;
    stopping_cpu_ = cpu;
    smp_cross_call(mask, IPI_CPU_STOP);
    // "Wait up to one second for other CPUs to stop" (udelay(1) a million times).
    stop_timeout_ = std::make_unique<TimerEvent>(*cfg_.clock, "smp_send_stop", [this] {
        log_.printk(KERN_WARNING, "SMP: failed to stop secondary CPUs\n");
        smp_send_stop_done();
    });
    stop_timeout_->arm_in(cfg_.clock->hz());
    return true;
}

void KernelModel::smp_send_stop_done() {
    if (!stopping_)
        return;
    stop_timeout_->cancel();
    for (const auto& line : stopping_end_lines_)
        log_.log(KERN_EMERG, line);
    stop_ = std::exchange(stopping_, std::nullopt);
}

Task<int> KernelModel::smp_call_function_single(unsigned cpu, uint32_t func, uint32_t info,
                                                bool wait) {
    const unsigned this_cpu = irq_.smp_processor_id();
    if (cpu >= cfg_.nr_cpus || !irq_.cpu_online(cpu))
        co_return -ENXIO;
    ArmCore& c = *cfg_.cores.at(this_cpu);
    // get_cpu(): preemption off until the call is done (and, with `wait`, until the
    // other CPU ran it: the caller spins).
    preempt().add(this_cpu, PREEMPT_OFFSET);
    if (cpu == this_cpu) {
        // Run here with interrupts off (local_irq_save).
        const uint32_t cpsr = c.cpsr();
        c.set_cpsr(cpsr | psr::I);
        co_await call_guest(this_cpu, func, {info, 0, 0, 0}, false, {"smp_call_func", {"info"}});
        c.set_cpsr((c.cpsr() & ~psr::I) | (cpsr & psr::I));
        preempt().sub(this_cpu, PREEMPT_OFFSET);
        co_return 0;
    }
    // generic_exec_single(): the call_single_data (a synchronous call's own, or this
    // CPU's csd_data for an asynchronous one, locked first) on the target's queue;
    // an IPI when the queue was empty.
    const uint32_t csd =
        PIEMU_KM_CSD + PIEMU_KM_CSD_SIZE * (wait ? this_cpu : cfg_.nr_cpus + this_cpu);
    if (rd32(csd + CSD_FLAGS) & CSD_FLAG_LOCK)
        co_await call_guest(this_cpu, vector_page_symbol("csd_lock_wait"), {csd, 0, 0, 0}, false,
                            {"csd_lock_wait", {"csd"}});
    wr32(csd + CSD_FUNC, func);
    wr32(csd + CSD_INFO, info);
    wr32(csd + CSD_FLAGS, CSD_FLAG_LOCK | (wait ? CSD_FLAG_SYNCHRONOUS : 0));
    auto& queue = call_single_queue_.at(cpu);
    queue.push_back(csd);
    if (queue.size() == 1)
        smp_cross_call(1u << cpu, IPI_CALL_FUNC);
    // csd_lock_wait(): spins (vector page code) until the target unlocks the csd.
    if (wait)
        co_await call_guest(this_cpu, vector_page_symbol("csd_lock_wait"), {csd, 0, 0, 0}, false,
                            {"csd_lock_wait", {"csd"}});
    preempt().sub(this_cpu, PREEMPT_OFFSET);
    co_return 0;
}

Task<void> KernelModel::flush_smp_call_function_queue(unsigned cpu) {
    // The queued calls, oldest first. A synchronous one is unlocked after its function
    // returned (its caller waits for that); an asynchronous one before (its csd may
    // be reused at once).
    auto& queue = call_single_queue_.at(cpu);
    std::deque<uint32_t> list;
    list.swap(queue);
    for (uint32_t csd : list) {
        uint32_t func = rd32(csd + CSD_FUNC), info = rd32(csd + CSD_INFO);
        uint32_t flags = rd32(csd + CSD_FLAGS);
        if (!(flags & CSD_FLAG_SYNCHRONOUS))
            wr32(csd + CSD_FLAGS, flags & ~CSD_FLAG_LOCK);
        co_await call_guest(cpu, func, {info, 0, 0, 0}, false, {"smp_call_func", {"info"}});
        if (flags & CSD_FLAG_SYNCHRONOUS)
            wr32(csd + CSD_FLAGS, rd32(csd + CSD_FLAGS) & ~CSD_FLAG_LOCK);
    }
}

} // namespace piemu::kernel
