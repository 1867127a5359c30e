// genirq flow handlers (kernel/irq/chip.c of 4.14) against a fake chip that records
// its callbacks: the exact chip call sequence, when handlers run, the PENDING and
// replay rules, the per-CPU statistics, and handle_bad_irq().
#include <array>

#include "test_genirq_fixture.hpp"

using namespace genirq_test;
using Strings = std::vector<std::string>;

TEST_F(GenirqTest, LevelMasksAcksRunsTheHandlerAndUnmasks) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(line, 16u);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    calls.clear(); // request_irq's startup unmask is not the subject here

    EXPECT_EQ(fire(line), 0);
    EXPECT_EQ(calls, (Strings{"mask 16", "ack 16", "handler dev", "unmask 16"}));
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 0), 1u);
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_FALSE(irqd_irq_masked(&desc->irq_data));
    EXPECT_FALSE(irqd_irq_inprogress(&desc->irq_data));
}

TEST_F(GenirqTest, RequestStartsTheLineWithOneUnmask) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    EXPECT_EQ(calls, (Strings{"unmask 16"}));
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_TRUE(irqd_is_started(&desc->irq_data));
    EXPECT_FALSE(irqd_irq_disabled(&desc->irq_data));
}

TEST_F(GenirqTest, LevelWhileDisabledStaysMaskedAndPendingUntilEnable) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(
        irq.request_irq(line, recording_handler("dev", &calls), IRQF_TRIGGER_HIGH, "dev", nullptr),
        0);
    EXPECT_EQ(calls, (Strings{"set_type 16 4", "unmask 16"}));
    EXPECT_TRUE(irqd_is_level_type(&irq.irq_to_desc(line)->irq_data));
    irq.disable_irq_nosync(line);
    calls.clear();
    irq_desc* desc = irq.irq_to_desc(line);
    // Lazy disable: no irq_disable callback, so nothing reached the chip yet.
    EXPECT_TRUE(irqd_irq_disabled(&desc->irq_data));
    EXPECT_FALSE(irqd_irq_masked(&desc->irq_data));

    fire(line);
    EXPECT_EQ(calls, (Strings{"mask 16", "ack 16"})) << "no handler, no unmask";
    EXPECT_TRUE(desc->istate & IRQS_PENDING);
    EXPECT_TRUE(irqd_irq_masked(&desc->irq_data));
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 0), 0u) << "4.14 counts only interrupts it handles";

    calls.clear();
    irq.enable_irq(line);
    EXPECT_EQ(calls, (Strings{"unmask 16"}));
    EXPECT_FALSE(desc->istate & IRQS_PENDING) << "level interrupts are not resent";
    EXPECT_EQ(desc->depth, 0u);
}

TEST_F(GenirqTest, EdgeAcksAndRunsWithoutMasking) {
    unsigned line = new_line(&Irq::handle_edge_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"ack 16", "handler dev"}));
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 0), 1u);
}

TEST_F(GenirqTest, EdgeDuringTheHandlerIsPendingAndReplayedByTheLoop) {
    unsigned line = new_line(&Irq::handle_edge_irq);
    std::coroutine_handle<> parked;
    int runs = 0;
    ASSERT_EQ(irq.request_irq(line,
                              irq_handler_t("guest_handler",
                                            [&](unsigned, void*) -> Task<irqreturn_t> {
                                                ++runs;
                                                calls.push_back("handler run " +
                                                                std::to_string(runs));
                                                co_await Park{&parked};
                                                co_return IRQ_HANDLED;
                                            }),
                              0, "dev", nullptr),
              0);
    calls.clear();

    Task<int> first = irq.generic_handle_irq(line); // CPU0: the guest handler runs
    first.start();
    ASSERT_FALSE(first.done());
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_TRUE(irqd_irq_inprogress(&desc->irq_data));

    irq.set_current_cpu(1); // a second edge, taken on CPU1 meanwhile
    EXPECT_EQ(fire(line), 0);
    EXPECT_TRUE(desc->istate & IRQS_PENDING);
    EXPECT_TRUE(irqd_irq_masked(&desc->irq_data));
    EXPECT_EQ(calls, (Strings{"ack 16", "handler run 1", "mask 16", "ack 16"}));

    irq.set_current_cpu(0);
    parked.resume(); // the guest returns: the loop unmasks and replays
    EXPECT_FALSE(first.done());
    EXPECT_EQ(runs, 2);
    parked.resume();
    EXPECT_TRUE(first.done());
    EXPECT_EQ(calls, (Strings{"ack 16", "handler run 1", "mask 16", "ack 16", "unmask 16",
                              "handler run 2"}));
    EXPECT_FALSE(desc->istate & IRQS_PENDING);
    EXPECT_FALSE(irqd_irq_inprogress(&desc->irq_data));
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 0), 1u);
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 1), 0u) << "the replayed edge is not counted again";
}

