// Spurious and unhandled interrupt detection (kernel/irq/spurious.c of Linux 4.14).
//
// If 99,900 of the previous 100,000 interrupts of a line were not handled, the line
// is assumed stuck: report it, list its handlers and disable it. (The other 100 may
// come from a working device that shares the line with the failing one.) Unhandled
// interrupts more than HZ/10 apart restart the count, so that the odd spurious
// interrupt from bus asynchronicity never adds up to a doomsday timer.
//
// Handlers are printed as "[<%p>] %pf": piemu has no kernel addresses, so the
// address prints as 00000000 and the symbol as the handler's name.
//
// NOTE: the irqpoll/irqfixup misrouted-interrupt recovery and the poll timer that
// retries spurious-disabled lines (poll_spurious_irqs) are not modelled.
#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

/// Bit 31 of threads_handled_last: the spurious check waits for the thread.
constexpr std::uint32_t SPURIOUS_DEFERRED = 0x80000000u;

bool bad_action_ret(irqreturn_t action_ret) {
    return action_ret > (IRQ_HANDLED | IRQ_WAKE_THREAD);
}

} // namespace

void Irq::__report_bad_irq(irq_desc* desc, irqreturn_t action_ret) {
    unsigned irq = irq_desc_get_irq(desc);
    if (bad_action_ret(action_ret))
        log_.printk(KERN_ERR, "irq event %d: bogus return value %x\n", irq, action_ret);
    else
        log_.printk(KERN_ERR, "irq %d: nobody cared (try booting with the \"irqpoll\" option)\n",
                    irq);
    if (hooks_.dump_stack)
        hooks_.dump_stack(cpu_);
    log_.printk(KERN_ERR, "handlers:\n");
    for (irqaction* action = desc->action; action; action = action->next) {
        log_.printk(KERN_ERR, "[<%s>] %s", "00000000", action->handler.name.c_str());
        if (action->thread_fn)
            log_.printk(KERN_CONT, " threaded [<%s>] %s", "00000000",
                        action->thread_fn.name.c_str());
        log_.printk(KERN_CONT, "\n");
    }
}

/// At most 100 reports of bogus return values per boot.
void Irq::report_bad_irq(irq_desc* desc, irqreturn_t action_ret) {
    if (report_bad_irq_budget_ > 0) {
        report_bad_irq_budget_--;
        __report_bad_irq(desc, action_ret);
    }
}

void Irq::note_interrupt(irq_desc* desc, irqreturn_t action_ret) {
    auto frame = trace_frame("note_interrupt");
    if ((desc->istate & IRQS_POLL_INPROGRESS) || irq_settings_is_polled(desc))
        return;
    if (bad_action_ret(action_ret)) {
        report_bad_irq(desc, action_ret);
        return;
    }
    // A woken thread's result is only known at the next hard interrupt: defer the
    // verdict and compare threads_handled then.
    if (action_ret & IRQ_WAKE_THREAD) {
        if (action_ret == IRQ_WAKE_THREAD) {
            if (!(desc->threads_handled_last & SPURIOUS_DEFERRED)) {
                desc->threads_handled_last |= SPURIOUS_DEFERRED;
                return;
            }
            // Did a thread handle an interrupt since the last one? Bit 31 stays set:
            // the current interrupt is accounted at the next one.
            std::uint32_t handled = desc->threads_handled | SPURIOUS_DEFERRED;
            if (handled != desc->threads_handled_last) {
                action_ret = IRQ_HANDLED;
                desc->threads_handled_last = handled;
            } else {
                action_ret = IRQ_NONE;
            }
        } else {
            // A primary handler returned IRQ_HANDLED: the threads do not matter.
            desc->threads_handled_last &= ~SPURIOUS_DEFERRED;
        }
    }

    if (action_ret == IRQ_NONE) {
        std::uint32_t now = jiffies();
        if (time_after(now, desc->last_unhandled + cfg_.hz / 10))
            desc->irqs_unhandled = 1;
        else
            desc->irqs_unhandled++;
        desc->last_unhandled = now;
    }
    if (!desc->irqs_unhandled)
        return;

    // Now getting into unhandled irq detection.
    desc->irq_count++;
    if (desc->irq_count < 100000)
        return;
    desc->irq_count = 0;
    if (desc->irqs_unhandled > 99900) {
        // The interrupt is stuck: report it and kill the line.
        __report_bad_irq(desc, action_ret);
        log_.printk(KERN_EMERG, "Disabling IRQ #%d\n", irq_desc_get_irq(desc));
        desc->istate |= IRQS_SPURIOUS_DISABLED;
        desc->depth++;
        irq_disable(desc);
    }
    desc->irqs_unhandled = 0;
}

} // namespace piemu::kernel
