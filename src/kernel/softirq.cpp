// Deferred work of the kernel model, after Linux 4.14: softirqs (kernel/softirq.c:
// raise, __do_softirq on irq_exit with its restart limit, ksoftirqd/N), tasklets on
// TASKLET/HI, the system workqueue's per-CPU pools served by kworker/N:0
// (kernel/workqueue.c), the CPU stopper (migration/N, kernel/stop_machine.c), and the
// sleeping primitives guest code uses with them (completions, mutexes).
//
// Guest objects (tasklet_struct, work_struct, completion, mutex) live in guest memory
// with the kernel's layouts (guest_abi.h); the model keeps only what the kernel keeps
// in its own lists (the per-CPU tasklet lists, the worklist, wait queues).
#include <algorithm>

#include "kernel/irq/internals.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

namespace {
/// MAX_SOFTIRQ_RESTART and MAX_SOFTIRQ_TIME (2 ms) of kernel/softirq.c.
constexpr int MAX_SOFTIRQ_RESTART = 10;
constexpr uint64_t MAX_SOFTIRQ_TIME_NS = 2'000'000;
} // namespace

void KernelModel::open_softirq(unsigned nr, std::function<Task<void>(unsigned)> action) {
    if (nr < NR_SOFTIRQS)
        softirq_vec_[nr] = std::move(action);
}

void KernelModel::__raise_softirq_irqoff(unsigned cpu, unsigned nr) {
    if (sched_trace_)
        sched_trace_->softirq_raise(nr);
    softirq_pending_.at(cpu) |= 1u << nr;
}

void KernelModel::raise_softirq(unsigned cpu, unsigned nr) {
    __raise_softirq_irqoff(cpu, nr);
    // Outside interrupt context nobody would run it soon: ksoftirqd does.
    if (!in_interrupt(preempt().get(cpu)))
        wakeup_softirqd(cpu);
}

void KernelModel::wakeup_softirqd(unsigned cpu) {
    if (task_struct* t = ksoftirqd_.at(cpu); t && t->state != TASK_RUNNING)
        wake_up_process(t);
}

Task<void> KernelModel::invoke_softirq(unsigned cpu) {
    // ksoftirqd_running(): once ksoftirqd is runnable it does the work (4.14's
    // fix against softirq storms starving user space).
    if (task_struct* t = ksoftirqd_.at(cpu); t && t->state == TASK_RUNNING)
        co_return;
    co_await __do_softirq(cpu);
}

Task<void> KernelModel::__do_softirq(unsigned cpu) {
    const uint64_t end = cfg_.clock->now_ns() + MAX_SOFTIRQ_TIME_NS;
    int max_restart = MAX_SOFTIRQ_RESTART;
    uint32_t pending = local_softirq_pending(cpu);
    preempt().add(cpu, SOFTIRQ_OFFSET); // __local_bh_disable_ip(SOFTIRQ_OFFSET)
    ArmCore& core = *cfg_.cores.at(cpu);
    const uint32_t irq_state = core.cpsr() & psr::I;
    for (;;) {
        softirq_pending_[cpu] = 0;
        // local_irq_enable(): the handlers run with IRQs on (guest ones can be
        // interrupted); local_irq_disable() again before looking for more.
        core.set_cpsr(core.cpsr() & ~psr::I);
        for (unsigned nr = 0; pending; ++nr, pending >>= 1) {
            if (!(pending & 1))
                continue;
            uint32_t prev_count = preempt().get(cpu);
            if (sched_trace_)
                sched_trace_->softirq_entry(nr);
            if (softirq_vec_[nr])
                co_await softirq_vec_[nr](cpu);
            if (sched_trace_)
                sched_trace_->softirq_exit(nr);
            if (preempt().get(cpu) != prev_count) {
                log_.printk(KERN_ERR,
                            "huh, entered softirq %u with preempt_count %08x, exited with %08x?\n",
                            nr, prev_count, preempt().get(cpu));
                preempt().set(cpu, prev_count);
            }
        }
        core.set_cpsr(core.cpsr() | psr::I);
        pending = local_softirq_pending(cpu);
        if (!pending)
            break;
        bool need_resched = ti_flags(current_[cpu]) & _TIF_NEED_RESCHED;
        if (cfg_.clock->now_ns() < end && !need_resched && --max_restart)
            continue;
        wakeup_softirqd(cpu);
        break;
    }
    preempt().sub(cpu, SOFTIRQ_OFFSET);
    core.set_cpsr((core.cpsr() & ~psr::I) | irq_state);
}

