// IrqTracer: genirq's trace points (kernel::IrqTraceHooks) recorded as
// irq:irq_handler_entry / irq:irq_handler_exit and ftrace:function events.
//
// genirq knows the irq and the action but not the task, the virtual time or the
// CPU's IRQ mask: the owner supplies those with a callback that returns the
// current CPU's Context (make_context()). It is called only for events that are
// recorded.
#pragma once

#include <functional>
#include <vector>

#include "piemu/kernel/irq.hpp"
#include "piemu/trace.hpp"

namespace piemu::trace {

class IrqTracer final : public kernel::IrqTraceHooks {
public:
    using CurrentContext = std::function<Context()>;

    /// `irqs`: only these Linux irq numbers for irq_handler_entry/exit (the
    /// kernel's "irq==23" event filter); empty: all.
    IrqTracer(Recorder& recorder, CurrentContext current, std::vector<unsigned> irqs = {});

    void irq_handler_entry(unsigned irq, const kernel::irqaction& action) override;
    void irq_handler_exit(unsigned irq, const kernel::irqaction& action,
                          kernel::irqreturn_t ret) override;
    void function(std::string_view callee, std::string_view caller) override;

private:
    bool traced(unsigned irq) const;

    Recorder& recorder_;
    CurrentContext current_;
    std::vector<unsigned> irqs_;
};

} // namespace piemu::trace
