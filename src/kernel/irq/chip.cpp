// Chip-level interrupt handling (kernel/irq/chip.c, resend.c and the chained_irq
// helpers of Linux 4.14): chip and type setup, startup/shutdown, enable/disable, the
// mask helpers and the flow handlers.
//
// Where the kernel calls a chip callback without a null check (irq_ack in
// handle_edge_irq, irq_eoi in handle_fasteoi_irq, irq_unmask in irq_percpu_enable),
// a missing callback would oops the kernel; piemu skips the call instead, since
// device models must never crash the emulator.
#include <cerrno>

#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

void call(const std::function<void(irq_data*)>& cb, irq_data* d) {
    if (cb)
        cb(d);
}

} // namespace

// ---- setup ---------------------------------------------------------------------

int Irq::irq_set_chip(unsigned irq, irq_chip* chip) {
    irq_desc* desc = irq_get_desc(irq, 0);
    if (!desc)
        return -EINVAL;
    desc->irq_data.chip = chip ? chip : &no_irq_chip_;
    // NOTE: irq_mark_irq() is for !SPARSE_IRQ only.
    return 0;
}

int Irq::irq_set_irq_type(unsigned irq, unsigned type) {
    irq_desc* desc = irq_get_desc(irq, IRQ_GET_DESC_CHECK_GLOBAL);
    if (!desc)
        return -EINVAL;
    return __irq_set_trigger(desc, type);
}

int Irq::irq_set_handler_data(unsigned irq, void* data) {
    irq_desc* desc = irq_get_desc(irq, 0);
    if (!desc)
        return -EINVAL;
    desc->irq_common_data.handler_data = data;
    return 0;
}

int Irq::irq_set_chip_data(unsigned irq, void* data) {
    irq_desc* desc = irq_get_desc(irq, 0);
    if (!desc)
        return -EINVAL;
    desc->irq_data.chip_data = data;
    return 0;
}

irq_data* Irq::irq_get_irq_data(unsigned irq) const {
    irq_desc* desc = irq_to_desc(irq);
    return desc ? &desc->irq_data : nullptr;
}

unsigned Irq::irq_get_trigger_type(unsigned irq) const {
    irq_data* d = irq_get_irq_data(irq);
    return d ? irqd_get_trigger_type(d) : 0;
}

// ---- startup, shutdown, enable, disable ---------------------------------------------

int Irq::irq_startup(irq_desc* desc, bool resend, bool force) {
    (void)force; // only managed affinity uses it (not modelled)
    irq_data* d = &desc->irq_data;
    int ret = 0;
    desc->depth = 0;
    if (irqd_is_started(d)) {
        irq_enable(desc);
    } else {
        // __irq_startup(). NOTE: irq_domain_activate_irq() is a no-op without
        // hierarchical domains; irq_setup_affinity() is not modelled.
        if (d->chip->irq_startup) {
            ret = static_cast<int>(d->chip->irq_startup(d));
            irq_state_clr_disabled(desc);
            irq_state_clr_masked(desc);
        } else {
            irq_enable(desc);
        }
        irqd_set(d, IRQD_IRQ_STARTED);
    }
    if (resend)
        check_irq_resend(desc);
    return ret;
}

void Irq::irq_shutdown(irq_desc* desc) {
    if (!irqd_is_started(&desc->irq_data))
        return;
    desc->depth = 1;
    if (desc->irq_data.chip->irq_shutdown) {
        desc->irq_data.chip->irq_shutdown(&desc->irq_data);
        irq_state_set_disabled(desc);
        irq_state_set_masked(desc);
    } else {
        __irq_disable(desc, true);
    }
    irqd_clear(&desc->irq_data, IRQD_IRQ_STARTED);
}

void Irq::irq_enable(irq_desc* desc) {
    if (!irqd_irq_disabled(&desc->irq_data)) {
        unmask_irq(desc);
        return;
    }
    irq_state_clr_disabled(desc);
    if (desc->irq_data.chip->irq_enable) {
        desc->irq_data.chip->irq_enable(&desc->irq_data);
        irq_state_clr_masked(desc);
    } else {
        unmask_irq(desc);
    }
}

void Irq::__irq_disable(irq_desc* desc, bool mask) {
    if (irqd_irq_disabled(&desc->irq_data)) {
        if (mask)
            mask_irq(desc);
        return;
    }
    irq_state_set_disabled(desc);
    if (desc->irq_data.chip->irq_disable) {
        desc->irq_data.chip->irq_disable(&desc->irq_data);
        irq_state_set_masked(desc);
    } else if (mask) {
        mask_irq(desc);
    }
}

