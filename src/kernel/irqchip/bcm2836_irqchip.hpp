// The interrupt-controller drivers Linux registers on the BCM2836/7, modelled on
// drivers/irqchip/irq-bcm2836.c (the per-core "local" controller, the root) and
// irq-bcm2835.c (ARMCTRL, chained below the local controller's GPU input) of
// Linux 4.14. They program piemu's device models through their registers, exactly
// as the kernel drivers program the hardware.
//
// Numbering (Raspbian 4.14 on a Pi 3): the local controller maps CNTPS, CNTPNS, CNTHP,
// CNTV, GPU, PMU (hwirq 0-3, 8, 9) to Linux irqs 16-21; ARMCTRL then maps bank 0
// (hwirq 0-7) to 22-29, bank 1 (32-63) to 30-61 and bank 2 (64-95) to 62-93, so the
// mailbox (hwirq 1) is 23, sdhost (88) is 86, the PL011 (89) is 87, EMMC (94) is 92.
#pragma once

#include <cstdint>
#include <functional>

#include "piemu/kernel/irq.hpp"
#include "piemu/kernel/task.hpp"

namespace piemu {
class Bus;
}

namespace piemu::kernel {

class Bcm2836Irqchip {
public:
    // The local controller's hwirqs (irq-bcm2836.c; they are also the bits of its
    // per-core IRQ source registers).
    static constexpr unsigned LOCAL_IRQ_CNTPSIRQ = 0, LOCAL_IRQ_CNTPNSIRQ = 1;
    static constexpr unsigned LOCAL_IRQ_CNTHPIRQ = 2, LOCAL_IRQ_CNTVIRQ = 3;
    static constexpr unsigned LOCAL_IRQ_MAILBOX0 = 4, LOCAL_IRQ_GPU_FAST = 8;
    static constexpr unsigned LOCAL_IRQ_PMU_FAST = 9, LAST_IRQ = LOCAL_IRQ_PMU_FAST;

    /// `local_base`/`armctrl_base`: the controllers' physical addresses (from the DT).
    Bcm2836Irqchip(Irq& irq, Bus& bus, uint32_t local_base, uint32_t armctrl_base);

    /// bcm2836_arm_irqchip_l1_intc_of_init(): the local domain and its six lines,
    /// then set_handle_irq(bcm2836_arm_irqchip_handle_irq).
    void l1_intc_of_init();
    /// armctrl_of_init() for "brcm,bcm2836-armctrl-ic": the ARMCTRL domain, its 72
    /// lines with handle_level_irq, and the chained handler on the local GPU line.
    void armctrl_of_init();

    /// bcm2836_arm_irqchip_handle_irq(): the arch's handle_arch_irq. Reads the
    /// current core's IRQ source register: mailbox 0 is an IPI, otherwise the lowest
    /// set source goes to handle_domain_irq().
    Task<void> handle_irq(pt_regs* regs);

    irq_domain* local_domain() const { return local_domain_; }
    irq_domain* armctrl_domain() const { return armctrl_domain_; }
    /// enable_fiq(irq): Raspbian's armctrl_unmask_irq() for the FIQ twin of ARMCTRL
    /// line `irq` (irq + FIQ_START, a descriptor the model does not allocate): with
    /// more than one CPU online the local controller routes the GPU FIQ to core 1,
    /// then the FIQ control register selects the line's source with its enable bit.
    void enable_fiq(unsigned irq);

    /// bcm2836_cpu_starting(): unmasks `cpu`'s mailbox 0 interrupt (its IPIs).
    void cpu_starting(unsigned cpu);
    /// bcm2836_boot_secondary() (arch/arm/mach-bcm/platsmp.c): `entry` into the
    /// core's mailbox 3, where the firmware's boot loop waits for it.
    void boot_secondary(unsigned cpu, uint32_t entry);
    /// bcm2836_arm_irqchip_send_ipi(): bit `ipi` set in the mailbox 0 of every CPU in
    /// `cpumask`.
    void send_ipi(uint32_t cpumask, unsigned ipi);
    /// The arch's handle_IPI(ipinr, regs), called with the IPI read from mailbox 0.
    /// NOTE: without it the IPI is only counted.
    void set_handle_ipi(std::function<Task<void>(unsigned, pt_regs*)> fn) {
        handle_ipi_ = std::move(fn);
    }

    /// The Linux irq of an ARMCTRL <bank bit> / local hwirq, as a DT lookup would give.
    unsigned armctrl_irq(unsigned bank, unsigned bit) const;
    unsigned local_irq(unsigned hwirq) const;

private:
    // Register reads are not const: MMIO reads may have side effects.
    uint32_t local_read(uint32_t off);
    void local_write(uint32_t off, uint32_t v);
    uint32_t armctrl_read(uint32_t off);
    void armctrl_write(uint32_t off, uint32_t v);
    void register_local_irq(unsigned hwirq, irq_chip* chip);
    /// get_next_armctrl_hwirq(): the next pending ARMCTRL hwirq, or ~0u.
    uint32_t get_next_armctrl_hwirq();
    Task<void> chained_handle_irq(irq_desc* desc);
    Task<void> handle_ipi(unsigned cpu, pt_regs* regs);

    Irq& irq_;
    Bus& bus_;
    uint32_t local_base_, armctrl_base_;
    irq_domain* local_domain_ = nullptr;
    irq_domain* armctrl_domain_ = nullptr;
    irq_chip timer_chip_, pmu_chip_, gpu_chip_, armctrl_chip_;
    std::function<Task<void>(unsigned, pt_regs*)> handle_ipi_;
};

} // namespace piemu::kernel
