// The kernel model on a whole machine: device -> ARMCTRL -> local controller -> core
// IRQ line -> bcm2836_arm_irqchip_handle_irq -> chained handler -> handle_level_irq ->
// the action, with Raspbian 4.14's irq numbers and preempt_count values.
#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kernel/kernel_model.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/machine.hpp"

using namespace piemu;
using namespace piemu::kernel;

namespace {

std::unique_ptr<Machine> make(const char* board, uint64_t duration_ns) {
    MachineOptions o;
    o.board = board;
    o.uart = "none";
    o.kernel_model = true;
    o.duration_ns = duration_ns;
    auto m = Machine::create(o);
    EXPECT_FALSE(m.is_error()) << (m.is_error() ? m.error().message : "");
    return m.release_value();
}

} // namespace

TEST(KernelModel, RaspbianNumberingOnBothBoards) {
    for (const char* board : {"raspi2b", "raspi3b"}) {
        SCOPED_TRACE(board);
        auto m = make(board, 0);
        Bcm2836Irqchip& chip = m->kernel_model()->irqchip();
        EXPECT_EQ(chip.local_irq(0), 16u); // CNTPS
        EXPECT_EQ(chip.local_irq(1), 17u); // CNTPNS
        EXPECT_EQ(chip.local_irq(2), 18u); // CNTHP
        EXPECT_EQ(chip.local_irq(3), 19u); // CNTV
        EXPECT_EQ(chip.local_irq(8), 20u); // GPU
        EXPECT_EQ(chip.local_irq(9), 21u); // PMU
        EXPECT_EQ(chip.armctrl_irq(0, 0), 22u);
        EXPECT_EQ(chip.armctrl_irq(0, 1), 23u); // mailbox: "3f00b880.mailbox"
        EXPECT_EQ(chip.armctrl_irq(1, 0), 30u);
        EXPECT_EQ(chip.armctrl_irq(2, 0), 62u);  // dwc_otg (hwirq 64)
        EXPECT_EQ(chip.armctrl_irq(2, 24), 86u); // sdhost (hwirq 88): mmc0
        EXPECT_EQ(chip.armctrl_irq(2, 25), 87u); // PL011 (hwirq 89)
        EXPECT_EQ(chip.armctrl_irq(2, 30), 92u); // EMMC (hwirq 94): mmc1
        EXPECT_EQ(chip.armctrl_irq(2, 31), 93u);
        irq_desc* uart = m->kernel_model()->irq().irq_to_desc(87);
        ASSERT_NE(uart, nullptr);
        EXPECT_EQ(uart->irq_data.chip->name, "ARMCTRL-level");
        EXPECT_EQ(uart->irq_data.hwirq, 89u);
    }
}

// A built-in handler on the system timer's match 1 (GPU IRQ 1, ARMCTRL bank 1 bit 1
// = Linux irq 31) interrupting the idle task sees preempt_count 0x00010001:
// HARDIRQ_OFFSET on top of the idle loop's own preempt_disable() (the idle task runs
// with preemption disabled, as after rest_init's schedule_preempt_disabled()); the
// idle task outside it sees 1. The count is read from the idle task's thread_info.
TEST(KernelModel, BuiltInHandlerRunsInHardIrqContext) {
    auto m = make("raspi2b", 5'000'000); // 5 ms
    KernelModel& km = *m->kernel_model();
    Irq& irq = km.irq();
    struct Seen {
        unsigned calls = 0;
        uint32_t preempt = 0;
        bool in_irq = false, in_interrupt = false;
    } seen;
    constexpr uint32_t kSystimer = 0x3f003000;
    int rc = irq.request_irq(
        31,
        irq_handler_t("systimer_test_irq",
                      [&](unsigned, void*) -> Task<irqreturn_t> {
                          ++seen.calls;
                          seen.preempt = irq.preempt_count();
                          seen.in_irq = piemu::kernel::in_irq(seen.preempt);
                          seen.in_interrupt = piemu::kernel::in_interrupt(seen.preempt);
                          m->bus().mmio_write(kSystimer + 0x00, 1u << 1, 4); // CS: clear M1
                          co_return IRQ_HANDLED;
                      }),
        0, "systimer", &seen);
    ASSERT_EQ(rc, 0);
    // C1 = now + 1000 us.
    uint32_t clo = m->bus().mmio_read(kSystimer + 0x04, 4);
    m->bus().mmio_write(kSystimer + 0x10, clo + 1000, 4);
    m->start_idle();
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::Duration);
    EXPECT_EQ(seen.calls, 1u);
    EXPECT_EQ(seen.preempt, 0x00010001u);
    EXPECT_TRUE(seen.in_irq);
    EXPECT_TRUE(seen.in_interrupt);
    EXPECT_EQ(irq.preempt_count(), 1u) << "outside the handler";
    const task_struct* idle = km.current(0);
    EXPECT_EQ(idle->comm, "swapper/0");
    uint32_t ti_preempt = 0;
    ASSERT_TRUE(m->bus().read32(idle->stack + 4, ti_preempt));
    EXPECT_EQ(ti_preempt, 1u) << "thread_info->preempt_count in guest memory";
    EXPECT_EQ(irq.kstat_irqs_cpu(31, 0), 1u);
    // HZ=100: no arch_timer tick before 10 ms.
    EXPECT_EQ(irq.kstat_irqs_cpu(17, 0), 0u);
    // Four CPU columns (smp_init brought every core up); GPU interrupts go to CPU 0.
    EXPECT_NE(irq.show_interrupts().find(" 31:          1          0          0          0  "
                                         "ARMCTRL-level  33 Edge      systimer\n"),
              std::string::npos)
        << irq.show_interrupts();
}