/// Lazy disable: without a chip irq_disable callback the line stays unmasked until
/// the next interrupt, which the flow handler then masks and marks pending.
void Irq::irq_disable(irq_desc* desc) {
    __irq_disable(desc, irq_settings_disable_unlazy(desc));
}

void Irq::irq_percpu_enable(irq_desc* desc, unsigned cpu) {
    if (desc->irq_data.chip->irq_enable)
        desc->irq_data.chip->irq_enable(&desc->irq_data);
    else
        call(desc->irq_data.chip->irq_unmask, &desc->irq_data);
    if (desc->percpu_enabled)
        *desc->percpu_enabled |= 1u << cpu;
}

void Irq::irq_percpu_disable(irq_desc* desc, unsigned cpu) {
    if (desc->irq_data.chip->irq_disable)
        desc->irq_data.chip->irq_disable(&desc->irq_data);
    else
        call(desc->irq_data.chip->irq_mask, &desc->irq_data);
    if (desc->percpu_enabled)
        *desc->percpu_enabled &= ~(1u << cpu);
}

void Irq::mask_ack_irq(irq_desc* desc) {
    if (desc->irq_data.chip->irq_mask_ack) {
        desc->irq_data.chip->irq_mask_ack(&desc->irq_data);
        irq_state_set_masked(desc);
    } else {
        mask_irq(desc);
        call(desc->irq_data.chip->irq_ack, &desc->irq_data);
    }
}

void Irq::mask_irq(irq_desc* desc) {
    if (irqd_irq_masked(&desc->irq_data))
        return;
    if (desc->irq_data.chip->irq_mask) {
        desc->irq_data.chip->irq_mask(&desc->irq_data);
        irq_state_set_masked(desc);
    }
}

void Irq::unmask_irq(irq_desc* desc) {
    if (!irqd_irq_masked(&desc->irq_data))
        return;
    if (desc->irq_data.chip->irq_unmask) {
        desc->irq_data.chip->irq_unmask(&desc->irq_data);
        irq_state_clr_masked(desc);
    }
}

void Irq::unmask_threaded_irq(irq_desc* desc) {
    irq_chip* chip = desc->irq_data.chip;
    if (chip->flags & IRQCHIP_EOI_THREADED)
        call(chip->irq_eoi, &desc->irq_data);
    unmask_irq(desc);
}

/// resend.c: a pending edge interrupt is replayed when the line is enabled again;
/// level interrupts are resent by the hardware while still active.
void Irq::check_irq_resend(irq_desc* desc) {
    if (irq_settings_is_level(desc)) {
        desc->istate &= ~IRQS_PENDING;
        return;
    }
    if (desc->istate & IRQS_REPLAY)
        return;
    if (!(desc->istate & IRQS_PENDING))
        return;
    desc->istate &= ~IRQS_PENDING;
    desc->istate |= IRQS_REPLAY;
    irq_chip* chip = desc->irq_data.chip;
    if (!chip->irq_retrigger || !chip->irq_retrigger(&desc->irq_data)) {
        // CONFIG_HARDIRQS_SW_RESEND (ARM): the resend tasklet.
        if (hooks_.sw_resend)
            hooks_.sw_resend(*desc);
    }
}

// ---- flow handler helpers -------------------------------------------------------------

bool Irq::irq_may_run(irq_desc* desc) const {
    // Not in progress and not an armed wakeup source: proceed.
    if (!irqd_has_set(&desc->irq_data, IRQD_IRQ_INPROGRESS | IRQD_WAKEUP_ARMED))
        return true;
    // NOTE: irq_pm_check_wakeup() is false without PM_SLEEP, and irq_check_poll() is
    // false because the irqpoll poller (IRQS_POLL_INPROGRESS) is not modelled.
    return false;
}

/// Unmask a level (or oneshot fasteoi) line after the handlers, unless disabled
/// meanwhile or a oneshot thread still holds it masked.
void Irq::cond_unmask_irq(irq_desc* desc) {
    if (!irqd_irq_disabled(&desc->irq_data) && irqd_irq_masked(&desc->irq_data) &&
        !desc->threads_oneshot)
        unmask_irq(desc);
}

void Irq::cond_unmask_eoi_irq(irq_desc* desc, irq_chip* chip) {
    if (!(desc->istate & IRQS_ONESHOT)) {
        call(chip->irq_eoi, &desc->irq_data);
        return;
    }
    // Unmask a oneshot line whose handler did not wake a thread (spurious, or the
    // primary handler did all the work).
    if (!irqd_irq_disabled(&desc->irq_data) && irqd_irq_masked(&desc->irq_data) &&
        !desc->threads_oneshot) {
        call(chip->irq_eoi, &desc->irq_data);
        unmask_irq(desc);
    } else if (!(chip->flags & IRQCHIP_EOI_THREADED)) {
        call(chip->irq_eoi, &desc->irq_data);
    }
}

