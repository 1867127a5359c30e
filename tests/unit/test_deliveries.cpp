// Interrupt deliveries counted at the controllers (DeliveryCounts, `piemu interrupts`
// without the kernel model): what counts as a delivery at ARMCTRL and at the BCM2836
// local controller - a rise of "input high AND enabled AND routed to the core" - with
// exact counts for each case, the table's format, and bare guests whose own count of
// handler runs the table must equal.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "devices/bcm2835_armctrl.hpp"
#include "devices/bcm2836_local_intc.hpp"
#include "piemu/deliveries.hpp"
#include "piemu/machine.hpp"

using namespace piemu;

namespace {

constexpr uint64_t kHz = 76'800'000;
// ARMCTRL registers.
constexpr uint32_t kEnable1 = 0x10, kEnableBasic = 0x18, kDisable1 = 0x1c, kFiqControl = 0x0c;
// Local controller registers.
constexpr uint32_t kGpuRouting = 0x0c, kTimerCtl = 0x40, kMboxCtl = 0x50;
constexpr uint32_t mbox_set(unsigned core, unsigned m) {
    return 0x80 + 0x10 * core + 4 * m;
}
constexpr uint32_t mbox_clr(unsigned core, unsigned m) {
    return 0xc0 + 0x10 * core + 4 * m;
}

class DeliveriesTest : public ::testing::Test {
protected:
    VirtualClock clock{kHz};
    Bcm2835Armctrl armctrl{"armctrl"};
    Bcm2836LocalIntc local{"local_intc", clock};
    DeliveryCounts counts{4};

