// The kernel model's tasks and scheduler: the idle task per CPU, init, kernel and IRQ
// threads, sleeping and waking, priorities and time slices, the context switch.
//
// Runqueues are per CPU: a task is on one CPU's runqueue (task_struct::cpu) and only
// that CPU runs it. The model does no load balancing: a new task starts on the CPU
// that created it, and a task stays on its CPU unless its affinity (kthread_bind,
// set_cpus_allowed_ptr) excludes that CPU. (Linux's select_task_rq() would also move
// woken and new tasks to idle CPUs; that placement is a heuristic of CFS this model
// leaves out, so that a guest decides where its tasks run.) Waking a task on another
// CPU that should preempt what runs there sends that CPU IPI_RESCHEDULE.
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

#include <fmt/format.h>

#include "kernel/irq/internals.hpp"
#include "kernel/vector_page.hpp"

namespace piemu::kernel {

namespace {
/// A normal task's time slice in ticks before another normal task gets the CPU.
constexpr unsigned kNormalSliceTicks = 3;
/// RR_TIMESLICE: 100 ms.
constexpr unsigned kRrSliceTicks = 10;
} // namespace

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
    // A new task starts where its creator runs (wake_up_new_task without balancing).
    t->cpu = parent ? irq_.smp_processor_id() : 0;
    wr32(t->stack + TI_CPU, t->cpu);
    wr32(t->stack + TI_CPU_DOMAIN, 0x00000015); // DACR of a kernel thread (reference dump)

    std::vector<uint8_t> ts(PIEMU_KM_TASK_SLOT, 0);
    cfg_.bus->write_phys(t->addr, ts);
    wr32(t->addr + TSK_STACK, t->stack);
    wr32(t->addr + TSK_PID, uint32_t(t->pid));
    wr32(t->addr + TSK_PRIO, uint32_t(t->prio));
    cfg_.bus->write_phys(t->addr + TSK_COMM,
                         {reinterpret_cast<const uint8_t*>(comm.data()), comm.size()});
    wr32(t->addr + TSK_STATE, t->state);
    tasks_.push_back(std::move(t));
    return tasks_.back().get();
}

void KernelModel::set_task_state(task_struct* t, uint32_t state) {
    t->state = state;
    wr32(t->addr + TSK_STATE, state);
}

uint32_t KernelModel::ti_flags(task_struct* t) const {
    return rd32(t->stack + TI_FLAGS);
}

void KernelModel::set_ti_flags(task_struct* t, uint32_t flags) {
    wr32(t->stack + TI_FLAGS, flags);
}

bool KernelModel::need_resched(unsigned cpu) const {
    return ti_flags(current_.at(cpu)) & _TIF_NEED_RESCHED;
}

void KernelModel::sched_setscheduler(task_struct* t, int policy, int rt_priority) {
    t->policy = policy;
    t->rt_priority = policy == kSchedNormal ? 0 : rt_priority;
    // normal_prio(): MAX_RT_PRIO - 1 - rt_priority for RT tasks, the nice level's
    // static priority (120 at nice 0) otherwise.
    t->prio = policy == kSchedNormal ? DEFAULT_PRIO : MAX_RT_PRIO - 1 - rt_priority;
    wr32(t->addr + TSK_PRIO, uint32_t(t->prio));
}

task_struct* KernelModel::kthread_create(std::string comm, uint32_t fn, uint32_t arg,
                                         std::function<Task<uint32_t>(task_struct*)> body) {
    task_struct* t = create_task(std::move(comm), kthreadd_);
    if (!t)
        return nullptr;
    // copy_thread(): a new kernel thread starts in ret_from_fork with the function in
    // r5 and its argument in r4; a C++ thread starts at the kthread_body gate. It
    // waits in TASK_UNINTERRUPTIBLE until woken (kthread_run = create + wake).
    t->ctx.r[13] = t->stack + THREAD_START_SP;
    t->ctx.cpsr = SVC_MODE; // IRQs and FIQs on
    if (body) {
        t->body = std::move(body);
        t->ctx.r[15] = vector_page_symbol("kthread_body");
    } else {
        t->ctx.r[4] = arg;
        t->ctx.r[5] = fn;
        t->ctx.r[15] = vector_page_symbol("ret_from_fork");
    }
    set_task_state(t, TASK_UNINTERRUPTIBLE);
    if (sched_trace_)
        sched_trace_->sched_process_fork(*kthreadd_, *t);
    return t;
}