TEST_F(GenirqTest, EdgeWhileDisabledIsPendingAndRetriggeredOnEnable) {
    unsigned line = new_line(&Irq::handle_edge_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    irq.disable_irq_nosync(line);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"mask 16", "ack 16"}));
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_TRUE(desc->istate & IRQS_PENDING);

    calls.clear();
    irq.enable_irq(line);
    EXPECT_EQ(calls, (Strings{"unmask 16", "retrigger 16"}));
    EXPECT_FALSE(desc->istate & IRQS_PENDING);
    EXPECT_TRUE(desc->istate & IRQS_REPLAY);

    calls.clear();
    fire(line); // the retriggered edge arrives
    EXPECT_EQ(calls, (Strings{"ack 16", "handler dev"}));
    EXPECT_FALSE(desc->istate & IRQS_REPLAY);
}

TEST_F(GenirqTest, EdgeWithoutRetriggerUsesTheSoftwareResendHook) {
    irq_chip plain{.name = "plain", .irq_ack = [](irq_data*) {}};
    unsigned line = new_line(&Irq::handle_edge_irq, &plain);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    unsigned resent = 0;
    irq.hooks().sw_resend = [&](irq_desc& d) { resent = d.irq_data.irq; };
    irq.disable_irq_nosync(line);
    fire(line);
    irq.enable_irq(line);
    EXPECT_EQ(resent, line);
}

TEST_F(GenirqTest, FasteoiRunsTheHandlerThenEois) {
    unsigned line = new_line(&Irq::handle_fasteoi_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"handler dev", "eoi 16"}));
}

TEST_F(GenirqTest, FasteoiWhileDisabledMasksPendsAndEois) {
    unsigned line = new_line(&Irq::handle_fasteoi_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    irq.disable_irq_nosync(line);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"mask 16", "eoi 16"}));
    EXPECT_TRUE(irq.irq_to_desc(line)->istate & IRQS_PENDING);
}

TEST_F(GenirqTest, FasteoiOneshotMasksAndUnmasksWhenNoThreadWasWoken) {
    unsigned line = new_line(&Irq::handle_fasteoi_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), IRQF_ONESHOT, "dev", nullptr),
              0);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"mask 16", "handler dev", "eoi 16", "unmask 16"}));
}

TEST_F(GenirqTest, SimpleMakesNoChipCalls) {
    unsigned line = new_line(&Irq::handle_simple_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), 0, "dev", nullptr), 0);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"handler dev"}));
    irq.disable_irq_nosync(line);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, Strings{});
    EXPECT_TRUE(irq.irq_to_desc(line)->istate & IRQS_PENDING);
}

TEST_F(GenirqTest, PercpuAcksRunsAndEois) {
    unsigned line = new_line(&Irq::handle_percpu_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("dev", &calls), IRQF_PERCPU, "dev", nullptr),
              0);
    calls.clear();
    irq.set_current_cpu(3);
    fire(line);
    EXPECT_EQ(calls, (Strings{"ack 16", "handler dev", "eoi 16"}));
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 3), 1u);
}

