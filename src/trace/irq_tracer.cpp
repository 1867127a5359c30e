#include "trace/irq_tracer.hpp"

#include <algorithm>

namespace piemu::trace {

IrqTracer::IrqTracer(Recorder& recorder, CurrentContext current, std::vector<unsigned> irqs)
    : recorder_(recorder), current_(std::move(current)), irqs_(std::move(irqs)) {}

bool IrqTracer::traced(unsigned irq) const {
    return irqs_.empty() || std::find(irqs_.begin(), irqs_.end(), irq) != irqs_.end();
}

void IrqTracer::irq_handler_entry(unsigned irq, const kernel::irqaction& action) {
    if (!recorder_.enabled(EventId::irq_handler_entry) || !traced(irq))
        return;
    recorder_.record(current_(), ev::irq_handler_entry{.irq = static_cast<std::int32_t>(irq),
                                                       .name = recorder_.intern(action.name)});
}

void IrqTracer::irq_handler_exit(unsigned irq, const kernel::irqaction& action,
                                 kernel::irqreturn_t ret) {
    (void)action;
    if (!recorder_.enabled(EventId::irq_handler_exit) || !traced(irq))
        return;
    recorder_.record(current_(), ev::irq_handler_exit{.irq = static_cast<std::int32_t>(irq),
                                                      .ret = static_cast<std::int32_t>(ret)});
}

void IrqTracer::function(std::string_view callee, std::string_view caller) {
    if (!recorder_.enabled(EventId::function))
        return;
    recorder_.record(current_(), ev::function{.ip = recorder_.intern(callee),
                                              .parent_ip = recorder_.intern(caller)});
}

} // namespace piemu::trace
