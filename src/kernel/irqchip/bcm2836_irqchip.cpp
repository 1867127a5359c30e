#include "kernel/irqchip/bcm2836_irqchip.hpp"

#include <bit>

#include "piemu/bus.hpp"

namespace piemu::kernel {

namespace {
// BCM2836 local controller registers (QA7; irq-bcm2836.c names).
constexpr uint32_t LOCAL_PM_ROUTING_SET = 0x010, LOCAL_PM_ROUTING_CLR = 0x014;
constexpr uint32_t LOCAL_TIMER_INT_CONTROL0 = 0x040, LOCAL_MAILBOX_INT_CONTROL0 = 0x050;
constexpr uint32_t LOCAL_IRQ_PENDING0 = 0x060, LOCAL_MAILBOX0_SET0 = 0x080;
constexpr uint32_t LOCAL_MAILBOX3_SET0 = 0x08c, LOCAL_MAILBOX0_CLR0 = 0x0c0;
constexpr uint32_t ARM_LOCAL_GPU_INT_ROUTING = 0x00c; ///< IRQ core [1:0], FIQ core [3:2]

// ARMCTRL (irq-bcm2835.c): three banks; registers per bank.
constexpr unsigned NR_BANKS = 3, IRQS_PER_BANK = 32;
constexpr unsigned kBankIrqs[NR_BANKS] = {8, 32, 32};
constexpr uint32_t kRegPending[NR_BANKS] = {0x00, 0x04, 0x08};
constexpr uint32_t kRegEnable[NR_BANKS] = {0x18, 0x10, 0x14};
constexpr uint32_t kRegDisable[NR_BANKS] = {0x24, 0x1c, 0x20};
constexpr uint32_t MAKE_HWIRQ(unsigned b, unsigned n) {
    return (b << 5) | n;
}
constexpr unsigned HWIRQ_BANK(irq_hw_number_t i) {
    return unsigned(i >> 5);
}
constexpr uint32_t HWIRQ_BIT(irq_hw_number_t i) {
    return 1u << (i & 0x1f);
}
// Basic pending: bits 0-7 bank 0, bit 8/9 "bank 1/2 has more", bits 10-20 the
// shortcut bits of GPU IRQs 7, 9, 10, 18, 19 (bank 1) and 53-57, 62 (bank 2).
constexpr uint32_t BANK0_HWIRQ_MASK = 0xff, BANK1_HWIRQ = 1u << 8, BANK2_HWIRQ = 1u << 9;
constexpr unsigned SHORTCUT_SHIFT = 10;
constexpr uint32_t SHORTCUT1_MASK = 0x00007c00, SHORTCUT2_MASK = 0x001f8000;
constexpr uint32_t BANK0_VALID_MASK =
    BANK0_HWIRQ_MASK | BANK1_HWIRQ | BANK2_HWIRQ | SHORTCUT1_MASK | SHORTCUT2_MASK;
constexpr unsigned kShortcuts[] = {7, 9, 10, 18, 19, 21, 22, 23, 24, 25, 30};
// FIQ control (Raspbian's irq-bcm2835.c): enable bit and source number [6:0].
constexpr uint32_t REG_FIQ_CONTROL = 0x0c, REG_FIQ_ENABLE = 0x80;

/// hwirq_to_fiq(): this driver numbers bank 0 (ARM basic) 0-7 and the GPU IRQs 32-95;
/// the FIQ register numbers the GPU IRQs 0-63 and the ARM basic sources 64-71.
uint32_t hwirq_to_fiq(irq_hw_number_t hwirq) {
    return hwirq >= 32 ? uint32_t(hwirq - 32) : uint32_t(hwirq + 64);
}

unsigned ffs(uint32_t v) {
    return v ? unsigned(std::countr_zero(v)) + 1 : 0;
}
} // namespace

Bcm2836Irqchip::Bcm2836Irqchip(Irq& irq, Bus& bus, uint32_t local_base, uint32_t armctrl_base)
    : irq_(irq), bus_(bus), local_base_(local_base), armctrl_base_(armctrl_base) {
    // bcm2836_arm_irqchip_{timer,pmu,gpu}: per-CPU masking in the local controller.
    timer_chip_ = irq_chip{
        .name = "bcm2836-timer",
        .irq_mask =
            [this](irq_data* d) {
                uint32_t reg = LOCAL_TIMER_INT_CONTROL0 + 4 * irq_.smp_processor_id();
                local_write(reg, local_read(reg) & ~(1u << (d->hwirq - LOCAL_IRQ_CNTPSIRQ)));
            },
        .irq_unmask =
            [this](irq_data* d) {
                uint32_t reg = LOCAL_TIMER_INT_CONTROL0 + 4 * irq_.smp_processor_id();
                local_write(reg, local_read(reg) | (1u << (d->hwirq - LOCAL_IRQ_CNTPSIRQ)));
            },
    };
    pmu_chip_ = irq_chip{
        .name = "bcm2836-pmu",
        .irq_mask =
            [this](irq_data*) { local_write(LOCAL_PM_ROUTING_CLR, 1u << irq_.smp_processor_id()); },
        .irq_unmask =
            [this](irq_data*) { local_write(LOCAL_PM_ROUTING_SET, 1u << irq_.smp_processor_id()); },
    };
    // NOTE: the GPU line's mask/unmask are empty in 4.14: ARMCTRL masks its sources.
    gpu_chip_ = irq_chip{
        .name = "bcm2836-gpu",
        .irq_mask = [](irq_data*) {},
        .irq_unmask = [](irq_data*) {},
    };
    armctrl_chip_ = irq_chip{
        .name = "ARMCTRL-level",
        .irq_mask =
            [this](irq_data* d) {
                armctrl_write(kRegDisable[HWIRQ_BANK(d->hwirq)], HWIRQ_BIT(d->hwirq));
            },
        .irq_unmask =
            [this](irq_data* d) {
                armctrl_write(kRegEnable[HWIRQ_BANK(d->hwirq)], HWIRQ_BIT(d->hwirq));
            },
    };
}

uint32_t Bcm2836Irqchip::local_read(uint32_t off) {
    return bus_.mmio_read(local_base_ + off, 4);
}
void Bcm2836Irqchip::local_write(uint32_t off, uint32_t v) {
    bus_.mmio_write(local_base_ + off, v, 4);
}
uint32_t Bcm2836Irqchip::armctrl_read(uint32_t off) {
    return bus_.mmio_read(armctrl_base_ + off, 4);
}
void Bcm2836Irqchip::armctrl_write(uint32_t off, uint32_t v) {
    bus_.mmio_write(armctrl_base_ + off, v, 4);
}

void Bcm2836Irqchip::register_local_irq(unsigned hwirq, irq_chip* chip) {
    unsigned irq = irq_.irq_create_mapping(local_domain_, hwirq);
    irq_.irq_set_percpu_devid(irq);
    irq_.irq_set_chip_and_handler(irq, chip, &Irq::handle_percpu_devid_irq);
    irq_.irq_set_status_flags(irq, IRQ_NOAUTOEN);
}

void Bcm2836Irqchip::l1_intc_of_init() {
    local_domain_ = irq_.irq_domain_add_linear(
        this, LAST_IRQ + 1, irq_domain_ops{.xlate = irq_domain_xlate_onecell}, nullptr);
    local_domain_->name = "bcm2836-l1-intc";
    register_local_irq(LOCAL_IRQ_CNTPSIRQ, &timer_chip_);
    register_local_irq(LOCAL_IRQ_CNTPNSIRQ, &timer_chip_);
    register_local_irq(LOCAL_IRQ_CNTHPIRQ, &timer_chip_);
    register_local_irq(LOCAL_IRQ_CNTVIRQ, &timer_chip_);
    register_local_irq(LOCAL_IRQ_GPU_FAST, &gpu_chip_);
    register_local_irq(LOCAL_IRQ_PMU_FAST, &pmu_chip_);
    // bcm2836_arm_irqchip_smp_init(): IPIs arrive through mailbox 0; the
    // CPUHP_AP_IRQ_BCM2836_STARTING state unmasks it on the boot CPU now and on each
    // secondary as it comes up.
    cpu_starting(irq_.smp_processor_id());
}

void Bcm2836Irqchip::cpu_starting(unsigned cpu) {
    uint32_t reg = LOCAL_MAILBOX_INT_CONTROL0 + 4 * cpu;
    local_write(reg, local_read(reg) | (1u << 0));
}

void Bcm2836Irqchip::boot_secondary(unsigned cpu, uint32_t entry) {
    local_write(LOCAL_MAILBOX3_SET0 + 16 * cpu, entry);
}

void Bcm2836Irqchip::send_ipi(uint32_t cpumask, unsigned ipi) {
    // smp_wmb() first in the kernel: memory is sequentially consistent here.
    for (unsigned cpu = 0; cpu < irq_.nr_cpu_ids(); ++cpu)
        if (cpumask & (1u << cpu))
            local_write(LOCAL_MAILBOX0_SET0 + 16 * cpu, 1u << ipi);
}

void Bcm2836Irqchip::armctrl_of_init() {
    irq_domain_ops ops;
    // armctrl_xlate(): <bank bit>, bank 0 has 8 lines, banks 1 and 2 have 32.
    ops.xlate = [](irq_domain*, const void*, std::span<const uint32_t> spec,
                   irq_hw_number_t* out_hwirq, unsigned* out_type) {
        if (spec.size() != 2 || spec[0] >= NR_BANKS || spec[1] >= IRQS_PER_BANK ||
            (spec[0] == 0 && spec[1] >= kBankIrqs[0]))
            return -22; // -EINVAL
        *out_hwirq = MAKE_HWIRQ(spec[0], spec[1]);
        *out_type = IRQ_TYPE_NONE;
        return 0;
    };
    armctrl_domain_ = irq_.irq_domain_add_linear(&armctrl_chip_, MAKE_HWIRQ(NR_BANKS, 0),
                                                 std::move(ops), nullptr);
    armctrl_domain_->name = "bcm2835-armctrl";
    for (unsigned b = 0; b < NR_BANKS; ++b) {
        for (unsigned i = 0; i < kBankIrqs[b]; ++i) {
            unsigned irq = irq_.irq_create_mapping(armctrl_domain_, MAKE_HWIRQ(b, i));
            irq_.irq_set_chip_and_handler(irq, &armctrl_chip_, &Irq::handle_level_irq);
            irq_.irq_clear_status_flags(irq, IRQ_NOREQUEST | IRQ_NOPROBE); // irq_set_probe
        }
    }
    // bcm2836_chained_init(): the DT's `interrupts = <8 4>` on the local controller.
    unsigned parent = irq_.irq_find_mapping(local_domain_, LOCAL_IRQ_GPU_FAST);
    irq_.irq_set_chained_handler(
        parent, irq_flow_handler_t("bcm2836_chained_handle_irq",
                                   [this](irq_desc* desc) { return chained_handle_irq(desc); }));
}

void Bcm2836Irqchip::enable_fiq(unsigned irq) {
    unsigned online = 0;
    for (unsigned cpu = 0; cpu < irq_.nr_cpu_ids(); ++cpu)
        online += irq_.cpu_online(cpu) ? 1 : 0;
    if (online > 1) {
        uint32_t data = local_read(ARM_LOCAL_GPU_INT_ROUTING);
        data &= ~0xcu;
        data |= 1u << 2; // GPU FIQ to core 1
        local_write(ARM_LOCAL_GPU_INT_ROUTING, data);
    }
    irq_data* d = irq_.irq_get_irq_data(irq);
    armctrl_write(REG_FIQ_CONTROL, REG_FIQ_ENABLE | hwirq_to_fiq(d->hwirq));
}

unsigned Bcm2836Irqchip::armctrl_irq(unsigned bank, unsigned bit) const {
    return irq_.irq_find_mapping(armctrl_domain_, MAKE_HWIRQ(bank, bit));
}

unsigned Bcm2836Irqchip::local_irq(unsigned hwirq) const {
    return irq_.irq_find_mapping(local_domain_, hwirq);
}

uint32_t Bcm2836Irqchip::get_next_armctrl_hwirq() {
    uint32_t stat = armctrl_read(kRegPending[0]) & BANK0_VALID_MASK;
    if (stat == 0)
        return ~0u;
    if (stat & BANK0_HWIRQ_MASK)
        return MAKE_HWIRQ(0, ffs(stat & BANK0_HWIRQ_MASK) - 1);
    if (stat & SHORTCUT1_MASK)
        return MAKE_HWIRQ(1, kShortcuts[ffs(stat & SHORTCUT1_MASK) - (SHORTCUT_SHIFT + 1)]);
    if (stat & SHORTCUT2_MASK)
        return MAKE_HWIRQ(2, kShortcuts[ffs(stat & SHORTCUT2_MASK) - (SHORTCUT_SHIFT + 1)]);
    unsigned bank = (stat & BANK1_HWIRQ) ? 1 : 2; // armctrl_translate_bank()
    return MAKE_HWIRQ(bank, ffs(armctrl_read(kRegPending[bank])) - 1);
}

Task<void> Bcm2836Irqchip::chained_handle_irq(irq_desc*) {
    for (uint32_t hwirq; (hwirq = get_next_armctrl_hwirq()) != ~0u;)
        co_await irq_.generic_handle_irq(irq_.irq_find_mapping(armctrl_domain_, hwirq));
}

Task<void> Bcm2836Irqchip::handle_ipi(unsigned cpu, pt_regs* regs) {
    // The lowest pending IPI in mailbox 0, acknowledged by writing its bit back, then
    // handle_IPI(). (A read of 0, when the mailbox was cleared meanwhile, gives
    // ffs(0) - 1 = -1: 4.14 passes that on and handle_IPI calls it unknown.)
    uint32_t box = LOCAL_MAILBOX0_CLR0 + 16 * cpu;
    uint32_t mbox = local_read(box);
    unsigned ipi = ffs(mbox) - 1;
    local_write(box, mbox ? 1u << ipi : 0);
    if (handle_ipi_)
        co_await handle_ipi_(ipi, regs);
    else if (ipi < NR_IPI)
        irq_.inc_ipi_stat(cpu, ipi);
}

Task<void> Bcm2836Irqchip::handle_irq(pt_regs* regs) {
    unsigned cpu = irq_.smp_processor_id();
    uint32_t stat = local_read(LOCAL_IRQ_PENDING0 + 4 * cpu);
    if (stat & (1u << LOCAL_IRQ_MAILBOX0)) {
        co_await handle_ipi(cpu, regs);
    } else if (stat) {
        co_await irq_.handle_domain_irq(local_domain_, ffs(stat) - 1, regs);
    }
}

} // namespace piemu::kernel
