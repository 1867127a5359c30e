// Micro-benchmarks of the kernel model's genirq dispatch with built-in C++ handlers:
// what one interrupt costs the host below the vector page, without a guest. A chip
// whose callbacks do nothing (the device models' cost is not the subject), lines
// with the flow handlers the Raspberry Pi's drivers use, handlers that return at
// once. Each iteration is one interrupt, run to completion with run_sync().
#include <benchmark/benchmark.h>

#include "kernel/irq/internals.hpp"
#include "piemu/kernel/irq.hpp"

namespace {

using namespace piemu::kernel;

irq_chip null_chip() {
    auto nop = [](irq_data*) {};
    return irq_chip{.name = "bench",
                    .irq_ack = nop,
                    .irq_mask = nop,
                    .irq_unmask = nop,
                    .irq_eoi = nop,
                    .irq_set_type = [](irq_data*, unsigned) { return IRQ_SET_MASK_OK; }};
}

irq_handler_t handled(const char* name) {
    return irq_handler_t(name, [](unsigned, void*) -> Task<irqreturn_t> { co_return IRQ_HANDLED; });
}
irq_handler_t unhandled(const char* name) {
    return irq_handler_t(name, [](unsigned, void*) -> Task<irqreturn_t> { co_return IRQ_NONE; });
}

/// One genirq context with a linear domain of four lines, as the BCM2836 drivers
/// set them up: hwirq 0 level (ARMCTRL), 1 edge, 2 per-CPU dev_id (arch_timer),
/// 3 level shared by three actions (dwc_otg, dwc_otg_pcd, dwc_otg_hcd:usb1; the
/// first two return IRQ_NONE as on a Pi 3).
struct Genirq {
    std::uint64_t now_ns = 0;
    Printk log{[this] { return now_ns; }};
    HostPreemptCounts preempt{4};
    Irq irq{IrqConfig{}, log, preempt};
    irq_chip chip = null_chip();
    irq_domain* domain = nullptr;
    unsigned level = 0, edge = 0, percpu = 0, shared = 0;
    int dev[3] = {};

    Genirq() {
        domain = irq.irq_domain_add_linear(nullptr, 4, {}, nullptr);
        level = map(0, &Irq::handle_level_irq);
        edge = map(1, &Irq::handle_edge_irq);
        percpu = map(2, &Irq::handle_percpu_devid_irq);
        shared = map(3, &Irq::handle_level_irq);
        irq.request_irq(level, handled("level"), 0, "level", &dev[0]);
        irq.request_irq(edge, handled("edge"), 0, "edge", &dev[0]);
        irq.irq_set_percpu_devid(percpu);
        irq.request_percpu_irq(percpu, handled("arch_timer"), "arch_timer",
                               percpu_ptr{&dev[0], sizeof dev[0]});
        irq.enable_percpu_irq(percpu, 0);
        irq.request_irq(shared, unhandled("dwc_otg"), IRQF_SHARED, "dwc_otg", &dev[0]);
        irq.request_irq(shared, unhandled("dwc_otg_pcd"), IRQF_SHARED, "dwc_otg_pcd", &dev[1]);
        irq.request_irq(shared, handled("dwc_otg_hcd"), IRQF_SHARED, "dwc_otg_hcd:usb1", &dev[2]);
    }
    unsigned map(irq_hw_number_t hw, Irq::flow_fn flow) {
        unsigned virq = irq.irq_create_mapping(domain, hw);
        irq.irq_set_chip_and_handler(virq, &chip, flow);
        irq.irq_clear_status_flags(virq, IRQ_NOREQUEST);
        return virq;
    }
};

void generic_handle(benchmark::State& state, unsigned Genirq::*line) {
    Genirq g;
    unsigned irq = g.*line;
    for (auto _ : state)
        benchmark::DoNotOptimize(run_sync(g.irq.generic_handle_irq(irq)));
    state.SetItemsProcessed(state.iterations());
    if (g.irq.kstat_irqs_cpu(irq, 0) == 0)
        state.SkipWithError("the line's handler never ran");
}

/// generic_handle_irq() alone: flow handler, handle_irq_event, the action(s).
void BM_GenericHandleIrq_Level(benchmark::State& s) {
    generic_handle(s, &Genirq::level);
}
void BM_GenericHandleIrq_Edge(benchmark::State& s) {
    generic_handle(s, &Genirq::edge);
}
void BM_GenericHandleIrq_PercpuDevid(benchmark::State& s) {
    generic_handle(s, &Genirq::percpu);
}
void BM_GenericHandleIrq_Shared3(benchmark::State& s) {
    generic_handle(s, &Genirq::shared);
}

/// handle_domain_irq(): irq_enter, the domain lookup, generic_handle_irq, irq_exit
/// (what bcm2836_arm_irqchip_handle_irq calls per pending source).
void BM_HandleDomainIrq_Level(benchmark::State& state) {
    Genirq g;
    for (auto _ : state)
        benchmark::DoNotOptimize(run_sync(g.irq.handle_domain_irq(g.domain, 0, nullptr)));
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_GenericHandleIrq_Level);
BENCHMARK(BM_GenericHandleIrq_Edge);
BENCHMARK(BM_GenericHandleIrq_PercpuDevid);
BENCHMARK(BM_GenericHandleIrq_Shared3);
BENCHMARK(BM_HandleDomainIrq_Level);

} // namespace