TEST_F(GenirqTest, PercpuDevidPassesThisCpusInstanceAndCountsOnThisCpuOnly) {
    unsigned line = new_line(&Irq::handle_percpu_devid_irq);
    ASSERT_EQ(irq.irq_set_percpu_devid(line), 0);
    std::array<int, 4> timers{};
    std::vector<void*> seen;
    ASSERT_EQ(irq.request_percpu_irq(line,
                                     irq_handler_t("arch_timer_handler_phys",
                                                   [&](unsigned, void* dev) -> Task<irqreturn_t> {
                                                       seen.push_back(dev);
                                                       ++*static_cast<int*>(dev);
                                                       co_return IRQ_HANDLED;
                                                   }),
                                     "arch_timer", percpu_ptr{&timers[0], sizeof timers[0]}),
              0);
    EXPECT_EQ(calls, Strings{}) << "per-CPU-dev_id lines are not auto-enabled";
    irq.set_current_cpu(2);
    irq.enable_percpu_irq(line, IRQ_TYPE_NONE);
    EXPECT_TRUE(irq.irq_percpu_is_enabled(line));
    EXPECT_EQ(calls, (Strings{"unmask 16"}));

    calls.clear();
    fire(line);
    fire(line);
    EXPECT_EQ(calls, (Strings{"ack 16", "eoi 16", "ack 16", "eoi 16"}));
    EXPECT_EQ(seen, (std::vector<void*>{&timers[2], &timers[2]}));
    EXPECT_EQ(timers, (std::array<int, 4>{0, 0, 2, 0}));
    for (unsigned cpu = 0; cpu < 4; cpu++)
        EXPECT_EQ(irq.kstat_irqs_cpu(line, cpu), cpu == 2 ? 2u : 0u) << "cpu " << cpu;
}

TEST_F(GenirqTest, PercpuDevidWithoutActionDisablesTheCpuAndSaysSoOnce) {
    unsigned line = new_line(&Irq::handle_percpu_devid_irq);
    ASSERT_EQ(irq.irq_set_percpu_devid(line), 0);
    irq.set_current_cpu(1);
    irq.enable_percpu_irq(line, IRQ_TYPE_NONE);
    calls.clear();
    fire(line);
    fire(line);
    EXPECT_EQ(calls, (Strings{"ack 16", "mask 16", "eoi 16", "ack 16", "eoi 16"}));
    EXPECT_EQ(new_messages(), (Strings{"Spurious and unmasked percpu IRQ16 on CPU1"}));
    EXPECT_FALSE(irq.irq_percpu_is_enabled(line));
}

TEST_F(GenirqTest, UnrequestedLineGoesToHandleBadIrq) {
    // A legacy descriptor: no chip, handle_bad_irq.
    EXPECT_EQ(fire(5), 0);
    EXPECT_EQ(irq.irq_err_count(), 1u);
    EXPECT_EQ(irq.kstat_irqs_cpu(5, 0), 1u);
    Strings m = new_messages();
    ASSERT_FALSE(m.empty());
    EXPECT_EQ(m.front(), "irq 5, desc: 00000000, depth: 1, count: 0, unhandled: 0");
    EXPECT_EQ(m.back(), "unexpected IRQ trap at vector 05");
    EXPECT_EQ(log.records().back().level, 2) << "pr_crit";
}

TEST_F(GenirqTest, GenericHandleIrqOfAMissingDescriptorIsEinval) {
    EXPECT_EQ(fire(4000), -EINVAL);
}

TEST_F(GenirqTest, ChainedHandlerStartsTheLineAndRefusesRequests) {
    int chained_runs = 0;
    int v = irq.irq_alloc_descs(-1, 1, 1);
    unsigned parent = static_cast<unsigned>(v);
    irq.irq_set_chip(parent, &chip);
    irq.irq_set_chained_handler_and_data(
        parent,
        irq_flow_handler_t("bcm2836_chained_handle_irq",
                           [&](irq_desc* desc) -> Task<void> {
                               chained_irq_enter(desc->irq_data.chip, desc);
                               ++chained_runs;
                               chained_irq_exit(desc->irq_data.chip, desc);
                               co_return;
                           }),
        nullptr);
    irq_desc* desc = irq.irq_to_desc(parent);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_TRUE(desc->status_use_accessors & IRQ_NOREQUEST);
    EXPECT_EQ(irq.request_irq(parent, recording_handler("x", &calls), 0, "x", nullptr), -EINVAL);
    calls.clear();
    fire(parent);
    EXPECT_EQ(chained_runs, 1);
    EXPECT_EQ(calls, (Strings{"eoi 16"})) << "the fake chip has irq_eoi: a fasteoi parent";
}
