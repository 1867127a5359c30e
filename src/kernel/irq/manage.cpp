// The driver API of the irq subsystem (kernel/irq/manage.c of Linux 4.14): request
// and free, enable/disable with nesting, trigger types, synchronize, the per-CPU
// variants, and the oneshot bookkeeping the IRQ threads will use.
//
// Messages from pr_*() carry manage.c's pr_fmt prefix "genirq: "; WARN() texts do
// not. Where the kernel spins or sleeps (synchronize_irq, free_irq, the oneshot
// finalisation while a hard irq handler runs on another CPU) the coroutine parks on
// the descriptor's wait queue and resumes when the handler finishes.
#include <bit>
#include <cerrno>

#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

using handler_ptr = Task<irqreturn_t> (*)(unsigned, void*);

/// The primary handler of request_threaded_irq(irq, NULL, thread_fn, ...).
Task<irqreturn_t> irq_default_primary_handler(unsigned, void*) {
    co_return IRQ_WAKE_THREAD;
}

bool is_default_primary(const irq_handler_t& h) {
    const handler_ptr* p = h.fn.target<handler_ptr>();
    return p && *p == &irq_default_primary_handler;
}

/// irq_setup_forced_threading() of "threadirqs": a handler that may be threaded
/// becomes the thread function behind irq_default_primary_handler, oneshot.
/// NOTE: a handler that already has a thread function keeps it: 4.14's secondary
/// "irq/N-s-name" action is not modelled.
void irq_setup_forced_threading(irqaction* nw) {
    if (nw->flags & (IRQF_NO_THREAD | IRQF_PERCPU | IRQF_ONESHOT))
        return;
    if (nw->thread_fn)
        return;
    nw->flags |= IRQF_ONESHOT;
    test_and_set_bit(IRQTF_FORCED_THREAD, &nw->thread_flags);
    nw->thread_fn = std::move(nw->handler);
    nw->handler = irq_handler_t("irq_default_primary_handler", &irq_default_primary_handler);
}

void bus_lock(irq_desc* desc) {
    if (desc->irq_data.chip->irq_bus_lock)
        desc->irq_data.chip->irq_bus_lock(&desc->irq_data);
}

void bus_sync_unlock(irq_desc* desc) {
    if (desc->irq_data.chip->irq_bus_sync_unlock)
        desc->irq_data.chip->irq_bus_sync_unlock(&desc->irq_data);
}

void irq_release_resources(irq_desc* desc) {
    if (desc->irq_data.chip->irq_release_resources)
        desc->irq_data.chip->irq_release_resources(&desc->irq_data);
}

} // namespace

// ---- action ownership ----------------------------------------------------------------

std::shared_ptr<irqaction> Irq::new_action() {
    actions_.push_back(std::make_shared<irqaction>());
    return actions_.back();
}

void Irq::delete_action(irqaction* action) {
    std::erase_if(actions_, [action](const auto& p) { return p.get() == action; });
}

std::shared_ptr<irqaction> Irq::keep_alive(irqaction* action) const {
    if (action == chained_action_.get())
        return chained_action_;
    for (const auto& p : actions_)
        if (p.get() == action)
            return p;
    return nullptr;
}

// ---- synchronize, disable, enable ------------------------------------------------------

Task<void> Irq::synchronize_irq(unsigned irq) {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc)
        co_return;
    // __synchronize_hardirq(), then wait_event(wait_for_threads, !threads_active).
    while (irqd_irq_inprogress(&desc->irq_data) || desc->threads_active > 0)
        co_await desc->wait_for_threads.wait(cpu_);
}

void Irq::wake_threads_waitq(irq_desc* desc) {
    if (--desc->threads_active == 0)
        wake_up(desc->wait_for_threads);
}

void Irq::__disable_irq(irq_desc* desc) {
    if (!desc->depth++)
        irq_disable(desc);
}

void Irq::disable_irq_nosync(unsigned irq) {
    if (irq_desc* desc = irq_get_desc(irq, IRQ_GET_DESC_CHECK_GLOBAL)) {
        bus_lock(desc);
        __disable_irq(desc);
        bus_sync_unlock(desc);
    }
}