void KernelModel::kthread_bind(task_struct* t, unsigned cpu) {
    t->cpus_allowed = 1u << cpu;
    t->no_setaffinity = true;
    set_task_cpu(t, cpu);
}

void KernelModel::set_task_cpu(task_struct* t, unsigned cpu) {
    t->cpu = cpu;
    wr32(t->stack + TI_CPU, cpu);
}

unsigned KernelModel::select_task_rq(const task_struct* t) const {
    if ((t->cpus_allowed >> t->cpu) & 1 && irq_.cpu_online(t->cpu))
        return t->cpu;
    for (unsigned cpu = 0; cpu < cfg_.nr_cpus; ++cpu)
        if ((t->cpus_allowed >> cpu) & 1 && irq_.cpu_online(cpu))
            return cpu;
    return t->cpu; // no allowed CPU online (select_fallback_rq would widen the mask)
}

void KernelModel::resched_curr(unsigned cpu) {
    task_struct* cur = current_.at(cpu);
    uint32_t flags = ti_flags(cur);
    if (flags & _TIF_NEED_RESCHED)
        return;
    set_ti_flags(cur, flags | _TIF_NEED_RESCHED);
    // Another CPU notices at its next interrupt: smp_send_reschedule() makes one.
    if (cpu != irq_.smp_processor_id())
        smp_send_reschedule(cpu);
}

void KernelModel::move_queued_task(task_struct* p, unsigned dest) {
    set_task_cpu(p, dest);
    task_struct* cur = current_.at(dest);
    if (cur->is_idle || p->prio < cur->prio)
        resched_curr(dest);
}

Task<void> KernelModel::stop_one_cpu(unsigned cpu, std::function<Task<void>(unsigned)> fn) {
    // cpu_stop_queue_work(): the work on the CPU's stopper list, its thread woken (at
    // MAX_RT_PRIO - 1 it preempts anything); then wait_for_completion(&done).
    task_struct* self = current_.at(irq_.smp_processor_id());
    bool done = false;
    stop_work_.at(cpu).push_back(
        [this, fn = std::move(fn), self, &done](unsigned on) -> Task<void> {
            co_await fn(on);
            done = true;
            wake_up_process(self);
        });
    wake_up_process(migration_.at(cpu));
    while (!done) {
        set_task_state(self, TASK_UNINTERRUPTIBLE);
        self->wchan = "stop_one_cpu";
        co_await schedule(self->cpu);
    }
}

Task<int> KernelModel::set_cpus_allowed_ptr(task_struct* p, uint32_t new_mask) {
    uint32_t online = 0;
    for (unsigned cpu = 0; cpu < cfg_.nr_cpus; ++cpu)
        online |= irq_.cpu_online(cpu) ? 1u << cpu : 0;
    if (p->no_setaffinity || !(new_mask & online))
        co_return -EINVAL;
    p->cpus_allowed = new_mask; // do_set_cpus_allowed()
    if ((new_mask >> p->cpu) & 1)
        co_return 0;                                                     // it may stay where it is
    const unsigned dest = unsigned(std::countr_zero(new_mask & online)); // cpumask_any_and
    if (current_.at(p->cpu) == p) {
        // task_running(): only its CPU's stopper can take it off (migration_cpu_stop).
        co_await stop_one_cpu(p->cpu, [this, p, dest](unsigned cpu) -> Task<void> {
            if (p->cpu == cpu) {
                if (p->state == TASK_RUNNING && current_.at(cpu) != p)
                    move_queued_task(p, dest); // __migrate_task()
                else if (p->state != TASK_RUNNING)
                    set_task_cpu(p, dest); // p->wake_cpu: it wakes there
            }
            co_return;
        });
    } else if (p->state == TASK_RUNNING) {
        move_queued_task(p, dest); // task_on_rq_queued()
    }
    // A sleeping task is placed when it wakes (select_task_rq).
    co_return 0;
}

