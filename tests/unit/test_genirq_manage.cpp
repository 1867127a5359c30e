// genirq driver API (kernel/irq/manage.c of 4.14): the request rules and their exact
// messages, sharing, depth counting, oneshot and threaded bookkeeping, free_irq, and
// the waits of disable_irq()/synchronize_irq() while a guest handler runs.
#include "test_genirq_fixture.hpp"

using namespace genirq_test;
using Strings = std::vector<std::string>;

namespace {
int dev_a, dev_b, dev_c;
Task<irqreturn_t> thread_fn_stub(unsigned, void*) {
    co_return IRQ_HANDLED;
}
irq_handler_t thread_fn() {
    return irq_handler_t("dev_thread_fn", &thread_fn_stub);
}
} // namespace

TEST_F(GenirqTest, SharedActionsRunInRegistrationOrder) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(
        irq.request_irq(line, recording_handler("a", &calls, IRQ_NONE), IRQF_SHARED, "a", &dev_a),
        0);
    ASSERT_EQ(
        irq.request_irq(line, recording_handler("b", &calls, IRQ_NONE), IRQF_SHARED, "b", &dev_b),
        0);
    ASSERT_EQ(irq.request_irq(line, recording_handler("c", &calls), IRQF_SHARED, "c", &dev_c), 0);
    calls.clear();
    fire(line);
    EXPECT_EQ(calls,
              (Strings{"mask 16", "ack 16", "handler a", "handler b", "handler c", "unmask 16"}));
    EXPECT_EQ(irq.irq_to_desc(line)->irqs_unhandled, 0u) << "the OR of the results was handled";
}

TEST_F(GenirqTest, SharingRefusedWhenTheFirstIsNotSharedWithTheKernelsMessage) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), 0, "a", &dev_a), 0);
    EXPECT_EQ(irq.request_irq(line, recording_handler("b", &calls), IRQF_SHARED, "b", &dev_b),
              -EBUSY);
    EXPECT_EQ(new_messages(),
              (Strings{"genirq: Flags mismatch irq 16. 00000080 (b) vs. 00000000 (a)"}));
    EXPECT_EQ(log.records().back().level, 3) << "pr_err";
}

TEST_F(GenirqTest, SharingRefusedOnTriggerMismatch) {
    irq_chip notype{.name = "notype", .irq_unmask = [](irq_data*) {}};
    unsigned line = new_line(&Irq::handle_level_irq, &notype);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls),
                              IRQF_SHARED | IRQF_TRIGGER_RISING, "a", &dev_a),
              0);
    EXPECT_EQ(irq.request_irq(line, recording_handler("b", &calls),
                              IRQF_SHARED | IRQF_TRIGGER_FALLING, "b", &dev_b),
              -EBUSY);
    EXPECT_EQ(new_messages(),
              (Strings{"genirq: Flags mismatch irq 16. 00000082 (b) vs. 00000081 (a)"}));
}

TEST_F(GenirqTest, SharingRefusedOnOneshotMismatchAndQuietWithProbeShared) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_SHARED | IRQF_ONESHOT, "a",
                              &dev_a),
              0);
    EXPECT_EQ(irq.request_irq(line, recording_handler("b", &calls), IRQF_SHARED, "b", &dev_b),
              -EBUSY);
    EXPECT_EQ(irq.request_irq(line, recording_handler("c", &calls), IRQF_SHARED | IRQF_PROBE_SHARED,
                              "c", &dev_c),
              -EBUSY);
    EXPECT_EQ(new_messages(),
              (Strings{"genirq: Flags mismatch irq 16. 00000080 (b) vs. 00002080 (a)"}))
        << "IRQF_PROBE_SHARED callers expect refusal and get no message";
}

TEST_F(GenirqTest, SharingRefusedOnPerCpunessMismatch) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_SHARED, "a", &dev_a), 0);
    EXPECT_EQ(irq.request_irq(line, recording_handler("b", &calls), IRQF_SHARED | IRQF_PERCPU, "b",
                              &dev_b),
              -EBUSY);
}

