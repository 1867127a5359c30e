// The kernel model: piemu's stand-in for a Linux 4.14 kernel on the Pi, built around
// the C++ genirq (kernel/irq). It boots the irqchips in Linux's order, registers the
// built-in drivers of the devices that exist (arch_timer, arm-pmu, uart-pl011), and
// takes the cores' IRQs through bcm2836_arm_irqchip_handle_irq. Until the entry path
// (the vector page) exists, the run loop enters it directly from the core's IRQ line
// when CPSR.I is clear.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernel/irqchip/bcm2836_irqchip.hpp"
#include "piemu/kernel/irq.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/kernel/printk.hpp"

namespace piemu {
class ArmCore;
class Bus;
class Pl011;
class VirtualClock;
} // namespace piemu

namespace piemu::kernel {

struct KernelModelConfig {
    Bus* bus = nullptr;
    VirtualClock* clock = nullptr;
    std::vector<ArmCore*> cores;
    unsigned nr_cpus = 4; ///< possible CPUs (columns of /proc/interrupts)
    uint32_t local_intc_base = 0x40000000;
    uint32_t armctrl_base = 0x3f00b200;
    uint32_t uart_base = 0x3f201000;
    unsigned uart_bank = 2, uart_bit = 25; ///< the PL011's ARMCTRL specifier (DT)
    unsigned hz = 100;                     ///< CONFIG_HZ
};

class KernelModel {
public:
    explicit KernelModel(const KernelModelConfig& cfg);
    ~KernelModel();

    /// Boots: irqchips (local controller, then ARMCTRL), then the built-in drivers.
    void boot();
    /// handle_arch_irq on `cpu`: bcm2836_arm_irqchip_handle_irq.
    void handle_arch_irq(unsigned cpu);

    Irq& irq() { return irq_; }
    Printk& log() { return log_; }
    PreemptCountStore& preempt() { return preempt_; }
    Bcm2836Irqchip& irqchip() { return chip_; }
    /// Ticks of the periodic timer tick so far (jiffies since boot).
    uint64_t ticks() const { return ticks_; }
    /// Bytes the uart-pl011 driver received.
    const std::string& uart_received() const { return uart_rx_; }

private:
    struct ArchTimerEvt {
        KernelModel* km;
        unsigned cpu;
        uint64_t next_cval;
    };
    void arch_timer_init();
    void arch_timer_program(unsigned cpu);
    Task<irqreturn_t> arch_timer_handler_phys(unsigned irq, void* dev);
    Task<irqreturn_t> pl011_int(unsigned irq, void* dev);
    uint64_t cntp(unsigned cpu, bool is64, unsigned crm, unsigned opc1, unsigned opc2, bool read,
                  uint64_t value = 0);

    KernelModelConfig cfg_;
    Printk log_;
    HostPreemptCounts preempt_;
    Irq irq_;
    Bcm2836Irqchip chip_;
    std::vector<ArchTimerEvt> timer_evt_;
    int pmu_dev_ = 0;
    uint64_t period_ticks_ = 0;
    uint64_t ticks_ = 0;
    std::string uart_rx_;
};

} // namespace piemu::kernel
