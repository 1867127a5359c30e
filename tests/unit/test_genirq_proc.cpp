// /proc/interrupts byte for byte: the Raspberry Pi 3 table of Raspbian 4.14 (the
// reference's 4-CPU snapshot, tests/golden/proc_interrupts_rpi3.txt) rebuilt the way
// the kernel builds it: the bcm2836 local controller's per-CPU lines mapped first
// (16..21), the ARMCTRL banks after (22..93), drivers requesting their lines, the
// counts produced by delivering that many interrupts, the IPI counters, and the FIQ
// claimed by the USB driver. Also the width rules of the first column.
#include <array>
#include <fstream>
#include <sstream>

#include "test_genirq_fixture.hpp"

using namespace genirq_test;

namespace {

std::string read_golden(const char* name) {
    std::ifstream in(std::string(PIEMU_TEST_DATA_DIR) + "/../golden/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Task<irqreturn_t> handled(unsigned, void*) {
    co_return IRQ_HANDLED;
}
Task<irqreturn_t> not_mine(unsigned, void*) {
    co_return IRQ_NONE;
}

} // namespace

class ProcInterruptsTest : public GenirqTest {
protected:
    // The chips of irq-bcm2836.c and irq-bcm2835.c (4.14): no irq_set_type, so no
    // line is marked level and every row says "Edge" (the reference's "ARMCTRL-level
    // yet Edge" puzzle).
    irq_chip timer{
        .name = "bcm2836-timer", .irq_mask = [](irq_data*) {}, .irq_unmask = [](irq_data*) {}};
    irq_chip pmu{
        .name = "bcm2836-pmu", .irq_mask = [](irq_data*) {}, .irq_unmask = [](irq_data*) {}};
    irq_chip gpu{
        .name = "bcm2836-gpu", .irq_mask = [](irq_data*) {}, .irq_unmask = [](irq_data*) {}};
    irq_chip armctrl_chip{
        .name = "ARMCTRL-level", .irq_mask = [](irq_data*) {}, .irq_unmask = [](irq_data*) {}};
    irq_domain* local = nullptr;
    irq_domain* armctrl = nullptr;
    std::array<int, 4> timer_dev{}, pmu_dev{};
    int dwc_otg = 0, pcd = 0, hcd = 0, mmc1 = 0;

    void local_line(irq_hw_number_t hw, irq_chip* c) {
        unsigned virq = irq.irq_create_mapping(local, hw);
        irq.irq_set_percpu_devid(virq);
        irq.irq_set_chip_and_handler(virq, c, &Irq::handle_percpu_devid_irq);
        irq.irq_set_status_flags(virq, IRQ_NOAUTOEN);
    }
    void percpu_request(unsigned virq, const char* name, std::array<int, 4>& dev) {
        ASSERT_EQ(irq.request_percpu_irq(virq, irq_handler_t("percpu_handler", &handled), name,
                                         percpu_ptr{&dev[0], sizeof dev[0]}),
                  0);
        for (unsigned cpu = 0; cpu < 4; cpu++) {
            irq.set_current_cpu(cpu);
            irq.enable_percpu_irq(virq, IRQ_TYPE_NONE);
        }
        irq.set_current_cpu(0);
    }
    void request(irq_hw_number_t hw, const char* name, unsigned long flags = 0, void* dev = nullptr,
                 irq_handler_t::fn_type h = &handled) {
        unsigned virq = irq.irq_find_mapping(armctrl, hw);
        ASSERT_EQ(irq.request_irq(virq, irq_handler_t("drv_irq", std::move(h)), flags, name, dev),
                  0)
            << name;
    }
    void deliver(irq_domain* d, irq_hw_number_t hw, unsigned cpu, unsigned n) {
        irq.set_current_cpu(cpu);
        for (unsigned i = 0; i < n; i++)
            ASSERT_EQ(run_sync(irq.handle_domain_irq(d, hw, nullptr)), 0);
        irq.set_current_cpu(0);
    }

