// genirq internals (kernel/irq/internals.h and settings.h of Linux 4.14): the core
// state bits and the accessors of the per-descriptor settings. Only src/kernel/irq
// and the genirq unit tests include this file.
#pragma once

#include "piemu/kernel/irq.hpp"

namespace piemu::kernel {

/// Bits of irqaction::thread_flags (bit numbers, as set_bit() takes them).
/// IRQTF_RUNTHREAD: the handler thread should run; IRQTF_WARNED: the
/// "IRQ_WAKE_THREAD but no thread function" warning was printed for this action.
enum : unsigned {
    IRQTF_RUNTHREAD = 0,
    IRQTF_WARNED = 1,
    IRQTF_AFFINITY = 2,
    IRQTF_FORCED_THREAD = 3
};

/// irq_desc::istate bits.
/// IRQS_AUTODETECT        autodetection in progress
/// IRQS_SPURIOUS_DISABLED disabled by the spurious detector
/// IRQS_POLL_INPROGRESS   polling in progress (irqpoll; not modelled)
/// IRQS_ONESHOT           the line is not unmasked by the primary handler
/// IRQS_REPLAY            a pending edge interrupt is being resent
/// IRQS_WAITING           irq autoprobe is waiting
/// IRQS_PENDING           the interrupt came while it could not run; replay later
/// IRQS_SUSPENDED         suspended (power management; not modelled)
enum : unsigned {
    IRQS_AUTODETECT = 0x00000001,
    IRQS_SPURIOUS_DISABLED = 0x00000002,
    IRQS_POLL_INPROGRESS = 0x00000008,
    IRQS_ONESHOT = 0x00000020,
    IRQS_REPLAY = 0x00000040,
    IRQS_WAITING = 0x00000080,
    IRQS_PENDING = 0x00000200,
    IRQS_SUSPENDED = 0x00000800,
};

/// __irq_get_desc_lock() checks: a global call refuses per-CPU-dev_id lines and a
/// per-CPU call refuses the others.
enum : unsigned {
    _IRQ_DESC_CHECK = 1u << 0,
    _IRQ_DESC_PERCPU = 1u << 1,
    IRQ_GET_DESC_CHECK_GLOBAL = _IRQ_DESC_CHECK,
    IRQ_GET_DESC_CHECK_PERCPU = _IRQ_DESC_CHECK | _IRQ_DESC_PERCPU,
};

inline constexpr bool IRQ_RESEND = true;
inline constexpr bool IRQ_NORESEND = false;
inline constexpr bool IRQ_START_FORCE = true;
inline constexpr bool IRQ_START_COND = false;

// ---- irq_data state manipulation (internals.h)
inline void irqd_set(irq_data* d, unsigned mask) {
    d->common->state_use_accessors |= mask;
}
inline void irqd_clear(irq_data* d, unsigned mask) {
    d->common->state_use_accessors &= ~mask;
}
inline bool irqd_has_set(const irq_data* d, unsigned mask) {
    return (d->common->state_use_accessors & mask) != 0;
}
inline void irq_state_set_disabled(irq_desc* desc) {
    irqd_set(&desc->irq_data, IRQD_IRQ_DISABLED);
}
inline void irq_state_set_masked(irq_desc* desc) {
    irqd_set(&desc->irq_data, IRQD_IRQ_MASKED);
}
inline void irq_state_clr_disabled(irq_desc* desc) {
    irqd_clear(&desc->irq_data, IRQD_IRQ_DISABLED);
}
inline void irq_state_clr_masked(irq_desc* desc) {
    irqd_clear(&desc->irq_data, IRQD_IRQ_MASKED);
}

// ---- settings.h: the IRQ_* settings in status_use_accessors
inline void irq_settings_clr_and_set(irq_desc* desc, unsigned clr, unsigned set) {
    desc->status_use_accessors &= ~(clr & IRQF_MODIFY_MASK);
    desc->status_use_accessors |= set & IRQF_MODIFY_MASK;
}
inline bool irq_settings_is_per_cpu(const irq_desc* d) {
    return d->status_use_accessors & IRQ_PER_CPU;
}
inline bool irq_settings_is_per_cpu_devid(const irq_desc* d) {
    return d->status_use_accessors & IRQ_PER_CPU_DEVID;
}
inline void irq_settings_set_per_cpu(irq_desc* d) {
    d->status_use_accessors |= IRQ_PER_CPU;
}
inline void irq_settings_set_no_balancing(irq_desc* d) {
    d->status_use_accessors |= IRQ_NO_BALANCING;
}
inline bool irq_settings_has_no_balance_set(const irq_desc* d) {
    return d->status_use_accessors & IRQ_NO_BALANCING;
}
inline unsigned irq_settings_get_trigger_mask(const irq_desc* d) {
    return d->status_use_accessors & IRQ_TYPE_SENSE_MASK;
}
inline void irq_settings_set_trigger_mask(irq_desc* d, unsigned mask) {
    d->status_use_accessors =
        (d->status_use_accessors & ~IRQ_TYPE_SENSE_MASK) | (mask & IRQ_TYPE_SENSE_MASK);
}
inline bool irq_settings_is_level(const irq_desc* d) {
    return d->status_use_accessors & IRQ_LEVEL;
}
inline void irq_settings_clr_level(irq_desc* d) {
    d->status_use_accessors &= ~IRQ_LEVEL;
}
inline void irq_settings_set_level(irq_desc* d) {
    d->status_use_accessors |= IRQ_LEVEL;
}
inline bool irq_settings_can_request(const irq_desc* d) {
    return !(d->status_use_accessors & IRQ_NOREQUEST);
}
inline void irq_settings_set_norequest(irq_desc* d) {
    d->status_use_accessors |= IRQ_NOREQUEST;
}
inline bool irq_settings_can_thread(const irq_desc* d) {
    return !(d->status_use_accessors & IRQ_NOTHREAD);
}
inline void irq_settings_set_nothread(irq_desc* d) {
    d->status_use_accessors |= IRQ_NOTHREAD;
}
inline void irq_settings_set_noprobe(irq_desc* d) {
    d->status_use_accessors |= IRQ_NOPROBE;
}
inline bool irq_settings_can_move_pcntxt(const irq_desc* d) {
    return d->status_use_accessors & IRQ_MOVE_PCNTXT;
}
inline bool irq_settings_can_autoenable(const irq_desc* d) {
    return !(d->status_use_accessors & IRQ_NOAUTOEN);
}
inline bool irq_settings_is_nested_thread(const irq_desc* d) {
    return d->status_use_accessors & IRQ_NESTED_THREAD;
}
inline bool irq_settings_is_polled(const irq_desc* d) {
    return d->status_use_accessors & IRQ_IS_POLLED;
}
inline bool irq_settings_disable_unlazy(const irq_desc* d) {
    return d->status_use_accessors & IRQ_DISABLE_UNLAZY;
}
inline void irq_settings_clr_disable_unlazy(irq_desc* d) {
    d->status_use_accessors &= ~IRQ_DISABLE_UNLAZY;
}

inline unsigned irq_desc_get_irq(const irq_desc* desc) {
    return desc->irq_data.irq;
}
inline irq_chip* irq_desc_get_chip(const irq_desc* desc) {
    return desc->irq_data.chip;
}

/// for_each_action_of_desc(): the action list in registration order.
template <typename F>
void for_each_action_of_desc(irq_desc* desc, F&& f) {
    for (irqaction* a = desc->action; a; a = a->next)
        f(a);
}

// ---- bit helpers on thread_flags (set_bit/test_and_set_bit without atomics).
inline bool test_bit(unsigned nr, unsigned long word) {
    return (word >> nr) & 1;
}
inline bool test_and_set_bit(unsigned nr, unsigned long* word) {
    bool old = test_bit(nr, *word);
    *word |= 1ul << nr;
    return old;
}
inline bool test_and_clear_bit(unsigned nr, unsigned long* word) {
    bool old = test_bit(nr, *word);
    *word &= ~(1ul << nr);
    return old;
}

/// time_after(a, b) for 32-bit jiffies: true when a is later than b, across wraps.
inline bool time_after(std::uint32_t a, std::uint32_t b) {
    return static_cast<std::int32_t>(b - a) < 0;
}

} // namespace piemu::kernel