Task<int> KernelModel::kthread_stop(unsigned cpu, task_struct* t) {
    t->should_stop = true;
    wake_up_process(t);
    // The caller sleeps until the thread has exited (wait_for_completion(&kthread->exited)).
    task_struct* self = current_[cpu];
    while (!t->exit_code) {
        set_task_state(self, TASK_UNINTERRUPTIBLE);
        waiting_for_exit_[t].push_back(self);
        co_await schedule(self->cpu);
    }
    co_return *t->exit_code;
}

Task<void> KernelModel::do_exit(unsigned cpu, int code) {
    task_struct* t = current_[cpu];
    t->exit_code = code;
    if (sched_trace_)
        sched_trace_->sched_process_exit(*t);
    for (task_struct* w : waiting_for_exit_[t])
        wake_up_process(w);
    waiting_for_exit_.erase(t);
    // TASK_DEAD, and EXIT_DEAD as exit_state (kernel threads are reaped at once):
    // schedule() never picks it again (sched_switch prints "X"); its coroutine is
    // never resumed.
    set_task_state(t, TASK_DEAD | EXIT_DEAD);
    co_await schedule(cpu);
}

void KernelModel::save_context(unsigned cpu, task_struct* t) {
    ArmCore& c = *cfg_.cores.at(cpu);
    t->ctx.cpsr = c.context(t->ctx.r);
    if (t->ctx.cpsr & psr::T)
        t->ctx.r[15] |= 1;
    // thread_info->cpu_context as __switch_to stores it: r4-r9, sl, fp, sp, pc (in
    // one write: the words are consecutive).
    std::array<uint32_t, 10> save;
    std::copy(t->ctx.r.begin() + 4, t->ctx.r.begin() + 12, save.begin());
    save[8] = t->ctx.r[13];
    save[9] = t->ctx.r[15];
    cfg_.bus->write_phys(t->stack + TI_CPU_SAVE,
                         {reinterpret_cast<const uint8_t*>(save.data()), sizeof save});
}

void KernelModel::restore_context(unsigned cpu, task_struct* t) {
    ArmCore& c = *cfg_.cores.at(cpu);
    c.set_context(t->ctx.r, t->ctx.cpsr);
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
    // The runnable task of the best (lowest) prio on this CPU's runqueue; among
    // equals, round robin from the one after prev (a FIFO task that stays runnable
    // keeps the CPU: it is first in that order only when nobody of its prio follows
    // it... so it is picked explicitly). The idle task when nothing else can run.
    auto runnable = [cpu](const task_struct* t) {
        return !t->is_idle && t->state == TASK_RUNNING && t->cpu == cpu;
    };
    size_t n = tasks_.size();
    size_t at = 0;
    while (at < n && tasks_[at].get() != prev)
        ++at;
    task_struct* best = nullptr;
    for (size_t k = 1; k <= n; ++k) {
        task_struct* t = tasks_[(at + k) % n].get();
        if (runnable(t) && (!best || t->prio < best->prio))
            best = t;
    }
    if (best && runnable(prev) && prev->policy == kSchedFifo && prev->prio <= best->prio)
        return prev;
    return best ? best : idle_[cpu];
}

Task<void> KernelModel::schedule(unsigned cpu) {
    task_struct* prev = current_[cpu];
    set_ti_flags(prev, ti_flags(prev) & ~uint32_t(_TIF_NEED_RESCHED)); // clear_tsk_need_resched
    task_struct* next = pick_next_task(cpu, prev);
    bool preempt = std::exchange(preempting_, false);
    if (next == prev)
        co_return;
    if (sched_trace_)
        sched_trace_->sched_switch(preempt && prev->state == TASK_RUNNING, *prev, *next);
    co_await SwitchAwaiter{this, cpu, prev, next};
}