Task<void> Irq::disable_irq(unsigned irq) {
    if (!irq_get_desc(irq, IRQ_GET_DESC_CHECK_GLOBAL))
        co_return;
    disable_irq_nosync(irq);
    co_await synchronize_irq(irq);
}

void Irq::__enable_irq(irq_desc* desc) {
    unsigned irq = irq_desc_get_irq(desc);
    if (desc->depth == 0 || (desc->depth == 1 && (desc->istate & IRQS_SUSPENDED))) {
        warn(true, "__enable_irq", KERN_WARNING, "Unbalanced enable for IRQ %d\n", irq);
    } else if (desc->depth == 1) {
        // Prevent probing; irq_startup() because the line may be NOAUTOEN and never
        // started (it calls irq_enable() when it was).
        irq_settings_set_noprobe(desc);
        irq_startup(desc, IRQ_RESEND, IRQ_START_COND);
    } else {
        desc->depth--;
    }
}

void Irq::enable_irq(unsigned irq) {
    irq_desc* desc = irq_get_desc(irq, IRQ_GET_DESC_CHECK_GLOBAL);
    if (!desc)
        return;
    bus_lock(desc);
    if (!warn(!desc->irq_data.chip, "enable_irq", KERN_ERR,
              "enable_irq before setup/request_irq: irq %u\n", irq))
        __enable_irq(desc);
    bus_sync_unlock(desc);
}

int Irq::can_request_irq(unsigned irq, unsigned long irqflags) const {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc || !irq_settings_can_request(desc))
        return 0;
    return !desc->action || (irqflags & desc->action->flags & IRQF_SHARED) ? 1 : 0;
}

// ---- affinity (4.14 manage.c, CONFIG_SMP without GENERIC_PENDING_IRQ) -----------------

bool Irq::__irq_can_set_affinity(const irq_desc* desc) const {
    // Per-CPU and IRQF_NOBALANCING lines, and chips that cannot route, are excluded.
    return desc &&
           !(desc->irq_data.common->state_use_accessors & (IRQD_PER_CPU | IRQD_NO_BALANCING)) &&
           desc->irq_data.chip && desc->irq_data.chip->irq_set_affinity;
}

bool Irq::irq_can_set_affinity(unsigned irq) const {
    return __irq_can_set_affinity(irq_to_desc(irq));
}

void Irq::irq_set_thread_affinity(irq_desc* desc) {
    // The threads pick the new mask up when they next run (irq_thread_check_affinity).
    for (irqaction* action = desc->action; action; action = action->next)
        if (action->thread)
            test_and_set_bit(IRQTF_AFFINITY, &action->thread_flags);
}

int Irq::irq_do_set_affinity(irq_data* data, std::uint32_t mask, bool force) {
    irq_desc* desc = irq_to_desc(data->irq);
    irq_chip* chip = data->chip;
    if (!chip || !chip->irq_set_affinity)
        return -EINVAL;
    int ret = chip->irq_set_affinity(data, mask, force);
    switch (ret) {
    case IRQ_SET_MASK_OK:
    case IRQ_SET_MASK_OK_DONE:
        desc->irq_common_data.affinity = mask;
        [[fallthrough]];
    case IRQ_SET_MASK_OK_NOCOPY:
        irq_set_thread_affinity(desc);
        ret = 0;
    }
    return ret;
}

int Irq::irq_set_affinity(unsigned irq, std::uint32_t mask) {
    // __irq_set_affinity(irq, mask, false) -> irq_set_affinity_locked(). A mask with
    // no online CPU is refused by the chips (-EINVAL), as the GIC's is.
    irq_desc* desc = irq_to_desc(irq);
    if (!desc)
        return -EINVAL;
    irq_data* data = &desc->irq_data;
    if (!data->chip || !data->chip->irq_set_affinity)
        return -EINVAL;
    int ret = irq_do_set_affinity(data, mask, false);
    irqd_set(data, IRQD_AFFINITY_SET);
    return ret;
}

