// preempt_count (4.14 layout) and interrupt context: the predicates on known
// values, irq_enter()/irq_exit(), 0x00010000 inside a handler run through
// handle_domain_irq() and 0 outside, the softirq hook of irq_exit(), a bad hwirq,
// and the function-trace and irq_handler_entry/exit hooks along that path.
#include "test_genirq_fixture.hpp"

using namespace genirq_test;
using Strings = std::vector<std::string>;

TEST(PreemptCount, LayoutIsThatOf414) {
    EXPECT_EQ(PREEMPT_MASK, 0x000000ffu);
    EXPECT_EQ(SOFTIRQ_MASK, 0x0000ff00u);
    EXPECT_EQ(HARDIRQ_MASK, 0x000f0000u);
    EXPECT_EQ(NMI_MASK, 0x00100000u);
    EXPECT_EQ(SOFTIRQ_OFFSET, 0x100u);
    EXPECT_EQ(SOFTIRQ_DISABLE_OFFSET, 0x200u);
    EXPECT_EQ(HARDIRQ_OFFSET, 0x10000u);
}

TEST(PreemptCount, PredicatesOnKnownValues) {
    // Hard irq handler (the reference's "in_interrupt: 0x00010000").
    EXPECT_TRUE(in_irq(0x00010000));
    EXPECT_TRUE(in_interrupt(0x00010000));
    EXPECT_FALSE(in_softirq(0x00010000));
    EXPECT_FALSE(in_task(0x00010000));
    EXPECT_TRUE(in_atomic(0x00010000));
    // Serving a softirq.
    EXPECT_TRUE(in_serving_softirq(0x00000100));
    EXPECT_TRUE(in_softirq(0x00000100));
    EXPECT_TRUE(in_interrupt(0x00000100));
    EXPECT_FALSE(in_irq(0x00000100));
    EXPECT_FALSE(in_task(0x00000100));
    // local_bh_disable() in process context: "in softirq", still a task.
    EXPECT_TRUE(in_softirq(0x00000200));
    EXPECT_FALSE(in_serving_softirq(0x00000200));
    EXPECT_TRUE(in_interrupt(0x00000200));
    EXPECT_TRUE(in_task(0x00000200));
    // preempt_disable() only: atomic, not interrupt (the Trace32 example's low byte).
    EXPECT_FALSE(in_interrupt(0x00000002));
    EXPECT_TRUE(in_atomic(0x00000002));
    EXPECT_FALSE(in_atomic(0));
    EXPECT_TRUE(in_task(0));
    EXPECT_TRUE(in_nmi(0x00100000));
    EXPECT_TRUE(in_interrupt(0x00100000));
}

TEST(PreemptCount, HostStoreKeepsOneCountPerCpu) {
    HostPreemptCounts pc(4);
    pc.add(2, HARDIRQ_OFFSET);
    pc.add(2, 1);
    EXPECT_EQ(pc.get(2), 0x00010001u);
    EXPECT_EQ(pc.get(0), 0u);
    pc.sub(2, HARDIRQ_OFFSET);
    EXPECT_EQ(pc.get(2), 1u);
}

TEST_F(GenirqTest, IrqEnterAndExitAddAndRemoveHardirqOffsetOnTheCurrentCpu) {
    irq.set_current_cpu(1);
    irq.irq_enter();
    EXPECT_EQ(preempt.get(1), 0x00010000u);
    EXPECT_EQ(preempt.get(0), 0u);
    irq.irq_enter(); // nested
    EXPECT_EQ(irq.preempt_count(), 0x00020000u);
    run_sync(irq.irq_exit());
    run_sync(irq.irq_exit());
    EXPECT_EQ(preempt.get(1), 0u);
}

TEST_F(GenirqTest, HandlerThroughHandleDomainIrqSeesHardirqContext) {
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 8, {}, nullptr);
    unsigned virq = irq.irq_create_mapping(d, 3);
    ASSERT_EQ(virq, 16u);
    irq.irq_set_chip_and_handler(virq, &chip, &Irq::handle_level_irq);
    std::uint32_t seen = 0xdeadbeef;
    bool seen_in_interrupt = false;
    ASSERT_EQ(irq.request_irq(virq,
                              irq_handler_t("sdhost_irq",
                                            [&](unsigned, void*) -> Task<irqreturn_t> {
                                                seen = irq.preempt_count();
                                                seen_in_interrupt =
                                                    in_interrupt(irq.preempt_count());
                                                co_return IRQ_HANDLED;
                                            }),
                              0, "mmc0", nullptr),
              0);
    EXPECT_EQ(irq.preempt_count(), 0u) << "outside";
    EXPECT_EQ(run_sync(irq.handle_domain_irq(d, 3, nullptr)), 0);
    EXPECT_EQ(seen, 0x00010000u) << "inside the handler";
    EXPECT_TRUE(seen_in_interrupt);
    EXPECT_EQ(irq.preempt_count(), 0u) << "after irq_exit";
}

