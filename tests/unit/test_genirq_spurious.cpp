// The unhandled-interrupt detector (kernel/irq/spurious.c of 4.14): the exact
// thresholds (more than 99,900 unhandled of 100,000), the report and its messages,
// the 100 ms window, bogus return values, the IRQ_WAKE_THREAD warning and the
// deferred verdict for threaded handlers.
#include "test_genirq_fixture.hpp"

using namespace genirq_test;
using Strings = std::vector<std::string>;

namespace {

/// A handler that returns IRQ_NONE for its first `unhandled` calls, then IRQ_HANDLED.
irq_handler_t stuck_then_handled(unsigned unhandled) {
    return irq_handler_t("stuck_device_irq",
                         [n = 0u, unhandled](unsigned, void*) mutable -> Task<irqreturn_t> {
                             co_return n++ < unhandled ? IRQ_NONE : IRQ_HANDLED;
                         });
}

} // namespace

class SpuriousTest : public GenirqTest {
protected:
    unsigned line = 0;
    void SetUp() override {
        irq_chip* c = &chip;
        line = new_line(&Irq::handle_level_irq, c);
    }
    void fire_n(unsigned n) {
        for (unsigned i = 0; i < n; i++)
            fire(line);
    }
};

TEST_F(SpuriousTest, NinetyNineThousandNineHundredAndOneUnhandledOf100000DisableTheLine) {
    ASSERT_EQ(irq.request_irq(line, stuck_then_handled(99901), 0, "stuck", nullptr), 0);
    fire_n(99999);
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->irq_count, 99999u);
    EXPECT_EQ(new_messages(), Strings{}) << "nothing before the 100,000th";

    calls.clear();
    fire(line);
    EXPECT_EQ(new_messages(),
              (Strings{"irq 16: nobody cared (try booting with the \"irqpoll\" option)",
                       "handlers:", "[<00000000>] stuck_device_irq", "Disabling IRQ #16"}));
    EXPECT_EQ(log.records().back().level, 0) << "Disabling IRQ is KERN_EMERG";
    EXPECT_TRUE(desc->istate & IRQS_SPURIOUS_DISABLED);
    EXPECT_EQ(desc->depth, 1u);
    EXPECT_TRUE(irqd_irq_disabled(&desc->irq_data));
    EXPECT_EQ(calls, (Strings{"mask 16", "ack 16"})) << "left masked: cond_unmask sees it disabled";
    EXPECT_EQ(desc->irq_count, 0u);
    EXPECT_EQ(desc->irqs_unhandled, 0u);

    calls.clear();
    fire(line);
    EXPECT_EQ(calls, (Strings{"ack 16"})) << "already masked; disabled: no handler";
    EXPECT_TRUE(desc->istate & IRQS_PENDING);
    EXPECT_EQ(irq.kstat_irqs_cpu(line, 0), 100000u);
}

TEST_F(SpuriousTest, NinetyNineThousandNineHundredUnhandledDoNot) {
    ASSERT_EQ(irq.request_irq(line, stuck_then_handled(99900), 0, "stuck", nullptr), 0);
    fire_n(100000);
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(new_messages(), Strings{});
    EXPECT_FALSE(desc->istate & IRQS_SPURIOUS_DISABLED);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_EQ(desc->irq_count, 0u) << "a new period starts";
    EXPECT_EQ(desc->irqs_unhandled, 0u);
}

TEST_F(SpuriousTest, ThreadedHandlersAreListed) {
    static int dev;
    ASSERT_EQ(irq.request_threaded_irq(
                  line, stuck_then_handled(100000),
                  irq_handler_t("stuck_thread_fn",
                                [](unsigned, void*) -> Task<irqreturn_t> { co_return IRQ_NONE; }),
                  IRQF_SHARED, "stuck", &dev),
              0);
    fire_n(100000);
    Strings m = new_messages();
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[2], "[<00000000>] stuck_device_irq threaded [<00000000>] stuck_thread_fn");
}