TEST(KernelModel, ArchTimerTicksAtHz) {
    // 1.005 s: the 100th tick (at 1 s) must also have been handled, after its
    // exception entry and the vector page's __irq_svc.
    auto m = make("raspi2b", 1'005'000'000);
    m->start_idle();
    m->run();
    EXPECT_EQ(m->kernel_model()->ticks(), 100u);
    EXPECT_EQ(m->kernel_model()->irq().kstat_irqs_cpu(17, 0), 100u);
    EXPECT_EQ(m->kernel_model()->irq().kstat_irqs_cpu(16, 0), 0u);
    EXPECT_NE(m->kernel_model()->log().dmesg().find(
                  "arch_timer: cp15 timer(s) running at 19.20MHz (phys)."),
              std::string::npos);
}

TEST(KernelModel, UartDriverReceivesByInterrupt) {
    MachineOptions o;
    o.uart = "none";
    o.kernel_model = true;
    o.duration_ns = 20'000'000;
    char path[] = "/tmp/piemu-uart-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "piemu\n", 6), 6);
    close(fd);
    o.uart_input = path;
    auto created = Machine::create(o);
    ASSERT_FALSE(created.is_error()) << created.error().message;
    auto m = created.release_value();
    m->start_idle();
    m->run();
    unlink(path);
    EXPECT_EQ(m->kernel_model()->uart_received(), "piemu\n");
    EXPECT_GE(m->kernel_model()->irq().kstat_irqs_cpu(87, 0), 1u);
}

// Without a console on the UART, the log's warnings and worse go to stderr (a user
// sees them); an embedder can turn that off (the syscall fuzzer: a guest that oopses
// in a loop wrote gigabytes there).
TEST(KernelModel, WarningsGoToStderrWithoutAConsoleUnlessTurnedOff) {
    for (bool mirrored : {true, false}) {
        SCOPED_TRACE(mirrored);
        MachineOptions o;
        o.uart = "none";
        o.kernel_model = true;
        o.kernel_warnings_to_stderr = mirrored;
        auto created = Machine::create(o);
        ASSERT_FALSE(created.is_error()) << created.error().message;
        auto m = created.release_value();
        testing::internal::CaptureStderr();
        m->kernel_model()->log().log(KERN_WARNING, "test: a warning\n");
        m->kernel_model()->log().log(KERN_INFO, "test: some information\n");
        std::string err = testing::internal::GetCapturedStderr();
        EXPECT_EQ(err.find("] test: a warning\n") != std::string::npos, mirrored) << err;
        EXPECT_EQ(err.find("some information"), std::string::npos) << err;
        // The log itself has both either way.
        EXPECT_NE(m->kernel_model()->log().dmesg().find("test: some information"),
                  std::string::npos);
    }
}