TEST_F(GenirqTest, RequestArgumentRules) {
    unsigned line = new_line(&Irq::handle_level_irq);
    EXPECT_EQ(irq.request_irq(line, nullptr, 0, "none", nullptr), -EINVAL)
        << "no handler, no thread";
    EXPECT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_SHARED, "a", nullptr),
              -EINVAL)
        << "shared needs a dev_id";
    EXPECT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_COND_SUSPEND, "a", &dev_a),
              -EINVAL);
    EXPECT_EQ(irq.request_irq(IRQ_NOTCONNECTED, recording_handler("a", &calls), 0, "a", nullptr),
              -ENOTCONN);
    EXPECT_EQ(irq.request_irq(5000, recording_handler("a", &calls), 0, "a", nullptr), -EINVAL);
    EXPECT_EQ(irq.request_irq(3, recording_handler("a", &calls), 0, "a", nullptr), -EINVAL)
        << "legacy descriptors are IRQ_NOREQUEST";
    irq.irq_clear_status_flags(3, IRQ_NOREQUEST);
    EXPECT_EQ(irq.request_irq(3, recording_handler("a", &calls), 0, "a", nullptr), -ENOSYS)
        << "requestable but still on no_irq_chip";
    EXPECT_EQ(new_messages(), Strings{});
}

TEST_F(GenirqTest, ThreadedWithoutHandlerNeedsOneshot) {
    unsigned line = new_line(&Irq::handle_level_irq);
    EXPECT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), 0, "dev", &dev_a), -EINVAL);
    EXPECT_EQ(
        new_messages(),
        (Strings{"genirq: Threaded irq requested with handler=NULL and !ONESHOT for irq 16"}));
    EXPECT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), IRQF_ONESHOT, "dev", &dev_a), 0);
}

TEST_F(GenirqTest, ThreadedWithoutHandlerIsFineOnAOneshotSafeChip) {
    irq_chip safe = fake_chip("msi", &calls, IRQCHIP_ONESHOT_SAFE);
    unsigned line = new_line(&Irq::handle_level_irq, &safe);
    EXPECT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), IRQF_ONESHOT, "dev", &dev_a), 0);
    EXPECT_EQ(irq.irq_to_desc(line)->action->flags & IRQF_ONESHOT, 0u)
        << "ONESHOT dropped: chip is safe";
    EXPECT_FALSE(irq.irq_to_desc(line)->istate & IRQS_ONESHOT);
}

TEST_F(GenirqTest, DisableNestsAndEnableUndoesWithUnbalancedWarning) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), 0, "a", nullptr), 0);
    irq_desc* desc = irq.irq_to_desc(line);
    irq.disable_irq_nosync(line);
    irq.disable_irq_nosync(line);
    EXPECT_EQ(desc->depth, 2u);
    irq.enable_irq(line);
    EXPECT_EQ(desc->depth, 1u);
    EXPECT_TRUE(irqd_irq_disabled(&desc->irq_data)) << "one disable still outstanding";
    irq.enable_irq(line);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_FALSE(irqd_irq_disabled(&desc->irq_data));
    EXPECT_EQ(new_messages(), Strings{});

    irq.enable_irq(line);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_EQ(
        new_messages(),
        (Strings{"------------[ cut here ]------------", "WARNING: CPU: 0 PID: 0 at __enable_irq",
                 "Unbalanced enable for IRQ 16", "---[ end trace 0000000000000001 ]---"}));
}

TEST_F(GenirqTest, DisableIrqWaitsForTheRunningHandler) {
    unsigned line = new_line(&Irq::handle_level_irq);
    std::coroutine_handle<> parked;
    ASSERT_EQ(irq.request_irq(line,
                              irq_handler_t("guest",
                                            [&](unsigned, void*) -> Task<irqreturn_t> {
                                                co_await Park{&parked};
                                                co_return IRQ_HANDLED;
                                            }),
                              0, "guest", nullptr),
              0);
    Task<int> handler_run = irq.generic_handle_irq(line);
    handler_run.start(); // CPU0 runs the guest handler

    irq.set_current_cpu(1);
    Task<void> disabler = irq.disable_irq(line);
    disabler.start();
    EXPECT_FALSE(disabler.done()) << "synchronize_irq waits while the handler runs";
    EXPECT_EQ(irq.irq_to_desc(line)->depth, 1u) << "the disable itself is immediate";

    irq.set_current_cpu(0);
    parked.resume();
    EXPECT_TRUE(handler_run.done());
    EXPECT_FALSE(disabler.done()) << "woken, but resumed by the run loop";
    irq.run_woken();
    EXPECT_TRUE(disabler.done());
}

