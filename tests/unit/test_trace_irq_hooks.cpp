// IrqTracer on the real genirq path: the interrupt's journey from
// __handle_domain_irq to irq_exit as function-tracer lines and irq events, with
// the flags taken from the live preempt_count (h once irq_enter() has run).
#include "test_genirq_fixture.hpp"
#include "trace/irq_tracer.hpp"

using namespace genirq_test;
using namespace piemu::trace;

namespace {

class IrqTracerTest : public GenirqTest {
protected:
    Recorder rec{{.nr_cpus = 4, .events = EventFilter::all()}};
    StrId comm = rec.intern_comm("swapper/0");
    std::uint64_t ts_us = 100;

    /// The run loop's part: the current CPU's context, IRQs masked as they are in
    /// an IRQ exception, one microsecond per event.
    Context current() {
        return make_context(ts_us++ * 1000, 0, 0, comm,
                            {.irqs_off = true, .preempt_count = irq.preempt_count()});
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        rec.for_each_line({}, [&](const TraceLine& l) { out.push_back(format_line(l)); });
        return out;
    }
};

} // namespace

TEST_F(IrqTracerTest, RecordsTheWholePathWithFlagsFromPreemptCount) {
    IrqTracer tracer(rec, [this] { return current(); });
    irq.set_trace_hooks(&tracer);
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 8, {}, nullptr);
    unsigned virq = irq.irq_create_mapping(d, 1);
    irq.irq_set_chip_and_handler(virq, &chip, &Irq::handle_level_irq);
    static int dev;
    ASSERT_EQ(irq.request_irq(virq, recording_handler("bcm2835_mbox_irq", &calls), 0,
                              "3f00b880.mailbox", &dev),
              0);
    run_sync(irq.handle_domain_irq(d, 1, nullptr));
    irq.set_trace_hooks(nullptr);
    EXPECT_EQ(
        lines(),
        (std::vector<std::string>{
            "          <idle>-0     [000] d...     0.000100: __handle_domain_irq",
            "          <idle>-0     [000] d...     0.000101: irq_enter <-__handle_domain_irq",
            "          <idle>-0     [000] d.h.     0.000102: generic_handle_irq "
            "<-__handle_domain_irq",
            "          <idle>-0     [000] d.h.     0.000103: handle_level_irq <-generic_handle_irq",
            "          <idle>-0     [000] d.h.     0.000104: handle_irq_event <-handle_level_irq",
            "          <idle>-0     [000] d.h.     0.000105: handle_irq_event_percpu "
            "<-handle_irq_event",
            "          <idle>-0     [000] d.h.     0.000106: __handle_irq_event_percpu "
            "<-handle_irq_event_percpu",
            "          <idle>-0     [000] d.h.     0.000107: irq_handler_entry: irq=16 "
            "name=3f00b880.mailbox",
            "          <idle>-0     [000] d.h.     0.000108: bcm2835_mbox_irq "
            "<-__handle_irq_event_percpu",
            "          <idle>-0     [000] d.h.     0.000109: irq_handler_exit: irq=16 ret=handled",
            "          <idle>-0     [000] d.h.     0.000110: note_interrupt "
            "<-handle_irq_event_percpu",
            "          <idle>-0     [000] d.h.     0.000111: irq_exit <-__handle_domain_irq",
        }));
}

TEST_F(IrqTracerTest, IrqFilterAndDisabledEvents) {
    auto irq_only = EventFilter::parse("irq");
    ASSERT_FALSE(irq_only.is_error());
    Recorder quiet({.nr_cpus = 1, .events = irq_only.value()});
    int contexts = 0;
    IrqTracer tracer(quiet,
                     [&] {
                         ++contexts;
                         return Context{};
                     },
                     {23});
    irqaction mailbox;
    mailbox.name = "3f00b880.mailbox";
    tracer.irq_handler_entry(23, mailbox);
    tracer.irq_handler_exit(23, mailbox, IRQ_NONE);
    tracer.irq_handler_entry(17, mailbox);                     // not in --trace-irq
    tracer.function("handle_level_irq", "generic_handle_irq"); // function tracer off
    EXPECT_EQ(quiet.entries(0), 2u);
    EXPECT_EQ(contexts, 2); // the context is only asked for recorded events
    std::vector<std::string> texts;
    quiet.for_each_line({}, [&](const TraceLine& l) { texts.push_back(l.name + ": " + l.text); });
    EXPECT_EQ(texts, (std::vector<std::string>{"irq_handler_entry: irq=23 name=3f00b880.mailbox",
                                               "irq_handler_exit: irq=23 ret=unhandled"}));
}