Task<void> KernelModel::local_bh_enable(unsigned cpu) {
    // __local_bh_enable_ip(): drop to SOFTIRQ_OFFSET - 1 first, run what is pending
    // when that leaves no interrupt context, then the rest.
    preempt().sub(cpu, SOFTIRQ_DISABLE_OFFSET - 1);
    if (!in_interrupt(preempt().get(cpu)) && local_softirq_pending(cpu))
        co_await __do_softirq(cpu);
    preempt().sub(cpu, 1);
}

Task<uint32_t> KernelModel::run_ksoftirqd(task_struct* self, unsigned cpu) {
    // smpboot's thread loop around run_ksoftirqd(): sleep while nothing is pending.
    for (;;) {
        while (!local_softirq_pending(cpu)) {
            if (self->should_stop)
                co_return 0;
            set_task_state(self, TASK_INTERRUPTIBLE);
            co_await schedule(cpu);
        }
        set_task_state(self, TASK_RUNNING);
        const uint64_t insns = cfg_.cores.at(cpu)->instructions();
        co_await __do_softirq(cpu);
        if (ti_flags(self) & _TIF_NEED_RESCHED) // cond_resched()
            co_await schedule(cpu);
        if (local_softirq_pending(cpu) && cfg_.cores.at(cpu)->instructions() == insns) {
            // The round ran no guest code and left the work pending, as a disabled
            // tasklet does (tasklet_action() queues it again and raises the softirq).
            // Linux's ksoftirqd spins on it until the tick hands the CPU to another
            // task; the model's C++ takes no virtual time, so the tick would never
            // come and the host would spin for ever. Wait for the next tick instead
            // (or a new raise, which wakes it).
            co_await schedule_timeout(cpu, 1, TASK_INTERRUPTIBLE, "smpboot_thread_fn");
        }
    }
}

Task<void> KernelModel::run_timer_softirq(unsigned cpu) {
    // The CPU's timer wheel's expired timers: here the sleepers' process_timeout().
    run_local_timers(cpu);
    co_return;
}

// ---- tasklets

void KernelModel::tasklet_schedule(unsigned cpu, uint32_t t, bool hi) {
    uint32_t state = rd32(t + TASKLET_STATE);
    if (state & (1u << TASKLET_STATE_SCHED))
        return; // already scheduled: runs once
    wr32(t + TASKLET_STATE, state | (1u << TASKLET_STATE_SCHED));
    (hi ? tasklet_hi_vec_ : tasklet_vec_).at(cpu).push_back(t);
    raise_softirq(cpu, hi ? HI_SOFTIRQ : TASKLET_SOFTIRQ);
}

Task<void> KernelModel::tasklet_action(unsigned cpu, bool hi) {
    auto& vec = (hi ? tasklet_hi_vec_ : tasklet_vec_).at(cpu);
    std::vector<uint32_t> list;
    list.swap(vec);
    for (uint32_t t : list) {
        uint32_t state = rd32(t + TASKLET_STATE);
        // tasklet_trylock(): not running elsewhere; then run unless disabled.
        if (!(state & (1u << TASKLET_STATE_RUN)) && rd32(t + TASKLET_COUNT) == 0) {
            wr32(t + TASKLET_STATE,
                 (state | (1u << TASKLET_STATE_RUN)) & ~(1u << TASKLET_STATE_SCHED));
            co_await call_guest(cpu, rd32(t + TASKLET_FUNC), {rd32(t + TASKLET_DATA), 0, 0, 0},
                                false, {"tasklet", {"data"}});
            wr32(t + TASKLET_STATE, rd32(t + TASKLET_STATE) & ~(1u << TASKLET_STATE_RUN));
            continue;
        }
        // Disabled (or running): back on the list for a later round.
        vec.push_back(t);
        __raise_softirq_irqoff(cpu, hi ? HI_SOFTIRQ : TASKLET_SOFTIRQ);
    }
}

// ---- the workqueue

bool KernelModel::queue_work(uint32_t work) {
    // schedule_work() = queue_work_on(WORK_CPU_UNBOUND): the pool of the CPU that
    // queues it.
    uint32_t data = rd32(work + WORK_DATA);
    if (data & (1u << WORK_STRUCT_PENDING_BIT))
        return false;
    wr32(work + WORK_DATA, data | (1u << WORK_STRUCT_PENDING_BIT));
    const unsigned cpu = irq_.smp_processor_id();
    work_list_.at(cpu).push_back(work);
    if (task_struct* worker = kworker_.at(cpu))
        wake_up_process(worker);
    return true;
}

bool KernelModel::work_busy(uint32_t work) const {
    for (unsigned cpu = 0; cpu < cfg_.nr_cpus; ++cpu)
        if (work_running_[cpu] == work || std::find(work_list_[cpu].begin(), work_list_[cpu].end(),
                                                    work) != work_list_[cpu].end())
            return true;
    return false;
}