TEST_F(GenirqTest, FreeIrqRemovesTheActionOfDevIdAndShutsTheLastOneDown) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_SHARED, "a", &dev_a), 0);
    ASSERT_EQ(irq.request_irq(line, recording_handler("b", &calls), IRQF_SHARED, "b", &dev_b), 0);
    irq_desc* desc = irq.irq_to_desc(line);

    EXPECT_EQ(run_sync(irq.free_irq(line, &dev_a)), std::optional<std::string>("a"));
    ASSERT_NE(desc->action, nullptr);
    EXPECT_EQ(desc->action->name, "b");
    EXPECT_EQ(desc->action->next, nullptr);
    EXPECT_EQ(desc->depth, 0u);

    calls.clear();
    EXPECT_EQ(run_sync(irq.free_irq(line, &dev_b)), std::optional<std::string>("b"));
    EXPECT_EQ(desc->action, nullptr);
    EXPECT_EQ(desc->depth, 1u);
    EXPECT_TRUE(irqd_irq_disabled(&desc->irq_data));
    EXPECT_TRUE(irqd_irq_masked(&desc->irq_data));
    EXPECT_FALSE(irqd_is_started(&desc->irq_data));
    EXPECT_EQ(calls, (Strings{"mask 16"}));
}

TEST_F(GenirqTest, FreeIrqOfAnUnknownDevIdWarns) {
    unsigned line = new_line(&Irq::handle_level_irq);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_SHARED, "a", &dev_a), 0);
    EXPECT_EQ(run_sync(irq.free_irq(line, &dev_b)), std::nullopt);
    EXPECT_EQ(
        new_messages(),
        (Strings{"------------[ cut here ]------------", "WARNING: CPU: 0 PID: 0 at __free_irq",
                 "Trying to free already-free IRQ 16", "---[ end trace 0000000000000001 ]---"}));
    EXPECT_NE(irq.irq_to_desc(line)->action, nullptr);
}

TEST_F(GenirqTest, FreeIrqWaitsForTheRunningHandler) {
    unsigned line = new_line(&Irq::handle_level_irq);
    std::coroutine_handle<> parked;
    ASSERT_EQ(irq.request_irq(line,
                              irq_handler_t("guest",
                                            [&](unsigned, void*) -> Task<irqreturn_t> {
                                                co_await Park{&parked};
                                                co_return IRQ_HANDLED;
                                            }),
                              0, "guest", &dev_a),
              0);
    Task<int> handler_run = irq.generic_handle_irq(line);
    handler_run.start();
    irq.set_current_cpu(1);
    Task<std::optional<std::string>> freeing = irq.free_irq(line, &dev_a);
    freeing.start();
    EXPECT_FALSE(freeing.done());
    irq.set_current_cpu(0);
    parked.resume(); // the action was unlinked meanwhile but stays alive for the handler
    EXPECT_TRUE(handler_run.done());
    irq.run_woken();
    ASSERT_TRUE(freeing.done());
    EXPECT_EQ(freeing.result(), std::optional<std::string>("guest"));
}

TEST_F(GenirqTest, SetIrqTypeLevelShowsInTheDescriptor) {
    unsigned line = new_line(&Irq::handle_level_irq);
    EXPECT_EQ(irq.irq_set_irq_type(line, IRQ_TYPE_LEVEL_HIGH), 0);
    EXPECT_EQ(calls, (Strings{"set_type 16 4"}));
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_TRUE(irqd_is_level_type(&desc->irq_data));
    EXPECT_TRUE(desc->status_use_accessors & IRQ_LEVEL);
    EXPECT_EQ(irq.irq_get_trigger_type(line), IRQ_TYPE_LEVEL_HIGH);
    EXPECT_EQ(irq.irq_set_irq_type(line, IRQ_TYPE_EDGE_RISING), 0);
    EXPECT_FALSE(irqd_is_level_type(&desc->irq_data));
}