int Irq::__irq_set_trigger(irq_desc* desc, unsigned long flags) {
    irq_chip* chip = desc->irq_data.chip;
    if (!chip || !chip->irq_set_type)
        return 0; // IRQF_TRIGGER_* on a chip without flow types (pr_debug only)
    bool unmask = false;
    if (chip->flags & IRQCHIP_SET_TYPE_MASKED) {
        if (!irqd_irq_masked(&desc->irq_data))
            mask_irq(desc);
        if (!irqd_irq_disabled(&desc->irq_data))
            unmask = true;
    }
    flags &= IRQ_TYPE_SENSE_MASK; // everything but the trigger mode
    int ret = chip->irq_set_type(&desc->irq_data, static_cast<unsigned>(flags));
    switch (ret) {
    case IRQ_SET_MASK_OK:
    case IRQ_SET_MASK_OK_DONE:
        irqd_clear(&desc->irq_data, IRQD_TRIGGER_MASK);
        irqd_set(&desc->irq_data, static_cast<unsigned>(flags));
        [[fallthrough]];
    case IRQ_SET_MASK_OK_NOCOPY:
        flags = irqd_get_trigger_type(&desc->irq_data);
        irq_settings_set_trigger_mask(desc, static_cast<unsigned>(flags));
        irqd_clear(&desc->irq_data, IRQD_LEVEL);
        irq_settings_clr_level(desc);
        if (flags & IRQ_TYPE_LEVEL_MASK) {
            irq_settings_set_level(desc);
            irqd_set(&desc->irq_data, IRQD_LEVEL);
        }
        ret = 0;
        break;
    default:
        // %pF of chip->irq_set_type: piemu names the chip's callback.
        log_.printk(KERN_ERR,
                    "genirq: Setting trigger mode %lu for irq %u failed (%s.irq_set_type)\n", flags,
                    irq_desc_get_irq(desc), chip->name.c_str());
    }
    if (unmask)
        unmask_irq(desc);
    return ret;
}

// ---- threads: what irq_thread() will need ------------------------------------------------

Task<void> Irq::irq_finalize_oneshot(irq_desc* desc, irqaction* action) {
    if (!(desc->istate & IRQS_ONESHOT))
        co_return;
    // The thread can finish before the hard irq handler on another CPU: unmasking
    // then would leave the line masked forever, so wait for it.
    while (irqd_irq_inprogress(&desc->irq_data))
        co_await desc->wait_for_threads.wait(cpu_);
    bus_lock(desc);
    // Woken again meanwhile: keep our threads_oneshot bit for the next run.
    if (!test_bit(IRQTF_RUNTHREAD, action->thread_flags)) {
        desc->threads_oneshot &= ~action->thread_mask;
        if (!desc->threads_oneshot && !irqd_irq_disabled(&desc->irq_data) &&
            irqd_irq_masked(&desc->irq_data))
            unmask_threaded_irq(desc);
    }
    bus_sync_unlock(desc);
}

void Irq::irq_wake_thread(unsigned irq, void* dev_id) {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc || warn_on(irq_settings_is_per_cpu_devid(desc), "irq_wake_thread"))
        return;
    for (irqaction* action = desc->action; action; action = action->next) {
        if (action->dev_id == dev_id) {
            // The kernel tests action->thread; piemu records wakes before threads exist.
            if (action->thread_fn)
                __irq_wake_thread(desc, action);
            break;
        }
    }
}

// ---- request ---------------------------------------------------------------------------

void Irq::setup_failed(irqaction* new_action) {
    if (new_action->thread && hooks_.stop_irq_thread)
        hooks_.stop_irq_thread(*new_action);
    new_action->thread = nullptr;
}

