// The core interrupt handling (kernel/irq/handle.c of Linux 4.14) and the descriptor
// dump of kernel/irq/debug.h: running the actions of a line in registration order,
// the trace points around each handler, the IRQ_WAKE_THREAD bookkeeping, and
// handle_bad_irq().
//
// piemu has no kernel addresses: where the kernel prints a pointer (%p) the dump
// prints 00000000 (or "(null)" for a null one), and where it prints a symbol
// (%pf, print_symbol) it prints the handler's or chip's name.
#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

const char* ptr_text(const void* p) {
    return p ? "00000000" : "(null)";
}

} // namespace

Task<irqreturn_t> no_action(unsigned, void*) {
    co_return IRQ_NONE;
}

/// debug.h: what is known about a descriptor that got a bad interrupt, at most 5
/// times in 5 seconds (DEFINE_RATELIMIT_STATE(ratelimit, 5 * HZ, 5)).
void Irq::print_irq_desc(unsigned irq, irq_desc* desc) {
    if (!desc)
        return;
    std::uint32_t now = jiffies();
    if (!print_desc_window_open_ || time_after(now, print_desc_window_ + 5 * cfg_.hz)) {
        print_desc_window_open_ = true;
        print_desc_window_ = now;
        print_desc_count_ = 0;
    }
    if (print_desc_count_ >= 5)
        return;
    print_desc_count_++;

    log_.printk(KERN_DEFAULT, "irq %d, desc: %s, depth: %d, count: %d, unhandled: %d\n", irq,
                ptr_text(desc), desc->depth, desc->irq_count, desc->irqs_unhandled);
    // Each "%p, " is left open and the symbol printed without KERN_CONT: 4.14's
    // printk puts them on separate lines, and so does piemu's.
    log_.printk(KERN_DEFAULT, "->handle_irq():  %s, ", ptr_text(&desc->handle_irq));
    log_.printk(KERN_DEFAULT, "%s\n", desc->handle_irq.name.c_str());
    log_.printk(KERN_DEFAULT, "->irq_data.chip(): %s, ", ptr_text(desc->irq_data.chip));
    log_.printk(KERN_DEFAULT, "%s\n", desc->irq_data.chip ? desc->irq_data.chip->name.c_str() : "");
    log_.printk(KERN_DEFAULT, "->action(): %s\n", ptr_text(desc->action));
    if (desc->action) {
        log_.printk(KERN_DEFAULT, "->action->handler(): %s, ", ptr_text(desc->action));
        log_.printk(KERN_DEFAULT, "%s\n", desc->action->handler.name.c_str());
    }
    static const std::pair<unsigned, const char*> settings[] = {
        {IRQ_LEVEL, "IRQ_LEVEL"},       {IRQ_PER_CPU, "IRQ_PER_CPU"},
        {IRQ_NOPROBE, "IRQ_NOPROBE"},   {IRQ_NOREQUEST, "IRQ_NOREQUEST"},
        {IRQ_NOTHREAD, "IRQ_NOTHREAD"}, {IRQ_NOAUTOEN, "IRQ_NOAUTOEN"},
    };
    for (const auto& [bit, name] : settings)
        if (desc->status_use_accessors & bit)
            log_.printk(KERN_DEFAULT, "%14s set\n", name);
    static const std::pair<unsigned, const char*> states[] = {
        {IRQS_AUTODETECT, "IRQS_AUTODETECT"},
        {IRQS_REPLAY, "IRQS_REPLAY"},
        {IRQS_WAITING, "IRQS_WAITING"},
        {IRQS_PENDING, "IRQS_PENDING"},
    };
    for (const auto& [bit, name] : states)
        if (desc->istate & bit)
            log_.printk(KERN_DEFAULT, "%14s set\n", name);
}

/// Spurious and unhandled interrupts: dump, count, and ack_bad_irq().
Task<void> Irq::handle_bad_irq(irq_desc* desc) {
    auto frame = trace_frame("handle_bad_irq");
    unsigned irq = irq_desc_get_irq(desc);
    print_irq_desc(irq, desc);
    kstat_incr_irqs_this_cpu(desc);
    ack_bad_irq(irq);
    co_return;
}

void Irq::warn_no_thread(unsigned irq, irqaction* action) {
    if (test_and_set_bit(IRQTF_WARNED, &action->thread_flags))
        return;
    // The kernel's string has no trailing newline; the next message starts a line.
    log_.printk(KERN_WARNING,
                "IRQ %d device %s returned IRQ_WAKE_THREAD but no thread function available.", irq,
                action->name.c_str());
}

void Irq::__irq_wake_thread(irq_desc* desc, irqaction* action) {
    // NOTE: the PF_EXITING check of a crashed thread belongs to the tasks layer.
    // Already marked to run: nothing to do.
    if (test_and_set_bit(IRQTF_RUNTHREAD, &action->thread_flags))
        return;
    // The line stays masked (oneshot) until every woken thread cleared its bit, and
    // synchronize_irq() waits until threads_active drops to zero.
    desc->threads_oneshot |= action->thread_mask;
    desc->threads_active++;
    if (hooks_.wake_up_process)
        hooks_.wake_up_process(*action);
}

Task<irqreturn_t> Irq::__handle_irq_event_percpu(irq_desc* desc, unsigned long* flags) {
    auto frame = trace_frame("__handle_irq_event_percpu");
    irqreturn_t retval = IRQ_NONE;
    unsigned irq = desc->irq_data.irq;
    // NOTE: record_irq_time() (IRQ timings) is not modelled.
    for (irqaction* action = desc->action; action;) {
        std::shared_ptr<irqaction> hold = keep_alive(action);
        if (trace_)
            trace_->irq_handler_entry(irq, *action);
        irqreturn_t res = IRQ_NONE;
        if (action->handler.fn) {
            auto hframe = trace_frame(action->handler.name);
            res = co_await action->handler.fn(irq, action->dev_id);
        }
        if (trace_)
            trace_->irq_handler_exit(irq, *action, res);
        // NOTE: "irq %u handler %pF enabled interrupts" needs the guest CPSR; the
        // entry layer checks it.
        switch (res) {
        case IRQ_WAKE_THREAD:
            // Catch drivers which return WAKE_THREAD but set up no thread function.
            if (!action->thread_fn) {
                warn_no_thread(irq, action);
                break;
            }
            __irq_wake_thread(desc, action);
            [[fallthrough]];
        case IRQ_HANDLED:
            *flags |= action->flags;
            break;
        default:
            break;
        }
        retval |= res;
        action = action->next;
    }
    co_return retval;
}

Task<irqreturn_t> Irq::handle_irq_event_percpu(irq_desc* desc) {
    auto frame = trace_frame("handle_irq_event_percpu");
    unsigned long flags = 0;
    irqreturn_t retval = co_await __handle_irq_event_percpu(desc, &flags);
    // NOTE: add_interrupt_randomness() is not modelled.
    if (!noirqdebug_)
        note_interrupt(desc, retval);
    co_return retval;
}

Task<irqreturn_t> Irq::handle_irq_event(irq_desc* desc) {
    auto frame = trace_frame("handle_irq_event");
    desc->istate &= ~IRQS_PENDING;
    irqd_set(&desc->irq_data, IRQD_IRQ_INPROGRESS);
    irqreturn_t ret = co_await handle_irq_event_percpu(desc);
    irqd_clear(&desc->irq_data, IRQD_IRQ_INPROGRESS);
    // The kernel's synchronize_irq() spins on INPROGRESS; piemu's sleeps until here.
    wake_up(desc->wait_for_threads);
    co_return ret;
}

} // namespace piemu::kernel