TEST_F(GenirqTest, FailedSetTypeIsReported) {
    irq_chip picky{.name = "picky", .irq_set_type = [](irq_data*, unsigned) { return -EINVAL; }};
    unsigned line = new_line(&Irq::handle_level_irq, &picky);
    EXPECT_EQ(irq.irq_set_irq_type(line, IRQ_TYPE_EDGE_BOTH), -EINVAL);
    EXPECT_EQ(new_messages(),
              (Strings{"genirq: Setting trigger mode 3 for irq 16 failed (picky.irq_set_type)"}));
}

TEST_F(GenirqTest, OneshotThreadKeepsTheLineMaskedUntilFinalized) {
    unsigned line = new_line(&Irq::handle_level_irq);
    std::vector<irqaction*> woken;
    irq.hooks().wake_up_process = [&](irqaction& a) { woken.push_back(&a); };
    ASSERT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), IRQF_ONESHOT, "dev", &dev_a), 0);
    irq_desc* desc = irq.irq_to_desc(line);
    irqaction* action = desc->action;
    EXPECT_EQ(action->thread_mask, 1u);
    EXPECT_EQ(action->handler.name, "irq_default_primary_handler");
    calls.clear();

    fire(line);
    EXPECT_EQ(calls, (Strings{"mask 16", "ack 16"})) << "no unmask: the thread holds the line";
    EXPECT_EQ(desc->threads_oneshot, 1u);
    EXPECT_EQ(desc->threads_active, 1);
    EXPECT_TRUE(test_bit(IRQTF_RUNTHREAD, action->thread_flags));
    EXPECT_EQ(woken, (std::vector<irqaction*>{action}));

    // What irq_thread() does (tasks layer): take RUNTHREAD, run, finalize, done.
    test_and_clear_bit(IRQTF_RUNTHREAD, &action->thread_flags);
    desc->threads_handled++;
    calls.clear();
    run_sync(irq.irq_finalize_oneshot(desc, action));
    EXPECT_EQ(calls, (Strings{"unmask 16"}));
    EXPECT_EQ(desc->threads_oneshot, 0u);
    irq.wake_threads_waitq(desc);
    EXPECT_EQ(desc->threads_active, 0);
}

TEST_F(GenirqTest, SharedOneshotActionsGetTheirOwnThreadMaskBits) {
    unsigned line = new_line(&Irq::handle_level_irq);
    unsigned long f = IRQF_SHARED | IRQF_ONESHOT;
    ASSERT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), f, "a", &dev_a), 0);
    ASSERT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), f, "b", &dev_b), 0);
    ASSERT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), f, "c", &dev_c), 0);
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->action->thread_mask, 1u);
    EXPECT_EQ(desc->action->next->thread_mask, 2u);
    EXPECT_EQ(desc->action->next->next->thread_mask, 4u);
    fire(line);
    EXPECT_EQ(desc->threads_oneshot, 7u);
    EXPECT_EQ(desc->threads_active, 3);
}

TEST_F(GenirqTest, WakeThreadAgainWhileRunthreadIsSetIsNotCountedTwice) {
    unsigned line = new_line(&Irq::handle_edge_irq);
    ASSERT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), IRQF_ONESHOT, "dev", &dev_a), 0);
    fire(line);
    irq.irq_wake_thread(line, &dev_a);
    EXPECT_EQ(irq.irq_to_desc(line)->threads_active, 1);
}