// ---- flow handlers ---------------------------------------------------------------------

/// Simple and software-decoded IRQs: no chip calls at all (the caller acks/masks).
Task<void> Irq::handle_simple_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_simple_irq");
    if (!irq_may_run(desc))
        co_return;
    desc->istate &= ~(IRQS_REPLAY | IRQS_WAITING);
    if (!desc->action || irqd_irq_disabled(&desc->irq_data)) {
        desc->istate |= IRQS_PENDING;
        co_return;
    }
    kstat_incr_irqs_this_cpu(desc);
    co_await handle_irq_event(desc);
}

/// Level type: mask and ack first, run the handlers, unmask when the device is quiet.
Task<void> Irq::handle_level_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_level_irq");
    mask_ack_irq(desc);
    if (!irq_may_run(desc))
        co_return;
    desc->istate &= ~(IRQS_REPLAY | IRQS_WAITING);
    // Disabled or no action: keep it masked and get out of here.
    if (!desc->action || irqd_irq_disabled(&desc->irq_data)) {
        desc->istate |= IRQS_PENDING;
        co_return;
    }
    kstat_incr_irqs_this_cpu(desc);
    co_await handle_irq_event(desc);
    cond_unmask_irq(desc);
}

/// Transparent controllers: one irq_eoi() after the handlers (masked meanwhile for
/// oneshot lines).
Task<void> Irq::handle_fasteoi_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_fasteoi_irq");
    irq_chip* chip = desc->irq_data.chip;
    bool handled = false;
    if (irq_may_run(desc)) {
        desc->istate &= ~(IRQS_REPLAY | IRQS_WAITING);
        if (!desc->action || irqd_irq_disabled(&desc->irq_data)) {
            desc->istate |= IRQS_PENDING;
            mask_irq(desc);
        } else {
            kstat_incr_irqs_this_cpu(desc);
            if (desc->istate & IRQS_ONESHOT)
                mask_irq(desc);
            // NOTE: preflow_handler() (CONFIG_IRQ_PREFLOW_FASTEOI) is not modelled.
            co_await handle_irq_event(desc);
            cond_unmask_eoi_irq(desc, chip);
            handled = true;
        }
    }
    if (!handled && !(chip->flags & IRQCHIP_EOI_IF_HANDLED))
        call(chip->irq_eoi, &desc->irq_data);
}

/// Edge type: ack first; an edge that arrives while the handler runs (or while the
/// line is disabled) is marked pending, and the loop replays it.
Task<void> Irq::handle_edge_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_edge_irq");
    desc->istate &= ~(IRQS_REPLAY | IRQS_WAITING);
    if (!irq_may_run(desc) || irqd_irq_disabled(&desc->irq_data) || !desc->action) {
        desc->istate |= IRQS_PENDING;
        mask_ack_irq(desc);
        co_return;
    }
    kstat_incr_irqs_this_cpu(desc);
    call(desc->irq_data.chip->irq_ack, &desc->irq_data);
    do {
        if (!desc->action) {
            mask_irq(desc);
            co_return;
        }
        // Another edge came while we were handling one and masked the line:
        // re-enable it, unless it was disabled meanwhile.
        if ((desc->istate & IRQS_PENDING) && !irqd_irq_disabled(&desc->irq_data) &&
            irqd_irq_masked(&desc->irq_data))
            unmask_irq(desc);
        co_await handle_irq_event(desc);
    } while ((desc->istate & IRQS_PENDING) && !irqd_irq_disabled(&desc->irq_data));
}

/// Per-CPU interrupts without locking: ack, every action, eoi.
Task<void> Irq::handle_percpu_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_percpu_irq");
    irq_chip* chip = irq_desc_get_chip(desc);
    kstat_incr_irqs_this_cpu(desc);
    call(chip->irq_ack, &desc->irq_data);
    co_await handle_irq_event_percpu(desc);
    call(chip->irq_eoi, &desc->irq_data);
}