Task<void> KernelModel::preempt_schedule_irq(unsigned cpu) {
    // Entered from svc_preempt with IRQs off and preempt_count 0: __schedule(true)
    // while the count says "preempt active", as long as a reschedule is pending.
    // The task may come back on another CPU (moved while preempted): t->cpu.
    task_struct* t = current_[cpu];
    do {
        preempt().add(t->cpu, PREEMPT_OFFSET);
        preempting_ = true;
        co_await schedule(t->cpu);
        preempt().sub(t->cpu, PREEMPT_OFFSET);
    } while (ti_flags(t) & _TIF_NEED_RESCHED);
}

void KernelModel::wake_up_process(task_struct* t) {
    if (t->state != TASK_INTERRUPTIBLE && t->state != TASK_UNINTERRUPTIBLE)
        return;
    set_task_state(t, TASK_RUNNING);
    t->timeout.reset();
    t->woken = true;
    // try_to_wake_up(): onto the runqueue select_task_rq() picks.
    unsigned cpu = select_task_rq(t);
    if (cpu != t->cpu)
        set_task_cpu(t, cpu);
    if (sched_trace_)
        sched_trace_->sched_wakeup(*t, cpu);
    // check_preempt_curr(): a woken task of better prio (or any task, for the idle
    // task) makes the CPU's current one reschedule.
    task_struct* cur = current_.at(cpu);
    if (cur != t && (cur->is_idle || t->prio < cur->prio))
        resched_curr(cpu);
}

bool KernelModel::timer_expired(const task_struct& t) const {
    return t.timeout && *t.timeout <= ticks_;
}

Task<bool> KernelModel::wait_event_timeout(unsigned cpu, std::function<bool()> cond,
                                           uint64_t timeout, const char* wchan) {
    task_struct* t = current_[cpu];
    uint64_t expire = ticks_ + timeout;
    while (!cond()) {
        if (ticks_ >= expire)
            co_return false;
        co_await schedule_timeout(t->cpu, expire - ticks_, TASK_UNINTERRUPTIBLE, wchan);
    }
    co_return true;
}

Task<uint64_t> KernelModel::schedule_timeout(unsigned cpu, uint64_t timeout, uint32_t state,
                                             const char* wchan) {
    task_struct* t = current_[cpu];
    uint64_t expire = ticks_ + timeout;
    t->timeout = expire;
    t->timer_cpu = cpu;
    t->wchan = wchan;
    set_task_state(t, state);
    co_await schedule(cpu);
    t->timeout.reset(); // del_singleshot_timer_sync(): woken before it expired
    co_return expire > ticks_ ? expire - ticks_ : 0;
}

void KernelModel::run_local_timers(unsigned cpu) {
    // The CPU's expired timers of sleeping tasks (process_timeout).
    for (auto& t : tasks_)
        if (t->timer_cpu == cpu && timer_expired(*t))
            wake_up_process(t.get());
}

void KernelModel::scheduler_tick(unsigned cpu) {
    // Normal tasks share the CPU in time slices, SCHED_RR tasks in RR_TIMESLICE
    // (100 ms) among their own prio; SCHED_FIFO tasks never by time.
    task_struct* cur = current_[cpu];
    if (cur->is_idle || cur->policy == kSchedFifo)
        return;
    const unsigned slice = cur->policy == kSchedRr ? kRrSliceTicks : kNormalSliceTicks;
    if (!cur->slice)
        cur->slice = slice;
    if (--cur->slice)
        return;
    cur->slice = slice;
    for (auto& t : tasks_)
        if (t.get() != cur && !t->is_idle && t->state == TASK_RUNNING && t->cpu == cpu &&
            t->prio <= cur->prio) {
            resched_curr(cpu);
            return;
        }
}