TEST_F(GenirqTest, SynchronizeIrqWaitsForActiveThreads) {
    unsigned line = new_line(&Irq::handle_edge_irq);
    ASSERT_EQ(irq.request_threaded_irq(line, nullptr, thread_fn(), IRQF_ONESHOT, "dev", &dev_a), 0);
    fire(line);
    Task<void> sync = irq.synchronize_irq(line);
    sync.start();
    EXPECT_FALSE(sync.done());
    irq_desc* desc = irq.irq_to_desc(line);
    test_and_clear_bit(IRQTF_RUNTHREAD, &desc->action->thread_flags);
    irq.wake_threads_waitq(desc);
    irq.run_woken();
    EXPECT_TRUE(sync.done());
}

TEST_F(GenirqTest, PercpuFreeWhileEnabledWarnsAndKeepsTheAction) {
    unsigned line = new_line(&Irq::handle_percpu_devid_irq);
    ASSERT_EQ(irq.irq_set_percpu_devid(line), 0);
    int pcpu[4] = {};
    percpu_ptr id{&pcpu[0], sizeof pcpu[0]};
    ASSERT_EQ(irq.request_percpu_irq(line, recording_handler("t", &calls), "t", id), 0);
    EXPECT_EQ(irq.request_irq(line, recording_handler("x", &calls), 0, "x", nullptr), -EINVAL);
    irq.set_current_cpu(3);
    irq.enable_percpu_irq(line, 0);
    irq.free_percpu_irq(line, id);
    Strings m = new_messages();
    ASSERT_GE(m.size(), 3u);
    EXPECT_EQ(m[m.size() - 2], "percpu IRQ 16 still enabled on CPU3!");
    EXPECT_NE(irq.irq_to_desc(line)->action, nullptr);
    irq.disable_percpu_irq(line);
    irq.free_percpu_irq(line, id);
    EXPECT_EQ(irq.irq_to_desc(line)->action, nullptr);
}

TEST_F(GenirqTest, NoAutoenLineStaysOffUntilEnableIrq) {
    unsigned line = new_line(&Irq::handle_level_irq);
    irq.irq_set_status_flags(line, IRQ_NOAUTOEN);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), 0, "a", nullptr), 0);
    irq_desc* desc = irq.irq_to_desc(line);
    EXPECT_EQ(desc->depth, 1u);
    EXPECT_FALSE(irqd_is_started(&desc->irq_data));
    EXPECT_EQ(calls, Strings{});
    irq.enable_irq(line);
    EXPECT_EQ(desc->depth, 0u);
    EXPECT_TRUE(irqd_is_started(&desc->irq_data));
    EXPECT_EQ(calls, (Strings{"unmask 16"}));
}

TEST_F(GenirqTest, CanRequestIrqFollowsSharing) {
    unsigned line = new_line(&Irq::handle_level_irq);
    EXPECT_EQ(irq.can_request_irq(line, 0), 1);
    ASSERT_EQ(irq.request_irq(line, recording_handler("a", &calls), IRQF_SHARED, "a", &dev_a), 0);
    EXPECT_EQ(irq.can_request_irq(line, 0), 0);
    EXPECT_EQ(irq.can_request_irq(line, IRQF_SHARED), 1);
    EXPECT_EQ(irq.can_request_irq(3, 0), 0);
}

TEST_F(GenirqTest, NestedThreadLinesNeedAThreadAndNeverRunThePrimary) {
    unsigned line = new_line(&Irq::handle_simple_irq);
    irq.irq_set_status_flags(line, IRQ_NESTED_THREAD);
    EXPECT_EQ(irq.request_irq(line, recording_handler("a", &calls), 0, "a", nullptr), -EINVAL);
    ASSERT_EQ(irq.request_threaded_irq(line, recording_handler("a", &calls), thread_fn(), 0, "a",
                                       nullptr),
              0);
    EXPECT_EQ(irq.irq_to_desc(line)->action->handler.name, "irq_nested_primary_handler");
    calls.clear();
    fire(line);
    EXPECT_EQ(calls, Strings{}) << "the driver's primary handler is replaced";
    Strings m = new_messages();
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[2], "Primary handler called for nested irq 16");
    EXPECT_EQ(irq.irq_to_desc(line)->irqs_unhandled, 1u) << "it returned IRQ_NONE";
}
