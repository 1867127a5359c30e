// What the board builder needs from an interrupt controller: the DT's view of its
// inputs (`#interrupt-cells`, a specifier -> input translation like Linux's
// irq_domain xlate) and the sink that receives the lines.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "piemu/device.hpp"
#include "piemu/error.hpp"

namespace piemu {

class InterruptController;

/// Told of every change of an input's pending state at a controller (DeliveryCounts;
/// README, "piemu interrupts" without the kernel model). An input is pending at a
/// core while it is high AND enabled AND routed to that core; each rise of that state
/// is a delivery, one interrupt a guest's handler sees once. A line that rises while
/// disabled is delivered when it is enabled; one that stays high is delivered once
/// however long it stays.
class DeliveryObserver {
public:
    virtual ~DeliveryObserver() = default;
    /// `hwirq`: the input as the controller's Linux irqchip driver numbers it (the
    /// hwirq column of /proc/interrupts). `bit`: for a mailbox, the bit that rose or
    /// fell (-1: the input as a whole). `core`: the core, or -1 when the controller has
    /// no cores of its own and its output's parent routes it (ARMCTRL: the local
    /// controller's GPU routing). `fiq`: as FIQ, not IRQ. `pending`: rose (a
    /// delivery) or fell (cleared at the source, masked, or routed elsewhere).
    virtual void pending_changed(const InterruptController& from, unsigned hwirq, int bit, int core,
                                 bool fiq, bool pending) = 0;
};

class InterruptController {
public:
    virtual ~InterruptController() = default;

    /// The node's `#interrupt-cells`.
    virtual unsigned interrupt_cells() const = 0;
    /// The input number of irq_sink() a specifier names, or an Error (one line,
    /// e.g. "bank 3 does not exist"). `cpu` selects the per-CPU copy for inputs that
    /// exist once per core (the BCM2836 local controller's timer and PMU inputs);
    /// controllers without per-CPU inputs ignore it.
    virtual ErrorOr<unsigned> xlate(std::span<const uint32_t> cells, unsigned cpu) const = 0;
    /// True when the specifier names a per-CPU input (one wire from each core).
    virtual bool is_percpu(std::span<const uint32_t> cells) const {
        (void)cells;
        return false;
    }
    virtual IrqSink& irq_sink() = 0;
    /// The hwirq (DeliveryObserver) a specifier names, or nullopt if it names none.
    virtual std::optional<unsigned> hwirq(std::span<const uint32_t> cells) const {
        (void)cells;
        return std::nullopt;
    }
    /// Reports every delivery from now on to `observer` (nullptr: stop). A controller
    /// that cannot report ignores it.
    virtual void observe_deliveries(DeliveryObserver* observer) { (void)observer; }
};

} // namespace piemu
