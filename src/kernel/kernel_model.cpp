#include "kernel/kernel_model.hpp"

#include <algorithm>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cpu/generic_timer.hpp"
#include "kernel/drivers/drivers.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/guest_abi.h"
#include "piemu/loader.hpp"

namespace piemu::kernel {

/// preempt_count in the current task's thread_info, in guest memory.
class KernelModel::GuestPreemptCounts final : public PreemptCountStore {
public:
    explicit GuestPreemptCounts(KernelModel& km) : km_(km) {}
    std::uint32_t get(unsigned cpu) const override {
        return km_.rd32(km_.current(cpu)->stack + TI_PREEMPT);
    }
    void set(unsigned cpu, std::uint32_t value) override {
        if (km_.debug_)
            km_.debug_->preempt_count_changed(cpu, get(cpu), value);
        km_.wr32(km_.current(cpu)->stack + TI_PREEMPT, value);
    }

private:
    KernelModel& km_;
};

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
    : cfg_(cfg), log_([clock = cfg.clock] { return clock->now_ns(); }),
      preempt_(std::make_unique<GuestPreemptCounts>(*this)),
      irq_(IrqConfig{.nr_cpus = cfg.nr_cpus,
                     .nr_irqs_legacy = 16,
                     .hz = cfg.hz,
                     .noirqdebug = false,
                     .force_irqthreads = cfg.threadirqs},
           log_, *preempt_),
      chip_(irq_, *cfg.bus, cfg.local_intc_base, cfg.armctrl_base) {
    static constexpr std::pair<const char*, Gate> kGates[] = {
        {"bcm2836_arm_irqchip_handle_irq", Gate::HandleArchIrq},
        {"ret_from_guest_call", Gate::RetFromGuestCall},
        {"preempt_schedule_irq", Gate::PreemptScheduleIrq},
        {"schedule_idle", Gate::ScheduleIdle},
        {"do_work_pending", Gate::DoWorkPending},
        {"do_exit", Gate::DoExit},
        {"do_DataAbort", Gate::DoDataAbort},
        {"do_PrefetchAbort", Gate::DoPrefetchAbort},
        {"do_undefinstr", Gate::DoUndefinstr},
        {"bad_mode", Gate::BadMode},
        {"kthread_body", Gate::KthreadBody},
        {"dwc_otg_fiq_fsm", Gate::DwcOtgFiqFsm},
        {"hub_event", Gate::HubEvent},
    };
    for (auto [name, gate] : kGates)
        gates_[vector_page_symbol(name)] = gate;
    for (const auto& sym : vector_page_symbols())
        if (std::strncmp(sym.name, "sys_", 4) == 0 && std::strcmp(sym.name, "sys_call_table") != 0)
            gates_[sym.addr] = Gate::Syscall;
    ret_from_guest_call_ = vector_page_symbol("ret_from_guest_call");

    // The boot CPU's idle task is init_task (swapper/0, pid 0): its thread_info is
    // where preempt_count lives while the kernel boots. Its preempt_count stays at 1:
    // the idle loop runs with preemption disabled (rest_init/secondary_start_kernel).
    current_.assign(cfg.nr_cpus, nullptr);
    idle_.assign(cfg.nr_cpus, nullptr);
    for (unsigned cpu = 0; cpu < cfg.nr_cpus; ++cpu) {
        task_struct* idle =
            create_task(cpu ? "swapper/" + std::to_string(cpu) : "swapper/0", nullptr);
        idle->pid = 0;
        wr32(idle->addr + TSK_PID, 0);
        idle->is_idle = true;
        wr32(idle->stack + TI_CPU, cpu);
        wr32(idle->stack + TI_PREEMPT, PREEMPT_OFFSET);
        // Where it starts when first switched to: the idle loop on its own stack.
        idle->ctx.r[13] = idle->stack + THREAD_START_SP;
        idle->ctx.r[15] = vector_page_symbol("do_idle");
        idle->ctx.cpsr = SVC_MODE | PSR_I_BIT; // FIQs on, as everywhere in the kernel
        idle_[cpu] = current_[cpu] = idle;
    }
    // init (pid 1) and kthreadd (pid 2), the parent of kernel threads, as rest_init()
    // creates them. init stays asleep unless a guest image runs as init.
    next_pid_ = 1;
    init_ = create_task("init", idle_[0]);
    set_task_state(init_, TASK_UNINTERRUPTIBLE);
    kthreadd_ = create_task("kthreadd", idle_[0]);
    set_task_state(kthreadd_, TASK_INTERRUPTIBLE);
    kthreadd_->wchan = "kthreadd";

    IrqHooks& h = irq_.hooks();
    h.current_pid = [this](unsigned cpu) { return current_.at(cpu)->pid; };
    // setup_irq_thread(): "irq/<irq>-<name>" ("irq/<irq>-s-<name>" for the secondary
    // of a forced-threaded line), kSchedFifo at MAX_USER_RT_PRIO/2 = 50, woken to
    // wait in irq_wait_for_interrupt().
    h.setup_irq_thread = [this](irqaction& action, unsigned irq, bool secondary) {
        std::string comm = secondary ? fmt::format("irq/{}-s-{}", irq, action.name)
                                     : fmt::format("irq/{}-{}", irq, action.name);
        irqaction* act = &action;
        task_struct* t = kthread_create(
            comm, 0, 0, [this, act](task_struct* self) { return irq_thread(self, act); });
        if (!t)
            return -ENOMEM;
        sched_setscheduler(t, kSchedFifo, 50);
        t->wchan = "irq_thread";
        action.thread = t;
        wake_up_process(t);
        return 0;
    };
    h.wake_up_process = [this](irqaction& action) {
        if (action.thread)
            wake_up_process(action.thread);
    };
    // Softirqs: the per-CPU pending words, ksoftirqd/N, the vectors with handlers.
    softirq_pending_.assign(cfg.nr_cpus, 0);
    tasklet_vec_.resize(cfg.nr_cpus);
    tasklet_hi_vec_.resize(cfg.nr_cpus);
    h.local_softirq_pending = [this](unsigned cpu) { return local_softirq_pending(cpu) != 0; };
    h.invoke_softirq = [this](unsigned cpu) { return invoke_softirq(cpu); };
    open_softirq(TIMER_SOFTIRQ, [this](unsigned cpu) { return run_timer_softirq(cpu); });
    open_softirq(TASKLET_SOFTIRQ, [this](unsigned cpu) { return tasklet_action(cpu, false); });
    open_softirq(HI_SOFTIRQ, [this](unsigned cpu) { return tasklet_action(cpu, true); });
    h.stop_irq_thread = [this](irqaction& action) {
        // kthread_stop() from free_irq(): the thread sees should_stop when it runs.
        if (task_struct* t = action.thread) {
            t->should_stop = true;
            wake_up_process(t);
            action.thread = nullptr;
        }
    };
}

KernelModel::~KernelModel() = default;

PreemptCountStore& KernelModel::preempt() {
    return *preempt_;
}

uint32_t KernelModel::rd32(uint32_t addr) const {
    uint32_t v = 0;
    cfg_.bus->read32(addr, v);
    return v;
}

void KernelModel::wr32(uint32_t addr, uint32_t value) {
    uint8_t b[4];
    std::memcpy(b, &value, 4);
    cfg_.bus->write_phys(addr, b);
}

std::optional<std::string> KernelModel::read_string(uint32_t addr, size_t max) const {
    std::string out;
    for (size_t i = 0; i < max; ++i) {
        uint8_t c;
        if (!cfg_.bus->read_phys(addr + uint32_t(i), {&c, 1}))
            return std::nullopt;
        if (!c)
            return out;
        out.push_back(char(c));
    }
    return out; // truncated at max, as strlcpy would
}

bool KernelModel::writable(uint32_t addr, uint32_t len) const {
    // RAM only: the vector page is read-only and MMIO is no place for kernel data.
    return len <= cfg_.bus->ram_size() && addr <= cfg_.bus->ram_size() - len;
}

std::optional<std::string> KernelModel::symbolize(uint32_t addr) const {
    // The FIQ vector holds a copy of the claiming driver's stub: named after it.
    if (fiq_handler_.len && addr - fiq_handler_.addr < fiq_handler_.len)
        return fmt::format("{}+0x{:x}/0x{:x}", fiq_handler_.name, addr - fiq_handler_.addr,
                           fiq_handler_.len);
    if (auto s = vector_page_symbolize(addr))
        return s;
    if (image_)
        if (const Symbol* sym = image_->symbol_at(addr & ~1u))
            return fmt::format("{}+0x{:x}/0x{:x}", sym->name, (addr & ~1u) - sym->addr, sym->size);
    return std::nullopt;
}

void KernelModel::setup_vectors(ArmCore& core) {
    // cpu_init(): each exception mode's sp points at this CPU's 12-byte scratch area
    // (struct stack { u32 irq[3], abt[3], und[3], fiq[3]; }).
    uint32_t stk = PIEMU_KM_STACKS_SCRATCH + core.index() * 48;
    core.set_banked_sp(CpuMode::Irq, stk);
    core.set_banked_sp(CpuMode::Abt, stk + 12);
    core.set_banked_sp(CpuMode::Und, stk + 24);
    core.set_banked_sp(CpuMode::Fiq, stk + 36);
    // SCTLR.V: the high vectors at 0xffff0000, as Linux uses them.
    core.set_cp15(1, 0, 0, 0, core.sctlr() | (1u << 13));
}

void KernelModel::create_kthreads() {
    // What runs by the time init starts (spawn_ksoftirqd, workqueue_init): each
    // thread has run and gone to sleep; the first wake-up starts its loop.
    for (unsigned cpu = 0; cpu < cfg_.cores.size(); ++cpu) {
        task_struct* t =
            kthread_create(fmt::format("ksoftirqd/{}", cpu), 0, 0,
                           [this, cpu](task_struct* self) { return run_ksoftirqd(self, cpu); });
        set_task_state(t, TASK_INTERRUPTIBLE);
        t->wchan = "smpboot_thread_fn";
        ksoftirqd_.push_back(t);
    }
    ksoftirqd_.resize(cfg_.nr_cpus, nullptr);
    kworker_ = kthread_create("kworker/0:0", 0, 0,
                              [this](task_struct* self) { return worker_thread(self); });
    set_task_state(kworker_, TASK_INTERRUPTIBLE);
    kworker_->wchan = "worker_thread";
}

void KernelModel::start_init(uint32_t entry, bool thumb, const LoadedImage* image) {
    image_ = image;
    task_struct* init = init_;
    set_task_state(init, TASK_RUNNING);
    init_started_ = true;
    // kernel_thread(kernel_init): copy_thread puts the function in r5 and its
    // argument in r4; ret_from_fork calls it and do_exit()s with its result.
    CpuContext& ctx = init->ctx;
    ctx.r[4] = 0;
    ctx.r[5] = entry | (thumb ? 1u : 0u);
    ctx.r[13] = init->stack + THREAD_START_SP;
    ctx.r[15] = vector_page_symbol("ret_from_fork");
    ctx.cpsr = SVC_MODE; // IRQs and FIQs enabled
    current_[0] = init;
    restore_context(0, init);
}

void KernelModel::start_idle() {
    restore_context(0, idle_[0]);
}

void KernelModel::boot() {
    for (ArmCore* core : cfg_.cores)
        setup_vectors(*core);
    create_kthreads();
    irq_.set_current_cpu(0);
    // Only the cores that run are online (the others come up with the SMP work);
    // /proc/interrupts has a column per online CPU, as in Linux.
    for (unsigned cpu = unsigned(cfg_.cores.size()); cpu < cfg_.nr_cpus; ++cpu)
        irq_.set_cpu_online(cpu, false);
    // init_IRQ() -> irqchip_init(): the DT order, root controller first.
    chip_.l1_intc_of_init();
    // set_handle_irq(bcm2836_arm_irqchip_handle_irq): the vector page's pointer.
    wr32(vector_page_symbol("handle_arch_irq"),
         vector_page_symbol("bcm2836_arm_irqchip_handle_irq"));
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

    // The drivers of the other devices on the board (drivers/).
    probe_drivers();
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
    if (evt->cpu == 0) {
        ++ticks_;
        // run_local_timers(): TIMER_SOFTIRQ only when a timer is due.
        if (std::any_of(tasks_.begin(), tasks_.end(),
                        [this](const auto& t) { return timer_expired(*t); }))
            raise_softirq(0, TIMER_SOFTIRQ);
        scheduler_tick(0);
    }
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

} // namespace piemu::kernel