int Irq::__setup_irq(unsigned irq, irq_desc* desc, irqaction* nw) {
    if (!desc)
        return -EINVAL;
    if (desc->irq_data.chip == &no_irq_chip_)
        return -ENOSYS;
    nw->irq = irq;
    // No trigger type from the caller: use the line's default.
    if (!(nw->flags & IRQF_TRIGGER_MASK))
        nw->flags |= irqd_get_trigger_type(&desc->irq_data);

    bool nested = irq_settings_is_nested_thread(desc);
    if (nested) {
        if (!nw->thread_fn)
            return -EINVAL;
        // The primary handler of a nested thread must never be called.
        nw->handler = irq_handler_t("irq_nested_primary_handler", [this](unsigned i, void*) {
            warn(true, "irq_nested_primary_handler", KERN_WARNING,
                 "Primary handler called for nested irq %d\n", i);
            return no_action(i, nullptr);
        });
    }
    if (cfg_.force_irqthreads && !nested)
        irq_setup_forced_threading(nw);
    if (nw->thread_fn && !nested && hooks_.setup_irq_thread) {
        if (int ret = hooks_.setup_irq_thread(*nw, irq, false))
            return ret;
    }
    // MSI-like chips are oneshot safe: no unmask dance after the thread.
    if (desc->irq_data.chip->flags & IRQCHIP_ONESHOT_SAFE)
        nw->flags &= ~IRQF_ONESHOT;

    bus_lock(desc);
    int ret = 0;
    if (!desc->action && desc->irq_data.chip->irq_request_resources) {
        ret = desc->irq_data.chip->irq_request_resources(&desc->irq_data);
        if (ret) {
            log_.printk(KERN_ERR,
                        "genirq: Failed to request resources for %s (irq %d) on irqchip %s\n",
                        nw->name.c_str(), irq, desc->irq_data.chip->name.c_str());
            bus_sync_unlock(desc);
            setup_failed(nw);
            return ret;
        }
    }

    irqaction** old_ptr = &desc->action;
    irqaction* old = *old_ptr;
    std::uint32_t thread_mask = 0;
    bool shared = false;
    if (old) {
        // Share only when both agree to, with the same trigger type (level, edge,
        // polarity), the same ONESHOT, and the same per-cpuness.
        if (!((old->flags & nw->flags) & IRQF_SHARED) ||
            ((old->flags ^ nw->flags) & IRQF_TRIGGER_MASK) ||
            ((old->flags ^ nw->flags) & IRQF_ONESHOT) ||
            ((old->flags & IRQF_PERCPU) != (nw->flags & IRQF_PERCPU))) {
            if (!(nw->flags & IRQF_PROBE_SHARED))
                log_.printk(KERN_ERR, "genirq: Flags mismatch irq %d. %08lx (%s) vs. %08lx (%s)\n",
                            irq, nw->flags, nw->name.c_str(), old->flags, old->name.c_str());
            ret = -EBUSY;
            goto out_unlock;
        }
        // Add at the end; OR the existing thread_mask bits to find a free one.
        do {
            thread_mask |= old->thread_mask;
            old_ptr = &old->next;
            old = *old_ptr;
        } while (old);
        shared = true;
    }

    if (nw->flags & IRQF_ONESHOT) {
        // One bit of threads_oneshot per oneshot action: 32 sharers at most.
        if (thread_mask == ~0u) {
            ret = -EBUSY;
            goto out_unlock;
        }
        nw->thread_mask = 1u << std::countr_one(thread_mask); // ffz()
    } else if (is_default_primary(nw->handler) &&
               !(desc->irq_data.chip->flags & IRQCHIP_ONESHOT_SAFE)) {
        // handler == NULL without ONESHOT: the default primary handler only wakes
        // the thread and the line would be unmasked while the device still asserts
        // a level interrupt. Refused unconditionally, as the type is unreliable.
        log_.printk(KERN_ERR,
                    "genirq: Threaded irq requested with handler=NULL and !ONESHOT for irq %d\n",
                    irq);
        ret = -EINVAL;
        goto out_unlock;
    }

    if (!shared) {
        if (nw->flags & IRQF_TRIGGER_MASK) {
            ret = __irq_set_trigger(desc, nw->flags & IRQF_TRIGGER_MASK);
            if (ret)
                goto out_unlock;
        }
        desc->istate &= ~(IRQS_AUTODETECT | IRQS_SPURIOUS_DISABLED | IRQS_ONESHOT | IRQS_WAITING);
        irqd_clear(&desc->irq_data, IRQD_IRQ_INPROGRESS);
        if (nw->flags & IRQF_PERCPU) {
            irqd_set(&desc->irq_data, IRQD_PER_CPU);
            irq_settings_set_per_cpu(desc);
        }
        if (nw->flags & IRQF_ONESHOT)
            desc->istate |= IRQS_ONESHOT;
        if (nw->flags & IRQF_NOBALANCING) {
            irq_settings_set_no_balancing(desc);
            irqd_set(&desc->irq_data, IRQD_NO_BALANCING);
        }
        if (irq_settings_can_autoenable(desc)) {
            irq_startup(desc, IRQ_RESEND, IRQ_START_COND);
        } else {
            // Shared interrupts and no autoenable do not go together: a sharer could
            // wait for interrupts forever.
            warn_on((nw->flags & IRQF_SHARED) && warn_once("__setup_irq noautoen"), "__setup_irq");
            desc->depth = 1; // undo nested disables
        }
    } else if (nw->flags & IRQF_TRIGGER_MASK) {
        unsigned nmsk = static_cast<unsigned>(nw->flags & IRQF_TRIGGER_MASK);
        unsigned omsk = irqd_get_trigger_type(&desc->irq_data);
        if (nmsk != omsk) // hope the handler works with the current trigger mode
            log_.printk(KERN_WARNING, "genirq: irq %d uses trigger mode %u; requested %u\n", irq,
                        omsk, nmsk);
    }

    *old_ptr = nw;
    // Reset the broken-irq detection for the new handler.
    desc->irq_count = 0;
    desc->irqs_unhandled = 0;
    // Disabled by the spurious detector before: give it another chance.
    if (shared && (desc->istate & IRQS_SPURIOUS_DISABLED)) {
        desc->istate &= ~IRQS_SPURIOUS_DISABLED;
        __enable_irq(desc);
    }
    bus_sync_unlock(desc);
    // NOTE: the thread's first wake-up belongs to hooks.setup_irq_thread; the
    // /proc/irq/<n> directories are not modelled.
    return 0;

out_unlock:
    if (!desc->action)
        irq_release_resources(desc);
    bus_sync_unlock(desc);
    setup_failed(nw);
    return ret;
}

