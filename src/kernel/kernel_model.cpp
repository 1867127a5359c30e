#include "kernel/kernel_model.hpp"

#include <algorithm>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cpu/generic_timer.hpp"
#include "kernel/drivers/drivers.hpp"
#include "kernel/irq/internals.hpp"
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
        idle->cpu = cpu;
        idle->cpus_allowed = 1u << cpu;
        idle->no_setaffinity = true;
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
        // Its first run takes the line's affinity (irq_thread_check_affinity).
        test_and_set_bit(IRQTF_AFFINITY, &action.thread_flags);
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
    chip_.set_handle_ipi([this](unsigned ipinr, pt_regs* regs) { return handle_IPI(ipinr, regs); });
    call_single_queue_.assign(cfg.nr_cpus, {});
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

std::optional<SymbolHit> KernelModel::symbol_at(uint32_t addr) const {
    // The FIQ vector holds a copy of the claiming driver's stub: named after it.
    if (fiq_handler_.len && addr - fiq_handler_.addr < fiq_handler_.len)
        return SymbolHit{fiq_handler_.name, addr - fiq_handler_.addr, fiq_handler_.len};
    if (auto s = vector_page_symbol_at(addr))
        return s;
    if (image_)
        if (const Symbol* sym = image_->symbol_at(addr & ~1u))
            return SymbolHit{sym->name, (addr & ~1u) - sym->addr, sym->size};
    return std::nullopt;
}