Task<void> KernelModel::flush_work(unsigned cpu, uint32_t work) {
    // Waits until the work is neither queued nor running (a barrier in the kernel).
    task_struct* self = current_[cpu];
    while (work_busy(work))
        co_await sleep_on(self->cpu, work, TASK_UNINTERRUPTIBLE);
}

Task<uint32_t> KernelModel::worker_thread(task_struct* self, unsigned cpu) {
    // kworker/N:0 is bound to its CPU: `cpu` stays right across schedule().
    auto& list = work_list_.at(cpu);
    for (;;) {
        while (list.empty()) {
            if (self->should_stop)
                co_return 0;
            set_task_state(self, TASK_INTERRUPTIBLE);
            co_await schedule(cpu);
        }
        set_task_state(self, TASK_RUNNING);
        uint32_t work = list.front();
        list.pop_front();
        // process_one_work(): clear PENDING before the function runs, so that it may
        // queue itself again.
        wr32(work + WORK_DATA, rd32(work + WORK_DATA) & ~(1u << WORK_STRUCT_PENDING_BIT));
        work_running_[cpu] = work;
        co_await call_guest(cpu, rd32(work + WORK_FUNC), {work, 0, 0, 0}, false,
                            {"work", {"work"}});
        work_running_[cpu] = 0;
        wake_up_key(work, true);                // flush_work() waiters
        if (ti_flags(self) & _TIF_NEED_RESCHED) // cond_resched()
            co_await schedule(cpu);
    }
}

// ---- the CPU stopper

Task<uint32_t> KernelModel::cpu_stopper_thread(task_struct* self, unsigned cpu) {
    // smpboot's loop around cpu_stopper_thread(): the stop work queued for this CPU
    // (stop_one_cpu()), oldest first, at the highest RT prio, so nothing else runs
    // on the CPU meanwhile.
    auto& list = stop_work_.at(cpu);
    for (;;) {
        while (list.empty()) {
            if (self->should_stop)
                co_return 0;
            set_task_state(self, TASK_INTERRUPTIBLE);
            co_await schedule(cpu);
        }
        set_task_state(self, TASK_RUNNING);
        auto fn = std::move(list.front());
        list.pop_front();
        co_await fn(cpu);
    }
}

// ---- completions and mutexes

Task<void> KernelModel::sleep_on(unsigned cpu, uint32_t key, uint32_t state) {
    task_struct* self = current_[cpu];
    set_task_state(self, state);
    waitq_[key].push_back(self);
    co_await schedule(cpu);
}

bool KernelModel::wake_up_key(uint32_t key, bool all) {
    auto it = waitq_.find(key);
    if (it == waitq_.end() || it->second.empty())
        return false;
    do {
        task_struct* t = it->second.front();
        it->second.pop_front();
        wake_up_process(t);
    } while (all && !it->second.empty());
    if (it->second.empty())
        waitq_.erase(it);
    return true;
}

Task<void> KernelModel::wait_for_completion(unsigned cpu, uint32_t x) {
    task_struct* self = current_[cpu];
    while (rd32(x + COMPLETION_DONE) == 0)
        co_await sleep_on(self->cpu, x, TASK_UNINTERRUPTIBLE);
    uint32_t done = rd32(x + COMPLETION_DONE);
    if (done != 0xffffffffu) // UINT_MAX: complete_all()
        wr32(x + COMPLETION_DONE, done - 1);
}

void KernelModel::complete(uint32_t x) {
    uint32_t done = rd32(x + COMPLETION_DONE);
    if (done != 0xffffffffu)
        wr32(x + COMPLETION_DONE, done + 1);
    wake_up_key(x, false);
}

Task<int> KernelModel::mutex_lock(unsigned cpu, uint32_t lock) {
    task_struct* self = current_[cpu];
    for (;;) {
        uint32_t owner = rd32(lock + MUTEX_OWNER);
        if (owner == 0) {
            wr32(lock + MUTEX_OWNER, self->addr);
            co_return 0;
        }
        if (owner == self->addr) {
            // The kernel would deadlock here (with lockdep: a report); say so.
            log_.printk(KERN_ERR, "piemu: %s/%d takes a mutex it already holds\n",
                        self->comm.c_str(), self->pid);
            co_return -EDEADLK;
        }
        co_await sleep_on(self->cpu, lock, TASK_UNINTERRUPTIBLE);
    }
}

int KernelModel::mutex_unlock(unsigned cpu, uint32_t lock) {
    if (rd32(lock + MUTEX_OWNER) != current_[cpu]->addr)
        return -EPERM;
    wr32(lock + MUTEX_OWNER, 0);
    wake_up_key(lock, false);
    return 0;
}

} // namespace piemu::kernel