/// Per-CPU interrupts whose one action gets this CPU's instance of percpu_dev_id.
Task<void> Irq::handle_percpu_devid_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_percpu_devid_irq");
    irq_chip* chip = irq_desc_get_chip(desc);
    unsigned irq = irq_desc_get_irq(desc);
    const unsigned cpu = cpu_;
    kstat_incr_irqs_this_cpu(desc);
    call(chip->irq_ack, &desc->irq_data);
    if (irqaction* action = desc->action) {
        std::shared_ptr<irqaction> hold = keep_alive(action); // free_percpu_irq meanwhile
        if (trace_)
            trace_->irq_handler_entry(irq, *action);
        irqreturn_t res = IRQ_NONE;
        {
            auto hframe = trace_frame(action->handler.name);
            res = co_await action->handler.fn(irq, action->percpu_dev_id.on(cpu));
        }
        if (trace_)
            trace_->irq_handler_exit(irq, *action, res);
    } else {
        bool enabled = desc->percpu_enabled && ((*desc->percpu_enabled >> cpu) & 1);
        if (enabled)
            irq_percpu_disable(desc, cpu);
        if (warn_once("handle_percpu_devid_irq"))
            log_.printk(KERN_ERR, "Spurious%s percpu IRQ%u on CPU%u\n",
                        enabled ? " and unmasked" : "", irq, cpu);
    }
    call(chip->irq_eoi, &desc->irq_data);
}

// ---- installing flow handlers ----------------------------------------------------------

void Irq::__irq_do_set_handler(irq_desc* desc, irq_flow_handler_t handle, bool is_chained,
                               std::string name) {
    if (!handle) {
        handle = &Irq::handle_bad_irq;
    } else if (warn_on(desc->irq_data.chip == &no_irq_chip_, "__irq_do_set_handler")) {
        return;
    }
    bool bad = handle == &Irq::handle_bad_irq;
    if (bad) { // uninstall
        if (desc->irq_data.chip != &no_irq_chip_)
            mask_ack_irq(desc);
        irq_state_set_disabled(desc);
        if (is_chained)
            desc->action = nullptr;
        desc->depth = 1;
    }
    desc->handle_irq = handle;
    desc->name = std::move(name);
    if (!bad && is_chained) {
        // Start it now; a set_type callback may have replaced the flow handler.
        if (unsigned type = irqd_get_trigger_type(&desc->irq_data); type != IRQ_TYPE_NONE) {
            __irq_set_trigger(desc, type);
            desc->handle_irq = std::move(handle);
        }
        irq_settings_set_noprobe(desc);
        irq_settings_set_norequest(desc);
        irq_settings_set_nothread(desc);
        desc->action = chained_action_.get();
        irq_startup(desc, IRQ_RESEND, IRQ_START_FORCE);
    }
}

void Irq::__irq_set_handler(unsigned irq, irq_flow_handler_t handle, bool is_chained,
                            std::string name) {
    if (irq_desc* desc = irq_get_desc(irq, 0))
        __irq_do_set_handler(desc, std::move(handle), is_chained, std::move(name));
}

void Irq::irq_set_chained_handler_and_data(unsigned irq, irq_flow_handler_t handle, void* data) {
    irq_desc* desc = irq_get_desc(irq, 0);
    if (!desc)
        return;
    desc->irq_common_data.handler_data = data;
    __irq_do_set_handler(desc, std::move(handle), true, {});
}

void Irq::irq_set_chip_and_handler_name(unsigned irq, irq_chip* chip, irq_flow_handler_t handle,
                                        std::string name) {
    irq_set_chip(irq, chip);
    __irq_set_handler(irq, std::move(handle), false, std::move(name));
}

const char* Irq::flow_handler_name(flow_fn f) {
    static const std::pair<flow_fn, const char*> names[] = {
        {&Irq::handle_simple_irq, "handle_simple_irq"},
        {&Irq::handle_level_irq, "handle_level_irq"},
        {&Irq::handle_fasteoi_irq, "handle_fasteoi_irq"},
        {&Irq::handle_edge_irq, "handle_edge_irq"},
        {&Irq::handle_percpu_irq, "handle_percpu_irq"},
        {&Irq::handle_percpu_devid_irq, "handle_percpu_devid_irq"},
        {&Irq::handle_bad_irq, "handle_bad_irq"},
    };
    for (const auto& [fn, name] : names)
        if (fn == f)
            return name;
    return "?";
}

// ---- linux/irqchip/chained_irq.h --------------------------------------------------------

void chained_irq_enter(irq_chip* chip, irq_desc* desc) {
    if (chip->irq_eoi) // fastEOI controllers need nothing on entry
        return;
    if (chip->irq_mask_ack) {
        chip->irq_mask_ack(&desc->irq_data);
    } else {
        call(chip->irq_mask, &desc->irq_data);
        call(chip->irq_ack, &desc->irq_data);
    }
}

void chained_irq_exit(irq_chip* chip, irq_desc* desc) {
    if (chip->irq_eoi)
        chip->irq_eoi(&desc->irq_data);
    else
        call(chip->irq_unmask, &desc->irq_data);
}

} // namespace piemu::kernel