    void build_raspbian_414_table() {
        // bcm2836_arm_irqchip_l1_intc_of_init(): local hwirqs 0-3 (timers), 8 (GPU), 9 (PMU).
        local =
            irq.irq_domain_add_linear(nullptr, 10, {.xlate = irq_domain_xlate_onecell}, nullptr);
        for (irq_hw_number_t hw : {0u, 1u, 2u, 3u})
            local_line(hw, &timer);
        local_line(8, &gpu);
        local_line(9, &pmu);
        // armctrl_of_init(): bank 0 (8 basic irqs), banks 1 and 2 (32 each).
        armctrl = irq.irq_domain_add_linear(nullptr, 96, {}, nullptr);
        for (irq_hw_number_t bank = 0; bank < 3; bank++)
            for (irq_hw_number_t i = 0; i < (bank == 0 ? 8u : 32u); i++) {
                unsigned virq = irq.irq_create_mapping(armctrl, bank * 32 + i);
                irq.irq_set_chip_and_handler(virq, &armctrl_chip, &Irq::handle_level_irq);
            }
        // ... and chains itself behind the local controller's GPU line.
        irq.irq_set_chained_handler_and_data(
            irq.irq_find_mapping(local, 8),
            irq_flow_handler_t("bcm2836_chained_handle_irq",
                               [](irq_desc*) -> Task<void> { co_return; }),
            nullptr);

        // Drivers, in probe order.
        percpu_request(irq.irq_find_mapping(local, 0), "arch_timer", timer_dev);
        percpu_request(irq.irq_find_mapping(local, 1), "arch_timer", timer_dev);
        percpu_request(irq.irq_find_mapping(local, 9), "arm-pmu", pmu_dev);
        request(1, "3f00b880.mailbox");
        request(2, "VCHIQ doorbell");
        request(48, "bcm2708_fb dma");
        for (irq_hw_number_t hw : {50u, 52u, 53u, 56u})
            request(hw, "DMA IRQ");
        request(61, "bcm2835-auxirq");
        request(64, "dwc_otg", IRQF_SHARED, &dwc_otg, &not_mine);
        request(64, "dwc_otg_pcd", IRQF_SHARED, &pcd, &not_mine);
        request(64, "dwc_otg_hcd:usb1", IRQF_SHARED, &hcd);
        request(88, "mmc0");
        request(89, "uart-pl011");
        ASSERT_EQ(irq.request_threaded_irq(irq.irq_find_mapping(armctrl, 94),
                                           irq_handler_t("bcm2835_mmc_irq", &handled),
                                           irq_handler_t("bcm2835_mmc_thread_irq", &handled),
                                           IRQF_SHARED, "mmc1", &mmc1),
                  0);
        ASSERT_EQ(irq.claim_fiq("usb_fiq"), 0);

        // The counts of the snapshot: timers on every CPU, GPU interrupts on CPU0.
        const std::array<unsigned, 4> timer17 = {4121, 3242, 3184, 3630};
        for (unsigned cpu = 0; cpu < 4; cpu++)
            deliver(local, 1, cpu, timer17[cpu]);
        const std::pair<irq_hw_number_t, unsigned> gpu_counts[] = {
            {1, 158},     {2, 14},   {48, 21},   {53, 286}, {56, 6724},
            {64, 125072}, {88, 248}, {89, 5123}, {94, 8397}};
        for (const auto& [hw, n] : gpu_counts)
            deliver(armctrl, hw, 0, n);
        const std::array<std::array<unsigned, 4>, NR_IPI> ipis = {{{0, 0, 0, 0},
                                                                   {0, 0, 0, 0},
                                                                   {9286, 13398, 12189, 15007},
                                                                   {8, 14, 11, 6},
                                                                   {0, 0, 0, 0},
                                                                   {219, 113, 205, 225},
                                                                   {0, 0, 0, 0}}};
        for (unsigned ipi = 0; ipi < NR_IPI; ipi++)
            for (unsigned cpu = 0; cpu < 4; cpu++)
                for (unsigned i = 0; i < ipis[ipi][cpu]; i++)
                    irq.inc_ipi_stat(cpu, ipi);
    }
};

TEST_F(ProcInterruptsTest, RaspbianPi3TableByteForByte) {
    build_raspbian_414_table();
    std::string golden = read_golden("proc_interrupts_rpi3.txt");
    ASSERT_FALSE(golden.empty()) << "tests/golden/proc_interrupts_rpi3.txt missing";
    EXPECT_EQ(irq.show_interrupts(), golden);
    EXPECT_EQ(irq.nr_irqs(), 94u);
    EXPECT_EQ(irq.irq_err_count(), 0u);
}

TEST_F(ProcInterruptsTest, HeaderHasElevenSpacesAndOneColumnPerOnlineCpu) {
    std::string s = irq.show_interrupts();
    EXPECT_EQ(s.substr(0, s.find('\n')), "           CPU0       CPU1       CPU2       CPU3       ");
    irq.set_cpu_online(2, false);
    s = irq.show_interrupts();
    EXPECT_EQ(s.substr(0, s.find('\n')), "           CPU0       CPU1       CPU3       ");
}

TEST_F(ProcInterruptsTest, EmptyMachineShowsOnlyTheArmRows) {
    EXPECT_EQ(irq.show_interrupts(),
              "           CPU0       CPU1       CPU2       CPU3       \n"
              "IPI0:          0          0          0          0  CPU wakeup interrupts\n"
              "IPI1:          0          0          0          0  Timer broadcast interrupts\n"
              "IPI2:          0          0          0          0  Rescheduling interrupts\n"
              "IPI3:          0          0          0          0  Function call interrupts\n"
              "IPI4:          0          0          0          0  CPU stop interrupts\n"
              "IPI5:          0          0          0          0  IRQ work interrupts\n"
              "IPI6:          0          0          0          0  completion interrupts\n"
              "Err:          0\n");
}

TEST_F(ProcInterruptsTest, BadInterruptsShowInErrAndUnrequestedLinesOnceCounted) {
    fire(7); // handle_bad_irq on a legacy line: counted, so shown with chip "none"
    std::string s = irq.show_interrupts();
    EXPECT_NE(s.find("\n  7:          1          0          0          0      none     Edge    \n"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("\nErr:          1\n"), std::string::npos);
}

TEST_F(ProcInterruptsTest, FlowNameAndWideNumbers) {
    unsigned line = new_line(&Irq::handle_level_irq);
    irq.irq_set_chip_and_handler_name(line, &chip, &Irq::handle_level_irq, "level");
    ASSERT_EQ(irq.request_irq(line, irq_handler_t("h", &handled), 0, "dev", nullptr), 0);
    EXPECT_NE(irq.show_interrupts().find(" 16:          0          0          0          0      "
                                         "fake     Edge    -level     dev\n"),
              std::string::npos);
    // 1000 numbers and more: a 4-digit first column and 12 header spaces.
    ASSERT_GE(irq.irq_alloc_descs(-1, 1, 1000), 0);
    std::string s = irq.show_interrupts();
    EXPECT_EQ(s.substr(0, 16), "            CPU0");
    EXPECT_NE(s.find("\n  16:"), std::string::npos);
    EXPECT_NE(s.find("\nIPI0:"), std::string::npos) << "\"%*s%u: \" with prec-1 = 3";
    EXPECT_NE(s.find("\n Err:"), std::string::npos);
}

TEST_F(ProcInterruptsTest, IrqPrintChipReplacesTheChipColumn) {
    irq_chip printing{.name = "ignored", .irq_print_chip = [](irq_data* d, std::string& seq) {
                          seq += " gpio-" + std::to_string(d->irq);
                      }};
    unsigned line = new_line(&Irq::handle_simple_irq, &printing);
    ASSERT_EQ(irq.request_irq(line, irq_handler_t("h", &handled), 0, "btn", nullptr), 0);
    EXPECT_NE(irq.show_interrupts().find("          0  gpio-16     Edge      btn\n"),
              std::string::npos);
}
