// The kernel model's tasks and scheduler, reduced to what the entry path needs: the
// idle task per CPU, init, sleeping in msleep() and being woken by the tick, and the
// context switch. (A full scheduler with priorities, kernel threads and IRQ threads
// builds on this.)
//
// A task that is switched out is always inside a gate (schedule, msleep,
// preempt_schedule_irq): its registers are saved in task_struct::ctx and the C++
// coroutine that switched it out in task_struct::resume. Switching back in restores
// the registers and resumes that coroutine, which finishes the gate (r0, pc = lr).
// A task that never ran (init) has no coroutine: its ctx starts it.
#include <algorithm>

#include "kernel/kernel_model.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

struct KernelModel::SwitchAwaiter {
    KernelModel* km;
    unsigned cpu;
    task_struct* prev;
    task_struct* next;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
        return km->context_switch(cpu, prev, next, h);
    }
    void await_resume() const noexcept {}
};

task_struct* KernelModel::create_task(std::string comm, task_struct* parent) {
    size_t slot = tasks_.size();
    if (slot >= PIEMU_KM_MAX_TASKS)
        return nullptr;
    auto t = std::make_unique<task_struct>();
    t->pid = next_pid_++;
    // comm is char[TASK_COMM_LEN]: 15 characters and the NUL (set_task_comm).
    if (comm.size() > PIEMU_TASK_COMM_LEN - 1)
        comm.resize(PIEMU_TASK_COMM_LEN - 1);
    t->comm = comm;
    t->parent = parent;
    t->addr = PIEMU_KM_TASKS + uint32_t(slot) * PIEMU_KM_TASK_SLOT;
    t->stack = PIEMU_KM_KSTACKS + uint32_t(slot) * THREAD_SIZE;

    // thread_info at the stack base (INIT_THREAD_INFO): kernel threads run with
    // addr_limit = KERNEL_DS; preempt_count 0 once the task has started.
    std::vector<uint8_t> zero(THREAD_SIZE, 0);
    cfg_.bus->write_phys(t->stack, zero);
    wr32(t->stack + TI_ADDR_LIMIT, KERNEL_DS);
    wr32(t->stack + TI_TASK, t->addr);
    wr32(t->stack + TI_CPU, 0);
    wr32(t->stack + TI_CPU_DOMAIN, 0x00000015); // DACR of a kernel thread (reference dump)

    std::vector<uint8_t> ts(PIEMU_KM_TASK_SLOT, 0);
    cfg_.bus->write_phys(t->addr, ts);
    wr32(t->addr + TSK_STACK, t->stack);
    wr32(t->addr + TSK_PID, uint32_t(t->pid));
    wr32(t->addr + TSK_PRIO, uint32_t(t->prio));
    cfg_.bus->write_phys(t->addr + TSK_COMM,
                         {reinterpret_cast<const uint8_t*>(comm.data()), comm.size()});
    tasks_.push_back(std::move(t));
    return tasks_.back().get();
}

void KernelModel::set_task_state(task_struct* t, char state) {
    t->state = state;
    wr32(t->addr + TSK_STATE, state == 'R' ? 0 : state == 'S' ? 1 : 2);
}

uint32_t KernelModel::ti_flags(task_struct* t) const {
    return rd32(t->stack + TI_FLAGS);
}

void KernelModel::set_ti_flags(task_struct* t, uint32_t flags) {
    wr32(t->stack + TI_FLAGS, flags);
}

void KernelModel::save_context(unsigned cpu, task_struct* t) {
    ArmCore& c = *cfg_.cores.at(cpu);
    for (unsigned i = 0; i < 16; ++i)
        t->ctx.r[i] = c.reg(i);
    if (c.thumb())
        t->ctx.r[15] |= 1;
    t->ctx.cpsr = c.cpsr();
    // thread_info->cpu_context as __switch_to stores it: r4-r9, sl, fp, sp, pc.
    for (unsigned i = 0; i < 8; ++i)
        wr32(t->stack + TI_CPU_SAVE + 4 * i, t->ctx.r[4 + i]);
    wr32(t->stack + TI_CPU_SAVE + 32, t->ctx.r[13]);
    wr32(t->stack + TI_CPU_SAVE + 36, t->ctx.r[15]);
}

