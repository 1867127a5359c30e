// The guest syscall ABI (include/piemu/guest_abi.h): `svc #0` with the number in r7
// reaches vector_swi, whose sys_call_table sends it to a sys_* gate, here. Each call
// is the kernel function of the same name with the kernel's argument order, flags
// and errors; guest pointers are checked (-EFAULT) and guest code addresses must lie
// in the image's executable segments (-EINVAL), so no guest value reaches the host
// unchecked.
#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "kernel/guest_format.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/guest_abi.h"
#include "piemu/loader.hpp"

namespace piemu::kernel {

namespace {
/// A guest dev_id as genirq's void* cookie. Bit 63 keeps it apart from every host
/// pointer a built-in driver passes; 0 stays NULL (IRQF_SHARED requires a dev_id).
void* guest_cookie(uint32_t dev_id) {
    static_assert(sizeof(void*) == 8, "piemu runs on 64-bit hosts");
    return dev_id ? reinterpret_cast<void*>(uintptr_t(dev_id) | (uintptr_t(1) << 63)) : nullptr;
}
constexpr size_t kMaxName = 64;     ///< longest action name copied from the guest
constexpr size_t kMaxFormat = 1024; ///< longest printk format (LOG_LINE_MAX)
/// __wait_for_common()'s might_sleep() in Linux 4.14 (kernel/sched/completion.c, with
/// the crossrelease hooks 4.15 removed), as an out-of-tree build names it.
constexpr const char* kCompletionMightSleep = "../kernel/sched/completion.c:107";
/// mutex_lock()'s might_sleep(): the file:line of the reference log.
constexpr const char* kMutexMightSleep = "../kernel/locking/mutex.c:583";
} // namespace

bool KernelModel::in_guest_text(uint32_t addr) const {
    if (!image_)
        return false;
    addr &= ~1u;
    for (auto [base, size] : image_->text)
        if (addr >= base && addr - base < size)
            return true;
    return false;
}

irq_handler_t KernelModel::guest_handler(uint32_t fn, const char* kind) {
    std::string name = fmt::format("0x{:08x}", fn & ~1u);
    if (image_)
        if (const Symbol* s = image_->symbol_at(fn & ~1u))
            name = s->name;
    return irq_handler_t(name, [this, fn, kind](unsigned irq, void* dev) -> Task<irqreturn_t> {
        uint32_t dev_id = uint32_t(reinterpret_cast<uintptr_t>(dev));
        co_return co_await call_guest(irq_.smp_processor_id(), fn, {irq, dev_id, 0, 0}, false,
                                      {kind, {"irq", "dev_id"}});
    });
}

Task<uint32_t> KernelModel::syscall(unsigned cpu, const GateArgs& a) {
    const auto& r = a.r;
    switch (a.scno) {
    case __NR_request_threaded_irq:
        co_return uint32_t(sys_request_threaded_irq(a));
    case __NR_free_irq:
        co_return co_await sys_free_irq(r[0], r[1]);
    case __NR_enable_irq:
    case __NR_disable_irq:
    case __NR_disable_irq_nosync:
        // void in the kernel; the syscall tells a guest about a line with no descriptor.
        if (!irq_.irq_to_desc(r[0]))
            co_return uint32_t(-EINVAL);
        if (a.scno == __NR_enable_irq)
            irq_.enable_irq(r[0]);
        else if (a.scno == __NR_disable_irq)
            co_await irq_.disable_irq(r[0]);
        else
            irq_.disable_irq_nosync(r[0]);
        co_return 0;
    case __NR_irq_set_irq_type:
        co_return uint32_t(irq_.irq_set_irq_type(r[0], r[1]));
    case __NR_printk:
        co_return uint32_t(sys_printk(a));
    case __NR_piemu_irq_desc:
        co_return uint32_t(sys_piemu_irq_desc(r[0], r[1]));
    case __NR_msleep:
        co_return co_await sys_msleep(cpu, r[0]);
    case __NR_schedule:
        if (check_sleep(cpu, nullptr))
            co_await schedule(cpu);
        co_return 0;
    case __NR_kthread_create:
        co_return uint32_t(sys_kthread_create(r[0], r[1], r[2]));
    case __NR_wake_up_process: {
        task_struct* t = task_at(r[0]);
        if (!t)
            co_return uint32_t(-EINVAL);
        bool sleeping = t->state == TASK_INTERRUPTIBLE || t->state == TASK_UNINTERRUPTIBLE;
        wake_up_process(t);
        co_return sleeping ? 1 : 0;
    }
    case __NR_kthread_stop: {
        // A thread that already exited still has its task_struct (the caller's
        // reference): kthread_stop() returns its result.
        task_struct* t = task_at(r[0], true);
        if (!t || t == current_[cpu] || !t->parent || t->parent != kthreadd_)
            co_return uint32_t(-EINVAL);
        // wait_for_completion(&kthread->exited): might_sleep() first.
        if (!check_sleep(cpu, kCompletionMightSleep, !t->exit_code) && !t->exit_code)
            co_return uint32_t(-EINVAL);
        co_return uint32_t(co_await kthread_stop(cpu, t));
    }
    case __NR_kthread_should_stop:
        co_return current_[cpu]->should_stop ? 1 : 0;
    case __NR_schedule_timeout: {
        if (!check_sleep(cpu, nullptr))
            co_return r[0];
        co_return uint32_t(
            co_await schedule_timeout(cpu, r[0], TASK_INTERRUPTIBLE, "schedule_timeout"));
    }
    case __NR_wait_for_completion: {
        if (!writable(r[0], 4))
            co_return uint32_t(-EFAULT);
        // Done already: taken without sleeping, even where sleeping is a bug.
        bool done = rd32(r[0] + COMPLETION_DONE) != 0;
        if (check_sleep(cpu, kCompletionMightSleep, !done) || done)
            co_await wait_for_completion(cpu, r[0]);
        co_return 0;
    }
    case __NR_complete:
        if (!writable(r[0], 4))
            co_return uint32_t(-EFAULT);
        complete(r[0]);
        co_return 0;
    case __NR_mutex_lock: {
        if (!writable(r[0], 4))
            co_return uint32_t(-EFAULT);
        const uint32_t owner = rd32(r[0] + MUTEX_OWNER);
        if (!check_sleep(cpu, kMutexMightSleep, owner != 0)) {
            // Reported; the fast path still takes a free mutex. A held one would
            // sleep: the caller does not, and gets -EDEADLK.
            if (owner != 0)
                co_return uint32_t(-EDEADLK);
            wr32(r[0] + MUTEX_OWNER, current_[cpu]->addr);
            co_return 0;
        }
        // The fast path (a free mutex) leaves interrupts as they are; only the slow
        // path's schedule() turns them on (not reached for a mutex of its own: -EDEADLK).
        if (owner == 0 || owner == current_[cpu]->addr)
            current_[cpu]->irqs_on_at_return = false;
        co_return uint32_t(co_await mutex_lock(cpu, r[0]));
    }
    case __NR_mutex_unlock:
        if (!writable(r[0], 4))
            co_return uint32_t(-EFAULT);
        co_return uint32_t(mutex_unlock(cpu, r[0]));
    case __NR_open_softirq:
        if (r[0] >= NR_SOFTIRQS || !in_guest_text(r[1]))
            co_return uint32_t(-EINVAL);
        open_softirq(r[0], [this, fn = r[1]](unsigned c) -> Task<void> {
            co_await call_guest(c, fn, {0, 0, 0, 0}, true, {"softirq action", {}});
        });
        co_return 0;
    case __NR_raise_softirq:
        if (r[0] >= NR_SOFTIRQS)
            co_return uint32_t(-EINVAL);
        raise_softirq(cpu, r[0]);
        co_return 0;
    case __NR_local_bh_disable:
        preempt().add(cpu, SOFTIRQ_DISABLE_OFFSET);
        co_return 0;
    case __NR_local_bh_enable:
        if (softirq_count(preempt().get(cpu)) < SOFTIRQ_DISABLE_OFFSET)
            co_return uint32_t(-EINVAL); // unbalanced: the kernel would WARN
        co_await local_bh_enable(cpu);
        co_return 0;
    case __NR_tasklet_schedule:
    case __NR_tasklet_hi_schedule:
        if (!writable(r[0], 20) || !in_guest_text(rd32(r[0] + TASKLET_FUNC)))
            co_return uint32_t(-EINVAL);
        tasklet_schedule(cpu, r[0], a.scno == __NR_tasklet_hi_schedule);
        co_return 0;
    case __NR_tasklet_kill:
        if (!writable(r[0], 20))
            co_return uint32_t(-EFAULT);
        for (auto* vec : {&tasklet_vec_.at(cpu), &tasklet_hi_vec_.at(cpu)})
            std::erase(*vec, r[0]);
        wr32(r[0] + TASKLET_STATE, 0);
        co_return 0;
    case __NR_schedule_work:
        if (!writable(r[0], 16) || !in_guest_text(rd32(r[0] + WORK_FUNC)))
            co_return uint32_t(-EINVAL);
        co_return queue_work(r[0]) ? 1 : 0;
    case __NR_flush_work: {
        if (!writable(r[0], 16))
            co_return uint32_t(-EFAULT);
        bool busy = work_busy(r[0]);
        // start_flush_work() calls might_sleep() first, busy or not; its line in
        // 4.14.39's workqueue.c is not known here, so that report is not made.
        if (check_sleep(cpu, nullptr, busy) && busy)
            co_await flush_work(cpu, r[0]);
        co_return busy ? 1 : 0;
    }
    case __NR_preempt_schedule:
        // preempt_enable() dropped the count to 0 with a reschedule pending.
        if (preempt().get(cpu) == 0 && !(a.cpsr & psr::I) &&
            (ti_flags(current_[cpu]) & _TIF_NEED_RESCHED)) {
            preempting_ = true;
            co_await schedule(cpu);
        }
        co_return 0;
    case __NR_piemu_sched_setscheduler: {
        task_struct* t = task_at(r[0]);
        bool rt = r[1] == kSchedFifo || r[1] == kSchedRr;
        if (!t || (r[1] != kSchedNormal && !rt) || (rt && (r[2] < 1 || r[2] > 99)) ||
            (!rt && r[2] != 0))
            co_return uint32_t(-EINVAL);
        sched_setscheduler(t, int(r[1]), int(r[2]));
        co_return 0;
    }
    case __NR_piemu_firmware_property:
        if (!writable(r[1], r[2]))
            co_return uint32_t(-EFAULT);
        // rpi_firmware_transaction() takes its mutex first, then waits for the reply.
        if (!check_sleep(cpu, kMutexMightSleep))
            co_return uint32_t(-EINVAL);
        co_return uint32_t(co_await rpi_firmware_property(cpu, r[0], r[1], r[2]));
    case __NR_piemu_mmc_read:
        if (!check_sleep(cpu, nullptr))
            co_return uint32_t(-EINVAL);
        co_return uint32_t(co_await mmc_read(cpu, r[0], r[1], r[2], r[3]));
    case __NR_dump_stack:
        dump_stack(cpu);
        co_return 0;
    case __NR_kthread_bind: {
        // Only a thread that was never woken (kthread_bind() WARNs otherwise: it must
        // be inactive) created by kthreadd, onto a CPU that exists.
        task_struct* t = task_at(r[0]);
        if (!t || t->parent != kthreadd_ || t->woken || r[1] >= cfg_.nr_cpus)
            co_return uint32_t(-EINVAL);
        kthread_bind(t, r[1]);
        co_return 0;
    }
    case __NR_smp_call_function_single:
        if (!in_guest_text(r[1]))
            co_return uint32_t(-EINVAL);
        co_return uint32_t(co_await smp_call_function_single(r[0], r[1], r[2], r[3] != 0));
    case __NR_set_cpus_allowed_ptr: {
        task_struct* t = task_at(r[0]);
        if (!t)
            co_return uint32_t(-EINVAL);
        co_return uint32_t(co_await set_cpus_allowed_ptr(t, r[1]));
    }
    case __NR_irq_set_affinity:
        co_return uint32_t(irq_.irq_set_affinity(r[0], r[1]));
    case __NR_kernel_power_off:
        // kernel_power_off(): system_state = SYSTEM_POWER_OFF, "Power down", then
        // machine_power_off() stops the other CPUs (smp_send_stop) and the power.
        system_running_ = false;
        log_.printk(KERN_EMERG, "reboot: Power down\n");
        stop({KernelStop::Kind::PowerOff, int(r[0] & 0xff), "guest powered off"});
        co_return 0;
    default:
        co_return uint32_t(-ENOSYS); // sys_ni_syscall
    }
}

int32_t KernelModel::sys_request_threaded_irq(const GateArgs& a) {
    uint32_t irq = a.r[0], handler = a.r[1], thread_fn = a.r[2], flags = a.r[3];
    uint32_t name_ptr = a.r[4], dev_id = a.r[5];
    auto name = read_string(name_ptr, kMaxName);
    if (!name_ptr || !name)
        return -EFAULT;
    // A NULL handler means irq_default_primary_handler, which needs a thread_fn.
    if (!handler && !thread_fn)
        return -EINVAL;
    if ((handler && !in_guest_text(handler)) || (thread_fn && !in_guest_text(thread_fn)))
        return -EINVAL;
    irq_handler_t h = handler ? guest_handler(handler) : irq_handler_t(nullptr);
    irq_handler_t th = thread_fn ? guest_handler(thread_fn, "thread_fn") : irq_handler_t(nullptr);
    int ret = irq_.request_threaded_irq(irq, std::move(h), std::move(th), flags, *name,
                                        guest_cookie(dev_id));
    if (ret == 0)
        guest_actions_.push_back({irq, handler, thread_fn, dev_id, name_ptr});
    return ret;
}

Task<uint32_t> KernelModel::sys_free_irq(unsigned irq, uint32_t dev_id) {
    auto devname = co_await irq_.free_irq(irq, guest_cookie(dev_id));
    if (!devname)
        co_return 0; // genirq warned "Trying to free already-free IRQ"
    // free_irq() returns the devname pointer the driver passed.
    for (auto it = guest_actions_.begin(); it != guest_actions_.end(); ++it) {
        if (it->irq == irq && it->dev_id == dev_id) {
            uint32_t name = it->name;
            guest_actions_.erase(it);
            co_return name;
        }
    }
    co_return 0;
}

task_struct* KernelModel::task_at(uint32_t addr, bool include_exited) const {
    for (const auto& t : tasks_)
        if (t->addr == addr && (include_exited || !t->exit_code))
            return t.get();
    return nullptr;
}

int32_t KernelModel::sys_kthread_create(uint32_t fn, uint32_t data, uint32_t name_ptr) {
    auto name = read_string(name_ptr, kMaxName);
    if (!name_ptr || !name)
        return -EFAULT;
    if (!in_guest_text(fn))
        return -EINVAL;
    task_struct* t = kthread_create(*name, fn, data, nullptr);
    if (!t)
        return -ENOMEM;
    return int32_t(t->addr);
}

int32_t KernelModel::sys_printk(const GateArgs& a) {
    auto fmt = read_string(a.r[0], kMaxFormat);
    if (!a.r[0] || !fmt)
        return -EFAULT;
    // The KERN_<LEVEL> prefix: KERN_SOH and a digit, 'c' (KERN_CONT) or 'd'.
    KernLevel level = KERN_DEFAULT;
    std::string_view f = *fmt;
    if (f.size() >= 2 && f[0] == '\001') {
        if (f[1] >= '0' && f[1] <= '7')
            level = KernLevel(f[1] - '0');
        else if (f[1] == 'c')
            level = KERN_CONT;
        f.remove_prefix(2);
    }
    GuestFormatEnv env;
    env.read_string = [this](uint32_t addr, size_t max) { return read_string(addr, max); };
    env.symbolize = [this](uint32_t addr) { return symbolize(addr); };
    // r1-r3, then the words the caller stacked (r4 points at them): as many as the
    // format can use, each read only if it is in guest memory.
    std::vector<uint32_t> args = {a.r[1], a.r[2], a.r[3]};
    for (uint32_t i = 0; i < kPrintkArgWords - 3 && writable(a.r[4] + 4 * i, 4); ++i)
        args.push_back(rd32(a.r[4] + 4 * i));
    std::string text = format_guest_printk(f, args, env);
    log_.log(level, text);
    return int32_t(text.size());
}

int32_t KernelModel::sys_piemu_irq_desc(unsigned irq, uint32_t info) {
    irq_desc* desc = irq_.irq_to_desc(irq);
    if (!desc)
        return -EINVAL;
    if (!writable(info, PIEMU_IRQ_DESC_SIZE))
        return -EFAULT;
    std::vector<uint8_t> buf(PIEMU_IRQ_DESC_SIZE, 0);
    auto put32 = [&](unsigned off, uint32_t v) {
        for (unsigned i = 0; i < 4; ++i)
            buf[off + i] = uint8_t(v >> (8 * i));
    };
    auto put_str = [&](unsigned off, unsigned len, const std::string& s) {
        for (unsigned i = 0; i + 1 < len && i < s.size(); ++i)
            buf[off + i] = uint8_t(s[i]);
    };
    put32(PIEMU_IRQ_DESC_IRQ, desc->irq_data.irq);
    put32(PIEMU_IRQ_DESC_HWIRQ, desc->irq_data.hwirq);
    put32(PIEMU_IRQ_DESC_DEPTH, desc->depth);
    put32(PIEMU_IRQ_DESC_COUNT, irq_.kstat_irqs(irq));
    unsigned n = 0;
    for (irqaction* act = desc->action; act; act = act->next)
        ++n;
    put32(PIEMU_IRQ_DESC_NR_ACTIONS, n);
    if (irq_chip* chip = desc->irq_data.chip)
        put_str(PIEMU_IRQ_DESC_CHIP, 16, chip->name);
    put_str(PIEMU_IRQ_DESC_FLOW, 24, desc->handle_irq.name);
    if (irqaction* act = desc->action) {
        put_str(PIEMU_IRQ_DESC_NAME, 32, act->name);
        put_str(PIEMU_IRQ_DESC_HANDLER_SYM, 40, act->handler.name);
        for (const auto& g : guest_actions_) {
            if (g.irq == irq && guest_cookie(g.dev_id) == act->dev_id) {
                put32(PIEMU_IRQ_DESC_HANDLER, g.handler);
                put32(PIEMU_IRQ_DESC_DEV_ID, g.dev_id);
                put32(PIEMU_IRQ_DESC_THREAD_FN, g.thread_fn);
            }
        }
    }
    cfg_.bus->write_phys(info, buf);
    return 0;
}

Task<uint32_t> KernelModel::sys_msleep(unsigned cpu, uint32_t msecs) {
    if (!check_sleep(cpu, nullptr))
        co_return 0; // the kernel reports and, here, does not sleep
    // msleep(): msecs_to_jiffies(msecs) + 1 ticks, uninterruptible.
    uint64_t timeout = (uint64_t(msecs) * cfg_.hz + 999) / 1000 + 1;
    co_await schedule_timeout(cpu, timeout, TASK_UNINTERRUPTIBLE, "msleep");
    co_return 0;
}

} // namespace piemu::kernel