    void SetUp() override {
        // As the board wires them: ARMCTRL's outputs are the GPU IRQ and FIQ inputs.
        armctrl.irq_out().connect(&local.irq_sink(), Bcm2836LocalIntc::kInputGpuIrq);
        armctrl.fiq_out().connect(&local.irq_sink(), Bcm2836LocalIntc::kInputGpuFiq);
        counts.add_controller(armctrl, "armctrl", [this](bool fiq) { return local.gpu_core(fiq); });
        counts.add_controller(local, "local_intc");
    }
    void gpu(unsigned n, bool level) { armctrl.irq_sink().set_irq_input(n, level); }
    void arm(unsigned b, bool level) {
        armctrl.irq_sink().set_irq_input(Bcm2835Armctrl::kInputArm + b, level);
    }
    void timer(unsigned core, unsigned t, bool level) {
        local.irq_sink().set_irq_input(Bcm2836LocalIntc::input(core, t), level);
    }
    uint64_t n(const char* ctl, unsigned hwirq, unsigned core, int bit = -1, bool fiq = false) {
        return counts.count(ctl, hwirq, bit, fiq, core);
    }
};

TEST_F(DeliveriesTest, ArmctrlCountsRisesOfLevelAndEnable) {
    gpu(57, true); // the PL011's line, disabled: no delivery
    EXPECT_EQ(n("armctrl", 89, 0), 0u);
    armctrl.write(kEnable1 + 4, 1u << 25, 4); // enable 2: GPU 57, Linux hwirq 32 + 57
    EXPECT_EQ(n("armctrl", 89, 0), 1u);
    EXPECT_TRUE(counts.pending("armctrl", 89, -1, false, 0));
    gpu(57, true); // no change of level: nothing
    EXPECT_EQ(n("armctrl", 89, 0), 1u);
    gpu(57, false);
    EXPECT_FALSE(counts.pending("armctrl", 89, -1, false, 0));
    gpu(57, true);
    EXPECT_EQ(n("armctrl", 89, 0), 2u);
    // Masked and unmasked while high, as handle_level_irq() does with a line its
    // handler did not clear: delivered again.
    armctrl.write(kDisable1 + 4, 1u << 25, 4);
    EXPECT_FALSE(counts.pending("armctrl", 89, -1, false, 0));
    armctrl.write(kEnable1 + 4, 1u << 25, 4);
    EXPECT_EQ(n("armctrl", 89, 0), 3u);
    // A second source while the output is already high is a delivery of its own.
    armctrl.write(kEnable1, 1u << 3, 4);
    gpu(3, true);
    EXPECT_EQ(n("armctrl", 35, 0), 1u);
    EXPECT_EQ(n("armctrl", 89, 0), 3u);
    // The aggregate at the local controller (its GPU input, hwirq 8) rose at each
    // delivery of GPU 57 but not at GPU 3's, which came while it was high.
    EXPECT_EQ(n("local_intc", 8, 0), 3u);
    // An ARM basic source: hwirq = its bit.
    armctrl.write(kEnableBasic, 1u << 1, 4);
    arm(1, true);
    EXPECT_EQ(n("armctrl", 1, 0), 1u);
    EXPECT_EQ(n("armctrl", 1, 1), 0u);
}

TEST_F(DeliveriesTest, ArmctrlDeliveriesGoToTheCoreTheGpuRoutingNames) {
    local.write(kGpuRouting, 2, 4); // GPU IRQ to core 2
    armctrl.write(kEnable1, 1u << 1, 4);
    gpu(1, true);
    gpu(1, false);
    local.write(kGpuRouting, 3, 4);
    gpu(1, true);
    EXPECT_EQ(n("armctrl", 33, 0), 0u);
    EXPECT_EQ(n("armctrl", 33, 2), 1u);
    EXPECT_EQ(n("armctrl", 33, 3), 1u);
    EXPECT_EQ(n("local_intc", 8, 2), 1u);
    EXPECT_EQ(n("local_intc", 8, 3), 1u);
    EXPECT_TRUE(counts.pending("armctrl", 33, -1, false, 3));
}

TEST_F(DeliveriesTest, ArmctrlFiqIsTheSelectedSourcesLevel) {
    gpu(9, true);
    armctrl.write(kFiqControl, 0x80 | 9, 4); // FIQ from GPU 9, its IRQ enable off
    EXPECT_EQ(n("armctrl", 41, 0, -1, true), 1u);
    EXPECT_EQ(n("armctrl", 41, 0), 0u);
    EXPECT_EQ(n("local_intc", 8, 0, -1, true), 1u);
    gpu(9, false);
    gpu(9, true);
    EXPECT_EQ(n("armctrl", 41, 0, -1, true), 2u);
}

TEST_F(DeliveriesTest, LocalTimersCountPerCoreAsIrqOrFiq) {
    local.write(kTimerCtl + 4 * 1, 1u << 3, 4); // core 1: CNTV as IRQ
    timer(1, 3, true);
    timer(1, 3, false);
    timer(1, 3, true);
    timer(2, 3, true); // core 2's CNTV is not enabled
    EXPECT_EQ(n("local_intc", 3, 1), 2u);
    EXPECT_EQ(n("local_intc", 3, 2), 0u);
    local.write(kTimerCtl + 4 * 2, 1u << 3, 4); // enabled while high: delivered
    EXPECT_EQ(n("local_intc", 3, 2), 1u);
    // FIQ wins: moving core 1's CNTV (still high) to FIQ is a FIQ delivery.
    local.write(kTimerCtl + 4 * 1, (1u << 3) | (1u << 7), 4);
    EXPECT_EQ(n("local_intc", 3, 1, -1, true), 1u);
    EXPECT_EQ(n("local_intc", 3, 1), 2u);
    EXPECT_FALSE(counts.pending("local_intc", 3, -1, false, 1));
    EXPECT_TRUE(counts.pending("local_intc", 3, -1, true, 1));
}

// Linux's IPIs: bit n of mailbox 0 is IPI n; the handler takes the lowest set bit and
// clears it, so each bit's rise is one handler call, and a bit set again while still
// set is not.
TEST_F(DeliveriesTest, MailboxBitsCountAsIpis) {
    local.write(kMboxCtl + 4 * 3, 1u << 0, 4); // core 3: mailbox 0 as IRQ
    local.write(mbox_set(3, 0), 1u << 2, 4);
    local.write(mbox_set(3, 0), 1u << 2, 4); // already set: coalesced
    local.write(mbox_set(3, 0), 1u << 0, 4);
    EXPECT_EQ(n("local_intc", 4, 3), 1u); // the mailbox became non-zero once
    EXPECT_EQ(n("local_intc", 4, 3, 2), 1u);
    EXPECT_EQ(n("local_intc", 4, 3, 0), 1u);
    local.write(mbox_clr(3, 0), 1u << 0, 4);
    local.write(mbox_set(3, 0), 1u << 0, 4);
    EXPECT_EQ(n("local_intc", 4, 3, 0), 2u);
    local.write(mbox_clr(3, 0), ~0u, 4);
    EXPECT_FALSE(counts.pending("local_intc", 4, -1, false, 3));
    EXPECT_FALSE(counts.pending("local_intc", 4, 2, false, 3));
    // A disabled mailbox delivers nothing: core 1's mailbox 0 control is 0.
    local.write(mbox_set(1, 0), 1u << 1, 4);
    EXPECT_EQ(n("local_intc", 4, 1), 0u);
    EXPECT_EQ(n("local_intc", 4, 1, 1), 0u);
    // Enabled with the bit set: delivered then.
    local.write(kMboxCtl + 4 * 1, 1u << 0, 4);
    EXPECT_EQ(n("local_intc", 4, 1, 1), 1u);
    EXPECT_EQ(n("local_intc", 4, 1), 1u);
}

TEST_F(DeliveriesTest, TableFormat) {
    counts.add_source(armctrl, 89, "serial@7e201000");
    counts.add_source(local, 3, "cntv");
    counts.add_source(local, 4, "mailbox0");
    armctrl.write(kEnable1 + 4, 1u << 25, 4);
    gpu(57, true);
    local.write(kTimerCtl, 1u << 3, 4);
    timer(0, 3, true);
    timer(0, 3, false);
    local.write(kMboxCtl + 4 * 1, 1u << 0, 4);
    local.write(mbox_set(1, 0), 1u << 2, 4);
    EXPECT_EQ(counts.show(1'500'000'000),
              "piemu: interrupt deliveries at the controllers, 1.500000000 s\n"
              "controller  hwirq       CPU0        CPU1        CPU2        CPU3  pin  source\n"
              "armctrl        89          1+          0           0           0  IRQ  "
              "serial@7e201000\n"
              "local_intc      3          1           0           0           0  IRQ  cntv\n"
              "local_intc      4          0           1+          0           0  IRQ  mailbox0\n"
              "local_intc    4.2          0           1+          0           0  IRQ  mailbox0 "
              "bit 2\n"
              "local_intc      8          1+          0           0           0  IRQ  -\n");
}

#ifdef PIEMU_TEST_FIRMWARE_DIR
std::unique_ptr<Machine> run_bare(const char* image) {
    MachineOptions o;
    o.uart = "none";
    auto made = Machine::create(o);
    EXPECT_FALSE(made.is_error()) << made.error().message;
    auto m = made.release_value();
    EXPECT_FALSE(m->load(image, std::nullopt).is_error());
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::GuestExit);
    return m;
}

// irq_systimer takes 3 interrupts (tests/expected/irq_systimer.uart: "irqs taken: 3"):
// C1, C3, and C3 again after it matched with its line disabled and was enabled.
TEST(DeliveriesBare, SystemTimerGuestCountsEqualItsHandlerRuns) {
    auto m = run_bare(PIEMU_TEST_FIRMWARE_DIR "/irq_systimer.elf");
    const DeliveryCounts& d = m->deliveries();
    EXPECT_EQ(d.count("armctrl", 33, -1, false, 0), 1u); // GPU IRQ 1: C1
    EXPECT_EQ(d.count("armctrl", 35, -1, false, 0), 2u); // GPU IRQ 3: C3
    EXPECT_EQ(d.count("local_intc", 8, -1, false, 0), 3u);
    EXPECT_EQ(d.count("armctrl", 89, -1, false, 0), 0u); // the PL011's, never enabled
    std::string table = d.show(0);
    EXPECT_NE(table.find("armctrl        35          2 "), std::string::npos) << table;
    EXPECT_NE(table.find("timer@7e003000 irq3"), std::string::npos) << table;
    EXPECT_NE(table.find("serial@7e201000"), std::string::npos) << table;
    EXPECT_NE(table.find("local_intc      3          0 "), std::string::npos) << table;
}

// irq_mailbox takes 2 (tests/expected/irq_mailbox.uart): the mailbox becomes non-zero
// while CPSR.I is set (delivered then, taken at the unmask) and again later.
TEST(DeliveriesBare, MailboxGuestCountsEqualItsHandlerRuns) {
    auto m = run_bare(PIEMU_TEST_FIRMWARE_DIR "/irq_mailbox.elf");
    const DeliveryCounts& d = m->deliveries();
    EXPECT_EQ(d.count("local_intc", 4, -1, false, 0), 2u);
    // 0xa5c30000, then 0x0000f00f (cleared again before the handler), then the whole
    // 0xa5c3f00f: bit 16 rose twice, bit 0 twice, bit 4 never.
    EXPECT_EQ(d.count("local_intc", 4, 16, false, 0), 2u);
    EXPECT_EQ(d.count("local_intc", 4, 0, false, 0), 2u);
    EXPECT_EQ(d.count("local_intc", 4, 4, false, 0), 0u);
}
#endif

} // namespace