int Irq::request_threaded_irq(unsigned irq, irq_handler_t handler, irq_handler_t thread_fn,
                              unsigned long irqflags, std::string devname, void* dev_id) {
    if (irq == IRQ_NOTCONNECTED)
        return -ENOTCONN;
    // Shared interrupts need a real dev_id to be freed; IRQF_COND_SUSPEND only
    // makes sense for shared ones and not with IRQF_NO_SUSPEND.
    if (((irqflags & IRQF_SHARED) && !dev_id) ||
        (!(irqflags & IRQF_SHARED) && (irqflags & IRQF_COND_SUSPEND)) ||
        ((irqflags & IRQF_NO_SUSPEND) && (irqflags & IRQF_COND_SUSPEND)))
        return -EINVAL;
    irq_desc* desc = irq_to_desc(irq);
    if (!desc)
        return -EINVAL;
    if (!irq_settings_can_request(desc) ||
        warn_on(irq_settings_is_per_cpu_devid(desc), "request_threaded_irq"))
        return -EINVAL;
    if (!handler) {
        if (!thread_fn)
            return -EINVAL;
        handler = irq_handler_t("irq_default_primary_handler", &irq_default_primary_handler);
    }
    std::shared_ptr<irqaction> action = new_action();
    action->handler = std::move(handler);
    action->thread_fn = std::move(thread_fn);
    action->flags = irqflags;
    action->name = std::move(devname);
    action->dev_id = dev_id;
    int ret = __setup_irq(irq, desc, action.get());
    if (ret)
        delete_action(action.get());
    return ret;
}

int Irq::__request_percpu_irq(unsigned irq, irq_handler_t handler, unsigned long flags,
                              std::string devname, percpu_ptr percpu_dev_id) {
    if (!percpu_dev_id)
        return -EINVAL;
    irq_desc* desc = irq_to_desc(irq);
    if (!desc || !irq_settings_can_request(desc) || !irq_settings_is_per_cpu_devid(desc))
        return -EINVAL;
    if (flags && flags != IRQF_TIMER)
        return -EINVAL;
    std::shared_ptr<irqaction> action = new_action();
    action->handler = std::move(handler);
    action->flags = flags | IRQF_PERCPU | IRQF_NO_SUSPEND;
    action->name = std::move(devname);
    action->percpu_dev_id = percpu_dev_id;
    int ret = __setup_irq(irq, desc, action.get());
    if (ret)
        delete_action(action.get());
    return ret;
}