TEST_F(SpuriousTest, UnhandledMoreThan100msApartRestartTheCount) {
    ASSERT_EQ(irq.request_irq(line, stuck_then_handled(1000), 0, "stuck", nullptr), 0);
    fire(line);
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->irqs_unhandled, 1u);
    fire(line);
    EXPECT_EQ(desc->irqs_unhandled, 2u);
    now_ns += 100'000'000; // exactly HZ/10 later: not after the window
    fire(line);
    EXPECT_EQ(desc->irqs_unhandled, 3u);
    now_ns += 110'000'000; // 11 jiffies at HZ=100
    fire(line);
    EXPECT_EQ(desc->irqs_unhandled, 1u);
    EXPECT_EQ(desc->irq_count, 4u);
}

TEST_F(SpuriousTest, BogusReturnValueIsReported) {
    ASSERT_EQ(
        irq.request_irq(line,
                        irq_handler_t("weird_irq",
                                      [](unsigned, void*) -> Task<irqreturn_t> { co_return 0x10; }),
                        0, "weird", nullptr),
        0);
    fire(line);
    EXPECT_EQ(new_messages(), (Strings{"irq event 16: bogus return value 10",
                                       "handlers:", "[<00000000>] weird_irq"}));
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->irq_count, 0u) << "not counted";
    EXPECT_EQ(desc->depth, 0u);
}

TEST_F(SpuriousTest, NoirqdebugSkipsTheDetector) {
    irq.set_noirqdebug(true);
    ASSERT_EQ(irq.request_irq(line, stuck_then_handled(100000), 0, "stuck", nullptr), 0);
    fire(line);
    EXPECT_EQ(irq.irq_to_desc(line)->irqs_unhandled, 0u);
}

TEST_F(SpuriousTest, WakeThreadWithoutThreadFunctionWarnsOnce) {
    ASSERT_EQ(irq.request_irq(line,
                              irq_handler_t("bad_irq",
                                            [](unsigned, void*) -> Task<irqreturn_t> {
                                                co_return IRQ_WAKE_THREAD;
                                            }),
                              0, "baddev", nullptr),
              0);
    fire(line);
    fire(line);
    EXPECT_EQ(
        new_messages(),
        (Strings{
            "IRQ 16 device baddev returned IRQ_WAKE_THREAD but no thread function available."}));
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->threads_active, 0) << "nothing to wake";
    EXPECT_TRUE(log.has_open_record()) << "the kernel's message has no newline";
}

TEST_F(SpuriousTest, WakeThreadDefersTheVerdictToTheNextInterrupt) {
    static int dev;
    ASSERT_EQ(
        irq.request_threaded_irq(
            line, nullptr,
            irq_handler_t("t", [](unsigned, void*) -> Task<irqreturn_t> { co_return IRQ_HANDLED; }),
            IRQF_ONESHOT, "dev", &dev),
        0);
    irq_desc* desc = irq.irq_to_desc(line);
    fire(line);
    EXPECT_EQ(desc->threads_handled_last, 0x80000000u) << "SPURIOUS_DEFERRED";
    EXPECT_EQ(desc->irqs_unhandled, 0u);
    // The thread did not handle anything: the second interrupt counts as unhandled.
    test_and_clear_bit(IRQTF_RUNTHREAD, &desc->action->thread_flags);
    fire(line);
    EXPECT_EQ(desc->irqs_unhandled, 1u);
    // The thread handled one: the third counts as handled.
    test_and_clear_bit(IRQTF_RUNTHREAD, &desc->action->thread_flags);
    desc->threads_handled++;
    fire(line);
    EXPECT_EQ(desc->irqs_unhandled, 1u);
    EXPECT_EQ(desc->threads_handled_last, 0x80000001u);
}

TEST_F(SpuriousTest, ASharedRequestGivesASpuriousDisabledLineAnotherChance) {
    static int a, b;
    ASSERT_EQ(irq.request_irq(line, stuck_then_handled(100000), IRQF_SHARED, "a", &a), 0);
    fire_n(100000);
    irq_desc* desc = irq.irq_to_desc(line);
    ASSERT_TRUE(desc->istate & IRQS_SPURIOUS_DISABLED);
    ASSERT_EQ(irq.request_irq(line, recording_handler("b", &calls), IRQF_SHARED, "b", &b), 0);
    EXPECT_FALSE(desc->istate & IRQS_SPURIOUS_DISABLED);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_FALSE(irqd_irq_disabled(&desc->irq_data));
}