void KernelModel::restore_context(unsigned cpu, task_struct* t) {
    ArmCore& c = *cfg_.cores.at(cpu);
    c.set_cpsr((t->ctx.cpsr & ~psr::T) | (t->ctx.r[15] & 1 ? psr::T : 0));
    for (unsigned i = 0; i < 15; ++i)
        c.set_reg(i, t->ctx.r[i]);
    c.set_pc(t->ctx.r[15] & ~1u, t->ctx.r[15] & 1);
    wr32(t->stack + TI_CPU, cpu);
}

std::coroutine_handle<> KernelModel::context_switch(unsigned cpu, task_struct* prev,
                                                    task_struct* next, std::coroutine_handle<> h) {
    save_context(cpu, prev);
    prev->resume = h;
    current_[cpu] = next;
    restore_context(cpu, next);
    if (auto r = std::exchange(next->resume, {}))
        return r;
    return std::noop_coroutine();
}

task_struct* KernelModel::pick_next_task(unsigned cpu, task_struct* prev) {
    // Round robin over the runnable tasks after prev, the idle task last.
    auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](auto& t) { return t.get() == prev; });
    for (size_t n = 1; n <= tasks_.size(); ++n) {
        task_struct* t = tasks_[(size_t(it - tasks_.begin()) + n) % tasks_.size()].get();
        if (!t->is_idle && t->state == 'R')
            return t;
    }
    return idle_[cpu];
}

Task<void> KernelModel::schedule(unsigned cpu) {
    task_struct* prev = current_[cpu];
    set_ti_flags(prev, ti_flags(prev) & ~uint32_t(_TIF_NEED_RESCHED)); // clear_tsk_need_resched
    task_struct* next = pick_next_task(cpu, prev);
    if (next != prev)
        co_await SwitchAwaiter{this, cpu, prev, next};
}

Task<void> KernelModel::preempt_schedule_irq(unsigned cpu) {
    // Entered from svc_preempt with IRQs off and preempt_count 0: __schedule(true)
    // while the count says "preempt active", as long as a reschedule is pending.
    task_struct* t = current_[cpu];
    do {
        preempt().add(cpu, PREEMPT_OFFSET);
        co_await schedule(cpu);
        preempt().sub(cpu, PREEMPT_OFFSET);
    } while (ti_flags(t) & _TIF_NEED_RESCHED);
}

void KernelModel::wake_up_process(task_struct* t) {
    if (t->state == 'R')
        return;
    set_task_state(t, 'R');
    t->timeout.reset();
    // check_preempt_curr: a woken task preempts the idle task.
    task_struct* cur = current_[0];
    if (cur->is_idle)
        set_ti_flags(cur, ti_flags(cur) | _TIF_NEED_RESCHED);
}

void KernelModel::run_local_timers() {
    // The expired timers of sleeping tasks (process_timeout).
    for (auto& t : tasks_)
        if (t->timeout && *t->timeout <= ticks_)
            wake_up_process(t.get());
}

bool KernelModel::may_sleep(unsigned cpu, const char* what) {
    uint32_t pc = preempt().get(cpu);
    if (pc == 0 && !(cfg_.cores.at(cpu)->cpsr() & psr::I))
        return true;
    task_struct* t = current_[cpu];
    // __schedule_bug(): the kernel reports and carries on without sleeping.
    log_.printk(KERN_ERR, "BUG: scheduling while atomic: %s/%d/0x%08x\n", t->comm.c_str(), t->pid,
                pc);
    log_.printk(KERN_ERR, "piemu: %s did not sleep\n", what);
    return false;
}

} // namespace piemu::kernel