std::optional<std::string> KernelModel::symbolize(uint32_t addr) const {
    if (auto s = symbol_at(addr))
        return fmt::format("{}+0x{:x}/0x{:x}", s->name, s->offset, s->size);
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

void KernelModel::reserve_pids(std::initializer_list<const char*> what) {
    // NOTE: these threads do nothing the model shows (RCU, CPU hotplug, the
    // high-priority and unbound worker pools, mm's per-CPU workqueue): they are left
    // out, and their pids with them, so the others keep 4.14's numbers.
    next_pid_ += int(what.size());
}

task_struct* KernelModel::create_percpu_kthread(std::string comm, unsigned cpu, const char* wchan,
                                                std::function<Task<uint32_t>(task_struct*)> body) {
    task_struct* t = kthread_create(std::move(comm), 0, 0, std::move(body));
    kthread_bind(t, cpu);
    set_task_state(t, TASK_INTERRUPTIBLE);
    t->wchan = wchan;
    return t;
}

void KernelModel::spawn_kworker(unsigned cpu) {
    kworker_[cpu] =
        create_percpu_kthread(fmt::format("kworker/{}:0", cpu), cpu, "worker_thread",
                              [this, cpu](task_struct* self) { return worker_thread(self, cpu); });
}

void KernelModel::spawn_ksoftirqd(unsigned cpu) {
    ksoftirqd_[cpu] =
        create_percpu_kthread(fmt::format("ksoftirqd/{}", cpu), cpu, "smpboot_thread_fn",
                              [this, cpu](task_struct* self) { return run_ksoftirqd(self, cpu); });
}

void KernelModel::spawn_migration(unsigned cpu) {
    migration_[cpu] = create_percpu_kthread(
        fmt::format("migration/{}", cpu), cpu, "smpboot_thread_fn",
        [this, cpu](task_struct* self) { return cpu_stopper_thread(self, cpu); });
    // SCHED_FIFO at MAX_RT_PRIO - 1 (cpu_stop_create): ps's PRI -40.
    sched_setscheduler(migration_[cpu], kSchedFifo, MAX_RT_PRIO - 1);
}

void KernelModel::create_kthreads() {
    // What exists by the time init starts, in 4.14's creation order (the reference's
    // ksoftirqd/0..3 are pids 7, 14, 19, 24): workqueue_init() starts the boot CPU's
    // pools' first workers, init_mm_internals() mm_percpu_wq's rescuer, the early
    // initcalls ksoftirqd/0 (spawn_ksoftirqd), RCU's kthreads and migration/0
    // (cpu_stop_init), smp_init() cpuhp/0. Each thread has run and gone to sleep; the
    // first wake-up starts its loop.
    ksoftirqd_.assign(cfg_.nr_cpus, nullptr);
    kworker_.assign(cfg_.nr_cpus, nullptr);
    migration_.assign(cfg_.nr_cpus, nullptr);
    work_list_.assign(cfg_.nr_cpus, {});
    work_running_.assign(cfg_.nr_cpus, 0);
    stop_work_.assign(cfg_.nr_cpus, {});
    spawn_kworker(0);
    reserve_pids({"kworker/0:0H", "kworker/u8:0", "mm_percpu_wq"});
    spawn_ksoftirqd(0);
    reserve_pids({"rcu_sched", "rcu_bh"});
    spawn_migration(0);
    reserve_pids({"cpuhp/0"});
}

void KernelModel::create_percpu_kthreads(unsigned cpu) {
    // smpboot's hotplug_threads list holds the latest registered first (cpuhp, then
    // cpu_stop, then ksoftirqd); then the CPU's two worker pools.
    reserve_pids({"cpuhp/N"});
    spawn_migration(cpu);
    spawn_ksoftirqd(cpu);
    spawn_kworker(cpu);
    reserve_pids({"kworker/N:0H"});
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
    // The boot CPU alone is online until smp_init() brings the others up;
    // /proc/interrupts has a column per online CPU, as in Linux.
    for (unsigned cpu = 1; cpu < cfg_.nr_cpus; ++cpu)
        irq_.set_cpu_online(cpu, false);
    // init_IRQ() -> irqchip_init(): the DT order, root controller first.
    chip_.l1_intc_of_init();
    // set_handle_irq(bcm2836_arm_irqchip_handle_irq): the vector page's pointer.
    wr32(vector_page_symbol("handle_arch_irq"),
         vector_page_symbol("bcm2836_arm_irqchip_handle_irq"));
    chip_.armctrl_of_init();
    arch_timer_init();
    // kernel_init(): the secondaries come up before the drivers probe.
    smp_init();

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
    arch_timer_starting_cpu(0);
}

void KernelModel::arch_timer_starting_cpu(unsigned cpu) {
    // Both PPIs enabled on the CPU (enable_percpu_irq acts on the current one), then
    // its periodic tick programmed (clockevents, CONFIG_HZ).
    const unsigned saved = irq_.smp_processor_id();
    irq_.set_current_cpu(cpu);
    irq_.enable_percpu_irq(chip_.local_irq(Bcm2836Irqchip::LOCAL_IRQ_CNTPSIRQ), 0);
    irq_.enable_percpu_irq(chip_.local_irq(Bcm2836Irqchip::LOCAL_IRQ_CNTPNSIRQ), 0);
    irq_.set_current_cpu(saved);
    timer_evt_[cpu].next_cval = cntp(cpu, true, 14, 0, 0, true) + period_ticks_; // CNTPCT
    arch_timer_program(cpu);
}

void KernelModel::store_cpu_topology(unsigned cpu) {
    // arch/arm/kernel/topology.c: a core without MPIDR.MT: thread -1, core = Aff0,
    // socket = Aff1 (15 on the Pi 2's 0x80000f0n, 0 on the Pi 3's 0x8000000n).
    uint32_t mpidr = cfg_.cores.at(cpu)->cp15(0, 0, 0, 5);
    log_.printk(KERN_INFO, "CPU%u: thread %d, cpu %d, socket %d, mpidr %x\n", cpu, -1,
                int(mpidr & 0xff), int((mpidr >> 8) & 0xff), mpidr);
}

void KernelModel::smp_init() {
    // smp_prepare_cpus(): the boot CPU's topology; then smp_init() brings up the
    // others one at a time (maxcpus= caps them), smp_announce(), smp_cpus_done().
    const unsigned max =
        std::min<unsigned>(cfg_.maxcpus ? cfg_.maxcpus : unsigned(cfg_.cores.size()),
                           std::min<unsigned>(unsigned(cfg_.cores.size()), cfg_.nr_cpus));
    store_cpu_topology(0);
    log_.printk(KERN_INFO, "smp: Bringing up secondary CPUs ...\n");
    for (unsigned cpu = 1; cpu < max; ++cpu)
        cpu_up(cpu);
    unsigned online = 0;
    for (unsigned cpu = 0; cpu < cfg_.nr_cpus; ++cpu)
        online += irq_.cpu_online(cpu) ? 1 : 0;
    log_.printk(KERN_INFO, "smp: Brought up 1 node, %u CPU%s\n", online, online > 1 ? "s" : "");
    // The delay loop runs off the arch timer: loops_per_jiffy = rate / HZ on every CPU
    // (38.40 BogoMIPS each at 19.2 MHz).
    uint64_t bogosum = uint64_t(online) * period_ticks_;
    log_.printk(KERN_INFO, "SMP: Total of %u processors activated (%lu.%02lu BogoMIPS).\n", online,
                (unsigned long)(bogosum / (500000 / cfg_.hz)),
                (unsigned long)((bogosum / (5000 / cfg_.hz)) % 100));
    // hyp_mode_check(): piemu's cores start in SVC mode, not HYP.
    log_.printk(KERN_INFO, "CPU: All CPU(s) started in SVC mode.\n");
}

void KernelModel::cpu_up(unsigned cpu) {
    // CPUHP_CREATE_THREADS and CPUHP_WORKQUEUE_PREP on the boot CPU.
    create_percpu_kthreads(cpu);
    // __cpu_up(): secondary_data.stack = the idle task's, then boot_secondary():
    // bcm2836_boot_secondary writes secondary_startup to the core's mailbox 3, where
    // the firmware's boot loop waits (the machine starts the core there).
    task_struct* idle = idle_.at(cpu);
    wr32(PIEMU_KM_SECONDARY_DATA + 4 * cpu, idle->stack + THREAD_START_SP);
    chip_.boot_secondary(cpu, vector_page_symbol("secondary_startup"));
    // secondary_start_kernel(), done here for the CPU before it first runs:
    // smp_store_cpu_info(), notify_cpu_starting() (the irqchip's and the arch timer's
    // CPUHP_AP_*_STARTING), set_cpu_online(). The CPU then enables FIQs and IRQs and
    // idles (secondary_startup, do_idle).
    store_cpu_topology(cpu);
    chip_.cpu_starting(cpu);
    arch_timer_starting_cpu(cpu);
    irq_.set_cpu_online(cpu, true);
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
    // evt->event_handler: tick_handle_periodic(); the boot CPU (tick_do_timer_cpu)
    // does do_timer(), every CPU update_process_times(): run_local_timers() raises
    // TIMER_SOFTIRQ when one of its CPU's timers is due, scheduler_tick().
    const unsigned cpu = evt->cpu;
    if (cpu == 0)
        ++ticks_;
    if (std::any_of(tasks_.begin(), tasks_.end(), [this, cpu](const auto& t) {
            return t->timer_cpu == cpu && timer_expired(*t);
        }))
        raise_softirq(cpu, TIMER_SOFTIRQ);
    scheduler_tick(cpu);
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