// ---- free ------------------------------------------------------------------------------

Task<std::optional<std::string>> Irq::free_irq(unsigned irq, void* dev_id) {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc || warn_on(irq_settings_is_per_cpu_devid(desc), "free_irq"))
        co_return std::nullopt;
    // __free_irq()
    warn(in_interrupt(preempt_count()), "__free_irq", KERN_DEFAULT,
         "Trying to free IRQ %d from IRQ context!\n", irq);
    bus_lock(desc);
    irqaction** action_ptr = &desc->action;
    irqaction* action = *action_ptr;
    while (action && action->dev_id != dev_id) {
        action_ptr = &action->next;
        action = *action_ptr;
    }
    if (!action) {
        warn(true, "__free_irq", KERN_DEFAULT, "Trying to free already-free IRQ %d\n", irq);
        bus_sync_unlock(desc);
        co_return std::nullopt;
    }
    std::shared_ptr<irqaction> hold = keep_alive(action);
    *action_ptr = action->next;
    // The last handler gone: shut the line down.
    if (!desc->action) {
        irq_settings_clr_disable_unlazy(desc);
        irq_shutdown(desc);
    }
    bus_sync_unlock(desc);
    // Make sure the handler is not running on another CPU.
    while (irqd_irq_inprogress(&desc->irq_data))
        co_await desc->wait_for_threads.wait(cpu_);
    if (action->thread && hooks_.stop_irq_thread)
        hooks_.stop_irq_thread(*action);
    if (!desc->action) { // the last action releases the resources
        bus_lock(desc);
        irq_release_resources(desc);
        bus_sync_unlock(desc);
    }
    std::string devname = action->name;
    delete_action(action);
    co_return devname;
}

void Irq::free_percpu_irq(unsigned irq, percpu_ptr dev_id) {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc || !irq_settings_is_per_cpu_devid(desc))
        return;
    bus_lock(desc);
    warn(in_interrupt(preempt_count()), "__free_percpu_irq", KERN_DEFAULT,
         "Trying to free IRQ %d from IRQ context!\n", irq);
    irqaction* action = desc->action;
    if (!action || !(action->percpu_dev_id == dev_id)) {
        warn(true, "__free_percpu_irq", KERN_DEFAULT, "Trying to free already-free IRQ %d\n", irq);
    } else if (desc->percpu_enabled && *desc->percpu_enabled) {
        warn(true, "__free_percpu_irq", KERN_DEFAULT, "percpu IRQ %d still enabled on CPU%d!\n",
             irq, std::countr_zero(*desc->percpu_enabled));
    } else {
        desc->action = nullptr;
        delete_action(action);
    }
    bus_sync_unlock(desc);
}

// ---- per-CPU enable --------------------------------------------------------------------

void Irq::enable_percpu_irq(unsigned irq, unsigned type) {
    irq_desc* desc = irq_get_desc(irq, IRQ_GET_DESC_CHECK_PERCPU);
    if (!desc)
        return;
    // No trigger type from the caller: the line's default.
    type &= IRQ_TYPE_SENSE_MASK;
    if (type == IRQ_TYPE_NONE)
        type = irqd_get_trigger_type(&desc->irq_data);
    if (type != IRQ_TYPE_NONE && __irq_set_trigger(desc, type)) {
        warn(true, "enable_percpu_irq", KERN_DEFAULT, "failed to set type for IRQ%d\n", irq);
        return;
    }
    irq_percpu_enable(desc, cpu_);
}

void Irq::disable_percpu_irq(unsigned irq) {
    if (irq_desc* desc = irq_get_desc(irq, IRQ_GET_DESC_CHECK_PERCPU))
        irq_percpu_disable(desc, cpu_);
}

bool Irq::irq_percpu_is_enabled(unsigned irq) const {
    irq_desc* desc = irq_get_desc(irq, IRQ_GET_DESC_CHECK_PERCPU);
    return desc && desc->percpu_enabled && ((*desc->percpu_enabled >> cpu_) & 1);
}

} // namespace piemu::kernel