TEST_F(GenirqTest, IrqExitRunsSoftirqsOnlyWhenLeavingInterruptContext) {
    std::vector<std::uint32_t> softirq_runs;
    irq.hooks().local_softirq_pending = [](unsigned) { return true; };
    irq.hooks().invoke_softirq = [&](unsigned cpu) -> Task<void> {
        softirq_runs.push_back(preempt.get(cpu));
        co_return;
    };
    irq.irq_enter();
    irq.irq_enter();
    run_sync(irq.irq_exit());
    EXPECT_TRUE(softirq_runs.empty()) << "still in a hard irq";
    run_sync(irq.irq_exit());
    EXPECT_EQ(softirq_runs, (std::vector<std::uint32_t>{0u}));
}

TEST_F(GenirqTest, UnmappedHwirqIsABadIrqCountedInErr) {
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 8, {}, nullptr);
    EXPECT_EQ(run_sync(irq.handle_domain_irq(d, 5, nullptr)), -EINVAL);
    EXPECT_EQ(irq.irq_err_count(), 1u);
    EXPECT_EQ(new_messages(), (Strings{"unexpected IRQ trap at vector 00"}));
    EXPECT_EQ(irq.preempt_count(), 0u);
}

TEST_F(GenirqTest, IrqRegsAreSetForTheHandlerAndRestored) {
    unsigned line = new_line(&Irq::handle_simple_irq);
    pt_regs* regs = reinterpret_cast<pt_regs*>(0x1000); // opaque to genirq
    pt_regs* seen = nullptr;
    ASSERT_EQ(irq.request_irq(line,
                              irq_handler_t("h",
                                            [&](unsigned, void*) -> Task<irqreturn_t> {
                                                seen = irq.get_irq_regs();
                                                co_return IRQ_HANDLED;
                                            }),
                              0, "h", nullptr),
              0);
    run_sync(irq.__handle_domain_irq(nullptr, line, false, regs));
    EXPECT_EQ(seen, regs);
    EXPECT_EQ(irq.get_irq_regs(), nullptr);
}

namespace {
struct RecordingTrace : IrqTraceHooks {
    Strings events;
    void irq_handler_entry(unsigned irq, const irqaction& a) override {
        events.push_back("irq_handler_entry: irq=" + std::to_string(irq) + " name=" + a.name);
    }
    void irq_handler_exit(unsigned irq, const irqaction&, irqreturn_t ret) override {
        events.push_back("irq_handler_exit: irq=" + std::to_string(irq) +
                         (ret ? " ret=handled" : " ret=unhandled"));
    }
    void function(std::string_view callee, std::string_view caller) override {
        events.push_back(std::string(callee) + " <-" + std::string(caller));
    }
};
} // namespace

TEST_F(GenirqTest, TraceHooksSeeTheWholePathInOrder) {
    RecordingTrace trace;
    irq.set_trace_hooks(&trace);
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 8, {}, nullptr);
    unsigned virq = irq.irq_create_mapping(d, 1);
    irq.irq_set_chip_and_handler(virq, &chip, &Irq::handle_level_irq);
    static int dev1, dev2;
    ASSERT_EQ(irq.request_irq(virq, recording_handler("dwc_otg_common_irq", &calls, IRQ_NONE),
                              IRQF_SHARED, "dwc_otg", &dev1),
              0);
    ASSERT_EQ(irq.request_irq(virq, recording_handler("hcd_irq", &calls), IRQF_SHARED,
                              "dwc_otg_hcd:usb1", &dev2),
              0);
    run_sync(irq.handle_domain_irq(d, 1, nullptr));
    EXPECT_EQ(trace.events, (Strings{
                                "__handle_domain_irq <-",
                                "irq_enter <-__handle_domain_irq",
                                "generic_handle_irq <-__handle_domain_irq",
                                "handle_level_irq <-generic_handle_irq",
                                "handle_irq_event <-handle_level_irq",
                                "handle_irq_event_percpu <-handle_irq_event",
                                "__handle_irq_event_percpu <-handle_irq_event_percpu",
                                "irq_handler_entry: irq=16 name=dwc_otg",
                                "dwc_otg_common_irq <-__handle_irq_event_percpu",
                                "irq_handler_exit: irq=16 ret=unhandled",
                                "irq_handler_entry: irq=16 name=dwc_otg_hcd:usb1",
                                "hcd_irq <-__handle_irq_event_percpu",
                                "irq_handler_exit: irq=16 ret=handled",
                                "note_interrupt <-handle_irq_event_percpu",
                                "irq_exit <-__handle_domain_irq",
                            }));
    irq.set_trace_hooks(nullptr);
}
