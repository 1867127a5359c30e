#include "kernel/kernel_model.hpp"

#include "cpu/generic_timer.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"

namespace piemu::kernel {

namespace {
// PL011 registers the uart-pl011 driver uses (include/linux/amba/serial.h).
constexpr uint32_t UART01x_DR = 0x00, UART01x_FR = 0x18, UART011_IMSC = 0x38;
constexpr uint32_t UART011_MIS = 0x40, UART011_ICR = 0x44;
constexpr uint32_t UART01x_FR_RXFE = 1u << 4, UART011_RXIM = 1u << 4, UART011_RTIM = 1u << 6;
// Generic timer CTL bits (arch_timer.h).
constexpr uint32_t ARCH_TIMER_CTRL_ENABLE = 1, ARCH_TIMER_CTRL_IT_MASK = 2;
constexpr uint32_t ARCH_TIMER_CTRL_IT_STAT = 4;
constexpr uint32_t kSvcMode = 0x13;
} // namespace

KernelModel::KernelModel(const KernelModelConfig& cfg)
    : cfg_(cfg), log_([clock = cfg.clock] { return clock->now_ns(); }), preempt_(cfg.nr_cpus),
      irq_(
          IrqConfig{
              .nr_cpus = cfg.nr_cpus, .nr_irqs_legacy = 16, .hz = cfg.hz, .noirqdebug = false},
          log_, preempt_),
      chip_(irq_, *cfg.bus, cfg.local_intc_base, cfg.armctrl_base) {}

KernelModel::~KernelModel() = default;

void KernelModel::boot() {
    irq_.set_current_cpu(0);
    // Only the cores that run are online (the others come up with the SMP work);
    // /proc/interrupts has a column per online CPU, as in Linux.
    for (unsigned cpu = unsigned(cfg_.cores.size()); cpu < cfg_.nr_cpus; ++cpu)
        irq_.set_cpu_online(cpu, false);
    // init_IRQ() -> irqchip_init(): the DT order, root controller first.
    chip_.l1_intc_of_init();
    chip_.armctrl_of_init();
    arch_timer_init();

    // arm-pmu: the PMU's per-CPU line is requested; perf events would enable it.
    irq_.request_percpu_irq(
        chip_.local_irq(Bcm2836Irqchip::LOCAL_IRQ_PMU_FAST),
        irq_handler_t("armv7pmu_handle_irq",
                      [](unsigned, void*) -> Task<irqreturn_t> { co_return IRQ_NONE; }),
        "arm-pmu", percpu_ptr{&pmu_dev_, 0});

    // uart-pl011: pl011_startup() requests the line and unmasks RX and RX timeout.
    unsigned uart_irq = chip_.armctrl_irq(cfg_.uart_bank, cfg_.uart_bit);
    irq_.request_irq(
        uart_irq,
        irq_handler_t("pl011_int", [this](unsigned irq, void* dev) { return pl011_int(irq, dev); }),
        IRQF_SHARED, "uart-pl011", this);
    cfg_.bus->mmio_write(cfg_.uart_base + UART011_ICR, 0x7ff, 4);
    cfg_.bus->mmio_write(cfg_.uart_base + UART011_IMSC, UART011_RXIM | UART011_RTIM, 4);
}

uint64_t KernelModel::cntp(unsigned cpu, bool is64, unsigned crm, unsigned opc1, unsigned opc2,
                           bool read, uint64_t value) {
    // The kernel's own cp15 accesses, made on the core's generic timer as the
    // kernel's instructions would make them (SVC mode).
    CpAccess a;
    a.is64 = is64;
    a.read = read;
    a.opc1 = opc1;
    a.crm = crm;
    a.opc2 = opc2;
    cfg_.cores.at(cpu)->timer().access(a, kSvcMode, value);
    return value;
}

void KernelModel::arch_timer_init() {
    // arch_timer_register(): the secure and non-secure physical PPIs, both
    // "arch_timer"; the non-secure one (IRQ 17) is the one that fires on the Pi.
    timer_evt_.resize(cfg_.nr_cpus);
    for (unsigned cpu = 0; cpu < cfg_.nr_cpus; ++cpu)
        timer_evt_[cpu] = {this, cpu, 0};
    percpu_ptr evt{&timer_evt_[0], sizeof(ArchTimerEvt)};
    irq_handler_t handler("arch_timer_handler_phys", [this](unsigned irq, void* dev) {
        return arch_timer_handler_phys(irq, dev);
    });
    unsigned ps = chip_.local_irq(Bcm2836Irqchip::LOCAL_IRQ_CNTPSIRQ);
    unsigned pns = chip_.local_irq(Bcm2836Irqchip::LOCAL_IRQ_CNTPNSIRQ);
    irq_.request_percpu_irq(ps, handler, "arch_timer", evt);
    irq_.request_percpu_irq(pns, handler, "arch_timer", evt);

    uint64_t rate = cntp(0, false, 0, 0, 0, true); // CNTFRQ
    period_ticks_ = rate / cfg_.hz;
    log_.printk(KERN_INFO, "arch_timer: cp15 timer(s) running at %lu.%02luMHz (phys).\n",
                (unsigned long)(rate / 1000000), (unsigned long)(rate / 10000 % 100));
    // arch_timer_starting_cpu() on each CPU that runs: both PPIs enabled, then the
    // periodic tick programmed (clockevents, CONFIG_HZ).
    for (unsigned cpu = 0; cpu < cfg_.cores.size(); ++cpu) {
        irq_.set_current_cpu(cpu);
        irq_.enable_percpu_irq(ps, 0);
        irq_.enable_percpu_irq(pns, 0);
        timer_evt_[cpu].next_cval = cntp(cpu, true, 14, 0, 0, true) + period_ticks_; // CNTPCT
        arch_timer_program(cpu);
    }
    irq_.set_current_cpu(0);
}

void KernelModel::arch_timer_program(unsigned cpu) {
    // set_next_event: CVAL for the next tick (absolute, so ticks never drift), then
    // CTL enabled with the interrupt unmasked.
    cntp(cpu, true, 14, 2, 0, false, timer_evt_[cpu].next_cval); // CNTP_CVAL
    cntp(cpu, false, 2, 0, 1, false, ARCH_TIMER_CTRL_ENABLE);    // CNTP_CTL
}

Task<irqreturn_t> KernelModel::arch_timer_handler_phys(unsigned, void* dev) {
    auto* evt = static_cast<ArchTimerEvt*>(dev);
    uint64_t ctrl = cntp(evt->cpu, false, 2, 0, 1, true);
    if (!(ctrl & ARCH_TIMER_CTRL_IT_STAT))
        co_return IRQ_NONE;
    cntp(evt->cpu, false, 2, 0, 1, false, ctrl | ARCH_TIMER_CTRL_IT_MASK);
    // evt->event_handler: tick_handle_periodic(); the boot CPU does do_timer().
    if (evt->cpu == 0)
        ++ticks_;
    evt->next_cval += period_ticks_;
    arch_timer_program(evt->cpu);
    co_return IRQ_HANDLED;
}

Task<irqreturn_t> KernelModel::pl011_int(unsigned, void*) {
    Bus& bus = *cfg_.bus;
    uint32_t status = bus.mmio_read(cfg_.uart_base + UART011_MIS, 4);
    if (!status)
        co_return IRQ_NONE;
    // pl011_rx_chars(): drain the FIFO into the tty (here: a buffer).
    while (!(bus.mmio_read(cfg_.uart_base + UART01x_FR, 4) & UART01x_FR_RXFE))
        uart_rx_.push_back(char(bus.mmio_read(cfg_.uart_base + UART01x_DR, 4) & 0xff));
    bus.mmio_write(cfg_.uart_base + UART011_ICR, status, 4);
    co_return IRQ_HANDLED;
}

void KernelModel::handle_arch_irq(unsigned cpu) {
    irq_.set_current_cpu(cpu);
    run_sync(chip_.handle_irq(nullptr));
}

} // namespace piemu::kernel