Task<uint32_t> KernelModel::irq_thread(task_struct* self, irqaction* action) {
    // kernel/irq/manage.c irq_thread(): sleep until __irq_wake_thread() set
    // IRQTF_RUNTHREAD, run the thread function in process context (preempt_count 0),
    // finish a oneshot line, account, and wake synchronize_irq() waiters. The thread
    // may move between CPUs while it sleeps: its CPU is read after every sleep.
    // A thread stopped before it first ran never calls its function (kthread()
    // checks KTHREAD_SHOULD_STOP first): its request failed, and the irqaction is gone.
    if (self->should_stop)
        co_return 0;
    irq_desc* desc = irq_.irq_to_desc(action->irq);
    for (;;) {
        // irq_wait_for_interrupt(): ps shows where it sleeps again after the thread
        // function slept elsewhere (msleep, a mutex).
        self->wchan = "irq_thread";
        set_task_state(self, TASK_INTERRUPTIBLE);
        bool stop = false;
        for (;;) {
            if (self->should_stop) {
                stop = true;
                break;
            }
            if (test_and_clear_bit(IRQTF_RUNTHREAD, &action->thread_flags))
                break;
            co_await schedule(self->cpu);
            set_task_state(self, TASK_INTERRUPTIBLE);
        }
        set_task_state(self, TASK_RUNNING);
        if (stop)
            break;
        // irq_thread_check_affinity(): after irq_set_affinity() (and at the first
        // run), the thread may run where the line's interrupts go; it moves now if
        // its CPU is not among them.
        if (test_and_clear_bit(IRQTF_AFFINITY, &action->thread_flags))
            co_await set_cpus_allowed_ptr(self, irq_.irq_affinity(desc));
        irqreturn_t ret = IRQ_NONE;
        // irq_forced_thread_fn() runs a forced-threaded handler with bottom halves
        // disabled, as it would have run in hard irq context before.
        bool forced = test_bit(IRQTF_FORCED_THREAD, action->thread_flags);
        if (forced)
            preempt().add(self->cpu, SOFTIRQ_DISABLE_OFFSET);
        if (action->thread_fn.fn)
            ret = co_await action->thread_fn.fn(action->irq, action->dev_id);
        co_await irq_.irq_finalize_oneshot(desc, action);
        if (forced)
            co_await local_bh_enable(self->cpu);
        if (ret == IRQ_HANDLED)
            desc->threads_handled++;
        irq_.wake_threads_waitq(desc);
    }
    co_return 0;
}

std::string KernelModel::dump_tasks() const {
    // `ps -ely` of the reference: S UID PID PPID C PRI NI RSS SZ WCHAN TTY TIME CMD.
    std::string out = "S   UID   PID  PPID  C PRI  NI   RSS    SZ WCHAN  TTY          TIME CMD\n";
    for (const auto& t : tasks_) {
        // ps lists no pid 0; init only when a guest runs as init.
        if (t->is_idle || t->exit_code || (t.get() == init_ && !init_started_))
            continue;
        char st = t->state == TASK_RUNNING ? 'R' : t->state == TASK_INTERRUPTIBLE ? 'S' : 'D';
        // procps's PRI: 80 + nice for normal tasks, 59 - rt_priority for RT ones
        // (the reference: irq/92-mmc1, FIFO 50, shows 9; migration/N, FIFO 99, -40),
        // whose NI is "-".
        int pri = t->policy == kSchedNormal ? 80 : 59 - t->rt_priority;
        std::string ni = t->policy == kSchedNormal ? "0" : "-";
        // WCHAN: where it sleeps, cut to ps's six columns.
        std::string wchan = t->state == TASK_RUNNING ? "-" : t->wchan.substr(0, 6);
        int ppid = t->parent ? t->parent->pid : 0;
        out += fmt::format("{} {:5} {:5} {:5} {:2} {:3} {:>3} {:5} {:5} {:<6} {:<8} {:>8} {}\n", st,
                           0, t->pid, ppid, 0, pri, ni, 0, 0, wchan, "?", "00:00:00", t->comm);
    }
    return out;
}

} // namespace piemu::kernel
