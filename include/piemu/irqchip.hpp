// What the board builder needs from an interrupt controller: the DT's view of its
// inputs (`#interrupt-cells`, a specifier -> input translation like Linux's
// irq_domain xlate) and the sink that receives the lines.
#pragma once

#include <cstdint>
#include <span>

#include "piemu/device.hpp"
#include "piemu/error.hpp"

namespace piemu {

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
};

} // namespace piemu
