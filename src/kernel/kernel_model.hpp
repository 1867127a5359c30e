// The kernel model: piemu's stand-in for a Linux 4.14 kernel on the Pi, built around
// the C++ genirq (kernel/irq). It boots the irqchips in Linux's order, registers the
// built-in drivers of the devices that exist (arch_timer, arm-pmu, uart-pl011), maps
// its vector page (firmware/kernel/*.S) at 0xffff0000 and runs tiny guest images as
// its init task.
//
// Interrupts take the real exception path: vector_irq -> __irq_svc/__irq_usr build
// pt_regs on the current task's kernel stack and call handle_arch_irq, a gate
// (gates.S) that enters the C++ bcm2836_arm_irqchip_handle_irq. C++ code that must
// run guest code (a guest handler) suspends (Task<T>) after pointing the core at the
// guest function with lr = ret_from_guest_call; the run loop runs the guest and the
// return gate resumes the C++ (entry.cpp). Tasks (sched.cpp) own 8 KiB kernel stacks
// with the 4.14 thread_info at their base; preempt_count lives there, in guest memory.
//
// The MMU stays off for kernel-model guests: guest virtual = physical addresses.
#pragma once

#include <array>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel/irqchip/bcm2836_irqchip.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/clock.hpp"
#include "piemu/kernel/irq.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/kernel/printk.hpp"
#include "piemu/kernel/sched.hpp"

namespace piemu {
class ArmCore;
class Bus;
class VirtualClock;
struct LoadedImage;
} // namespace piemu

namespace piemu::kernel {

/// struct pt_regs: the exception frame, at `addr` in guest memory (guest_abi.h S_*).
struct pt_regs {
    uint32_t addr = 0;
};

/// The registers a task leaves behind when it is switched out.
struct CpuContext {
    std::array<uint32_t, 16> r{}; ///< r0-r15 of SVC mode (r15: where it resumes)
    uint32_t cpsr = 0;
};

/// A guest function the kernel model called and waits for (innermost last per task).
struct GuestCallFrame {
    std::coroutine_handle<> waiter;
    uint32_t sp = 0;     ///< the caller's sp, restored when the guest returns
    uint32_t result = 0; ///< the guest's r0
    uint32_t cpsr = 0;   ///< the caller's CPSR, restored when the guest returns
};

// Scheduling policies (include/uapi/linux/sched.h); task states in piemu/kernel/sched.hpp.
// SCHED_NORMAL, SCHED_FIFO, SCHED_RR (named apart: <sched.h> defines the latter two as macros)
inline constexpr int kSchedNormal = 0, kSchedFifo = 1, kSchedRr = 2;
inline constexpr int MAX_RT_PRIO = 100; ///< prio 0-99 real time, 100-139 normal
inline constexpr int DEFAULT_PRIO = 120;

/// A gate call in progress: where the gate is and how it was called, for backtraces.
struct GateFrame {
    uint32_t gate = 0; ///< the gate's address
    uint32_t lr = 0, sp = 0;
    uint32_t r0 = 0, r2 = 0; ///< the arguments that may be a pt_regs pointer
};

/// A task of the kernel model. The guest sees thread_info at `stack` and the
/// task_struct members of guest_abi.h (TSK_*) at `addr`.
struct task_struct {
    int pid = 0;
    std::string comm;              ///< at most TASK_COMM_LEN - 1 characters, as the kernel keeps it
    uint32_t state = TASK_RUNNING; ///< the kernel's task->state (| exit state)
    int policy = kSchedNormal;
    int rt_priority = 0;     ///< 1-99 for SCHED_FIFO/RR
    int prio = DEFAULT_PRIO; ///< what ftrace prints: 99 - rt_priority for RT tasks
    uint32_t addr = 0;       ///< guest task_struct
    uint32_t stack = 0;      ///< thread_info / stack base (8 KiB aligned)
    task_struct* parent = nullptr;
    bool is_idle = false;
    unsigned cpu = 0;                   ///< task_cpu(): the runqueue it is on
    uint32_t cpus_allowed = ~0u;        ///< the CPUs it may run on (a cpumask)
    bool no_setaffinity = false;        ///< PF_NO_SETAFFINITY: bound to its CPU (kthread_bind)
    bool woken = false;                 ///< has been woken at least once (kthread_bind refuses)
    CpuContext ctx;                     ///< valid while switched out
    std::coroutine_handle<> resume;     ///< C++ to resume when switched back in
    std::vector<Task<void>> gates;      ///< gate calls in progress, innermost last
    std::vector<GuestCallFrame*> calls; ///< guest calls in progress, innermost last
    std::vector<GateFrame> gate_frames; ///< gate calls in progress, innermost last
    std::optional<uint64_t> timeout;    ///< msleep: wake at this tick count
    unsigned timer_cpu = 0;             ///< the CPU whose timer wheel holds `timeout`
    /// A kernel thread whose function is C++ (an IRQ thread): run by the
    /// kthread_body gate when the task first runs.
    std::function<Task<uint32_t>(task_struct*)> body;
    bool should_stop = false;       ///< kthread_stop() asked it to exit
    std::optional<int> exit_code;   ///< set when it has exited
    unsigned slice = 0;             ///< ticks left of a normal task's time slice
    std::string wchan = "schedule"; ///< the function it sleeps in (ps's WCHAN)
    /// A system call that may sleep, made with interrupts off and preempt_count 0,
    /// returns with them on (schedule() enables them): check_sleep() sets it.
    bool irqs_on_at_return = false;
};

/// The sched and softirq trace points (include/trace/events/sched.h, irq.h), as the
/// trace layer implements them; the event's context is the CPU's current task (prev
/// for sched_switch, the waker for sched_wakeup).
class KernelTraceHooks {
public:
    virtual ~KernelTraceHooks() = default;
    virtual void sched_switch(bool preempt, const task_struct& prev, const task_struct& next) = 0;
    virtual void sched_wakeup(const task_struct& t, unsigned target_cpu) = 0;
    virtual void sched_process_fork(const task_struct& parent, const task_struct& child) = 0;
    virtual void sched_process_exit(const task_struct& t) = 0;
    virtual void softirq_raise(unsigned vec) = 0;
    virtual void softirq_entry(unsigned vec) = 0;
    virtual void softirq_exit(unsigned vec) = 0;
    /// include/trace/events/ipi.h: `reason` indexes ipi_types[].
    virtual void ipi_raise(uint32_t target_cpus, unsigned reason) {
        (void)target_cpus, (void)reason;
    }
    virtual void ipi_entry(unsigned reason) { (void)reason; }
    virtual void ipi_exit(unsigned reason) { (void)reason; }
};

// The IPIs of arch/arm/kernel/smp.c (4.14), in the order of the IPI0-IPI6 rows.
enum : unsigned {
    IPI_WAKEUP = 0,
    IPI_TIMER,
    IPI_RESCHEDULE,
    IPI_CALL_FUNC,
    IPI_CPU_STOP,
    IPI_IRQ_WORK,
    IPI_COMPLETION,
};

// The softirq vectors (include/linux/interrupt.h of 4.14).
enum : unsigned {
    HI_SOFTIRQ = 0,
    TIMER_SOFTIRQ,
    NET_TX_SOFTIRQ,
    NET_RX_SOFTIRQ,
    BLOCK_SOFTIRQ,
    IRQ_POLL_SOFTIRQ,
    TASKLET_SOFTIRQ,
    SCHED_SOFTIRQ,
    HRTIMER_SOFTIRQ,
    RCU_SOFTIRQ,
    NR_SOFTIRQS
};

/// A guest function the kernel model calls, described for a debugger: what it is
/// ("handler", "thread_fn", "tasklet", ...) and the names of the arguments it gets.
struct GuestCallInfo {
    const char* kind = "function";
    std::array<const char*, 4> args{}; ///< null past the last argument
};

/// What a debugger (the stepper) sees of the kernel model's C++ besides the trace
/// points: preempt_count changes and calls into guest code.
class KernelDebugHooks {
public:
    virtual ~KernelDebugHooks() = default;
    virtual void preempt_count_changed(unsigned cpu, uint32_t old, uint32_t now) {
        (void)cpu, (void)old, (void)now;
    }
    /// The C++ is about to run guest function `fn` (bit 0: Thumb) with `args`.
    virtual void guest_call(unsigned cpu, uint32_t fn, const GuestCallInfo& info,
                            const std::array<uint32_t, 4>& args) {
        (void)cpu, (void)fn, (void)info, (void)args;
    }
};

/// Why the kernel model ends the run.
struct KernelStop {
    enum class Kind { PowerOff, InitExit, Panic } kind;
    int status = 0; ///< the piemu process's exit status
    std::string message;
};

/// A device-tree node piemu made a device model for, as Linux's platform bus sees it.
struct PlatformDevice {
    std::string name; ///< dev_name(): "<translated address>.<node name>", "3f00b880.mailbox"
    std::vector<std::string> compatible; ///< the node's, in order
    uint32_t base = 0, size = 0;         ///< the first `reg` entry, translated
    /// The translated address of each `reg` entry piemu maps (regs[0] == base; 0 for an
    /// entry without a model): platform_get_resource(pdev, IORESOURCE_MEM, i).
    std::vector<uint32_t> regs;
    struct Irq {
        std::string controller; ///< the interrupt parent's compatible
        std::vector<uint32_t> cells;
    };
    std::vector<Irq> irqs;         ///< `interrupts`, in order
    uint32_t dma_channel_mask = 0; ///< brcm,dma-channel-mask (the DMA controller)
};

struct DriverState;
struct MmcHost;
/// The two SD host drivers: bcm2835-sdhost and bcm2835-mmc (the Arasan SDHCI).
enum class MmcKind { Sdhost, Sdhci };

struct KernelModelConfig {
    Bus* bus = nullptr;
    VirtualClock* clock = nullptr;
    std::vector<ArmCore*> cores; ///< the board's cores; CPU n runs on cores[n]
    unsigned nr_cpus = 4;        ///< possible CPUs
    /// CPUs smp_init() brings up (Linux's maxcpus= boot option); 0: one per core.
    /// /proc/interrupts has a column per online CPU.
    unsigned maxcpus = 0;
    uint32_t local_intc_base = 0x40000000;
    uint32_t armctrl_base = 0x3f00b200;
    uint32_t uart_base = 0x3f201000;
    unsigned uart_bank = 2, uart_bit = 25; ///< the PL011's ARMCTRL specifier (DT)
    unsigned hz = 100;                     ///< CONFIG_HZ
    bool panic_on_bug = false;             ///< a sleeping-in-atomic BUG panics (--panic-on-bug)
    bool threadirqs = false;               ///< the "threadirqs" boot option: forced threading
    std::vector<PlatformDevice> devices;   ///< in DT order: what the built-in drivers bind to
};

class KernelModel {
public:
    explicit KernelModel(const KernelModelConfig& cfg);
    ~KernelModel();

    /// Boots: vector page setup on every core, irqchips (local controller, then
    /// ARMCTRL), then the built-in drivers. The vector page region must already be
    /// mapped (Machine maps it before the cores start).
    void boot();
    /// Starts `entry` as init (pid 1) in SVC mode with IRQs enabled, on its own
    /// kernel stack, entered through ret_from_fork; `image` gives symbols and text.
    void start_init(uint32_t entry, bool thumb, const LoadedImage* image);
    /// No guest: CPU 0 runs the idle task.
    void start_idle();

    /// The CPU the run loop is running (smp_processor_id() of what the C++ does next).
    void set_current_cpu(unsigned cpu) { irq_.set_current_cpu(cpu); }
    bool cpu_online(unsigned cpu) const { return irq_.cpu_online(cpu); }
    /// True when `pc` is one of the vector page's gates.
    bool is_gate(uint32_t pc) const { return gates_.count(pc) != 0; }
    /// Where the gates lie in the vector page: [__gates_start, __gates_end).
    std::pair<uint32_t, uint32_t> gate_range() const;
    /// The core met a gate (an UDF in gates.S), inside its run or at a stop: runs the
    /// C++ behind it. Returns why the run must end, if it must.
    std::optional<KernelStop> enter_gate(unsigned cpu);
    /// Why the run must end, when that was decided outside a gate (smp_send_stop()'s
    /// one-second timeout); checked by the run loop between slices.
    std::optional<KernelStop> take_stop() { return std::exchange(stop_, std::nullopt); }
    bool stop_pending() const { return stop_.has_value(); }

    Irq& irq() { return irq_; }
    Printk& log() { return log_; }
    PreemptCountStore& preempt();
    Bcm2836Irqchip& irqchip() { return chip_; }
    task_struct* current(unsigned cpu) const { return current_.at(cpu); }
    /// TIF_NEED_RESCHED of the CPU's current task.
    bool need_resched(unsigned cpu) const;
    const std::vector<std::unique_ptr<task_struct>>& tasks() const { return tasks_; }
    /// Ticks of the periodic timer tick so far (jiffies since boot).
    uint64_t ticks() const { return ticks_; }
    /// Bytes the uart-pl011 driver received.
    const std::string& uart_received() const { return uart_rx_; }
    /// Bytes the mini UART's driver (behind bcm2835-auxirq) received.
    const std::string& aux_received() const { return aux_rx_; }
    void set_trace_hooks(KernelTraceHooks* hooks) { sched_trace_ = hooks; }
    KernelTraceHooks* trace_hooks() const { return sched_trace_; }
    void set_debug_hooks(KernelDebugHooks* hooks) { debug_ = hooks; }
    /// `ps -ely`'s table of the tasks (S UID PID PPID C PRI NI ... WCHAN ... CMD).
    std::string dump_tasks() const;
    // softirq.cpp (kernel/softirq.c)
    /// open_softirq(): `action` runs for vector `nr` (a C++ or guest function).
    void open_softirq(unsigned nr, std::function<Task<void>(unsigned cpu)> action);
    /// raise_softirq() from any context: marks it pending (and wakes ksoftirqd
    /// outside interrupt context).
    void raise_softirq(unsigned cpu, unsigned nr);
    uint32_t local_softirq_pending(unsigned cpu) const { return softirq_pending_.at(cpu); }
    /// The symbol covering a guest or vector-page address.
    std::optional<SymbolHit> symbol_at(uint32_t addr) const;
    /// "%pS" for a guest or vector-page address.
    std::optional<std::string> symbolize(uint32_t addr) const;

private:
    enum class Gate {
        HandleArchIrq,
        RetFromGuestCall,
        PreemptScheduleIrq,
        ScheduleIdle,
        DoWorkPending,
        DoExit,
        DoDataAbort,
        DoPrefetchAbort,
        DoUndefinstr,
        BadMode,
        KthreadBody,
        Syscall,      ///< sys_*: the number is in r7
        DwcOtgFiqFsm, ///< dwc_otg's FIQ function, called from its stub in FIQ mode
        HubEvent,     ///< the USB hub driver's work function
    };
    struct GateArgs {
        std::array<uint32_t, 6> r{}; ///< r0-r5
        uint32_t scno = 0;           ///< r7
        uint32_t sp = 0, lr = 0;
        uint32_t cpsr = 0;
    };
    /// A handler or thread function a guest registered with request_threaded_irq.
    struct GuestAction {
        unsigned irq;
        uint32_t handler, thread_fn, dev_id, name;
    };
    struct ArchTimerEvt {
        KernelModel* km;
        unsigned cpu;
        uint64_t next_cval;
    };
    class GuestPreemptCounts;
    struct GuestCallAwaiter;
    struct SwitchAwaiter;

    /// FIQ mode's banked registers as set_fiq_regs() loads them.
    struct FiqRegs {
        uint32_t r8 = 0, r9 = 0, r10 = 0, fp = 0, ip = 0, sp = 0;
    };

    // kernel_model.cpp: boot and built-in drivers
    void setup_vectors(ArmCore& core);
    /// The boot CPU's kernel threads, in 4.14's creation order (pids 3-11).
    void create_kthreads();
    /// smpboot_create_threads() and workqueue_prepare_cpu() for `cpu`: its per-CPU
    /// threads, bound to it (cpuhp/N, migration/N, ksoftirqd/N, kworker/N:0, :0H).
    void create_percpu_kthreads(unsigned cpu);
    task_struct* create_percpu_kthread(std::string comm, unsigned cpu, const char* wchan,
                                       std::function<Task<uint32_t>(task_struct*)> body);
    void spawn_kworker(unsigned cpu);
    void spawn_ksoftirqd(unsigned cpu);
    void spawn_migration(unsigned cpu);
    /// Pids of 4.14 threads the model does not have: `what` names them.
    void reserve_pids(std::initializer_list<const char*> what);
    /// smp_prepare_cpus() and smp_init(): CPUs 1 .. maxcpus-1 up, one after the other.
    void smp_init();
    /// __cpu_up(): the CPU's threads, secondary_data, its boot mailbox; then what its
    /// secondary_start_kernel() does before it idles (done here, on its behalf).
    void cpu_up(unsigned cpu);
    /// store_cpu_topology()'s line for `cpu` (from its MPIDR).
    void store_cpu_topology(unsigned cpu);
    void arch_timer_init();
    /// arch_timer_starting_cpu(): both PPIs enabled on `cpu`, its tick programmed.
    void arch_timer_starting_cpu(unsigned cpu);
    void arch_timer_program(unsigned cpu);
    Task<irqreturn_t> arch_timer_handler_phys(unsigned irq, void* dev);
    Task<irqreturn_t> pl011_int(unsigned irq, void* dev);
    uint64_t cntp(unsigned cpu, bool is64, unsigned crm, unsigned opc1, unsigned opc2, bool read,
                  uint64_t value = 0);

    // fiq.cpp (arch/arm/kernel/fiq.c): the FIQ handler of the driver that claimed it
    /// set_fiq_handler(): copies `length` bytes of vector-page code at `start` to the
    /// FIQ vector (0xffff001c), where the FIQ's first instruction runs.
    void set_fiq_handler(uint32_t start, uint32_t length, std::string name);
    /// set_fiq_regs(): FIQ mode's r8-r12 and sp on `cpu`, which the handler finds
    /// there when the FIQ is taken.
    void set_fiq_regs(unsigned cpu, const FiqRegs& regs);

    // drivers/*.cpp: the built-in platform drivers (drivers/drivers.hpp)
    enum class MmcResp { None, Short, ShortNoCrc, Long, Busy };
    void probe_drivers();
    unsigned platform_get_irq(const PlatformDevice& pd, unsigned index) const;
    uint32_t readl(uint32_t addr) const;
    void writel(uint32_t value, uint32_t addr);
    /// udelay(): the CPU spins for `us` of virtual time; device events run.
    void udelay(uint32_t us);
    /// Sleeps (TASK_UNINTERRUPTIBLE) until `cond` holds, at most `timeout` ticks;
    /// false on timeout. The waker calls wake_up_process().
    Task<bool> wait_event_timeout(unsigned cpu, std::function<bool()> cond, uint64_t timeout,
                                  const char* wchan);
    void bcm2835_mbox_probe(const PlatformDevice& pd);
    Task<irqreturn_t> bcm2835_mbox_irq();
    /// rpi_firmware_property(): one tag through the property channel; the value
    /// length the firmware answered, or -errno.
    Task<int> rpi_firmware_property(unsigned cpu, uint32_t tag, uint32_t buf, uint32_t len);
    void bcm2835_dma_probe(const PlatformDevice& pd);
    /// dma_request_chan(): the next free channel of the mask (its "DMA IRQ"
    /// requested), or -1.
    int dma_request_chan(std::string client);
    void bcm2835_aux_probe(const PlatformDevice& pd);
    void vchiq_probe(const PlatformDevice& pd);
    // drivers/dwc_otg.cpp: Raspbian's dwc_otg and the bits of the USB core it drives
    void dwc_otg_probe(const PlatformDevice& pd);
    void dwc_otg_core_init();
    void hcd_init_fiq(const PlatformDevice& pd);
    void dwc_otg_core_host_init();
    Task<irqreturn_t> dwc_otg_common_irq();
    Task<irqreturn_t> dwc_otg_hcd_irq();
    int dwc_otg_hcd_handle_sof_intr();
    int dwc_otg_hcd_handle_port_intr();
    void dwc_otg_hcd_qh_add();
    /// The FIQ gate: dwc_otg_fiq_fsm(state, num_channels) on the driver's fiq_state.
    void dwc_otg_fiq(unsigned num_channels);
    /// hub_event(): the root hub's port change as the hub driver handles it (hub_wq).
    Task<void> hub_event(unsigned cpu);
    void mmc_probe(const PlatformDevice& pd, MmcKind kind);
    Task<irqreturn_t> bcm2835_sdhost_irq(unsigned index);
    Task<irqreturn_t> bcm2835_mmc_irq(unsigned index);
    Task<int> mmc_cmd(unsigned cpu, MmcHost& h, unsigned opcode, uint32_t arg, MmcResp resp,
                      std::array<uint32_t, 4>* r, uint32_t blocks = 0);
    Task<int> mmc_rescan(unsigned cpu, MmcHost& h);
    /// Reads `count` 512-byte blocks from mmcN at `lba` into guest memory: bytes
    /// read or -errno.
    Task<int> mmc_read(unsigned cpu, unsigned index, uint32_t lba, uint32_t count, uint32_t buf);

    // smp.cpp: IPIs and cross-CPU function calls (arch/arm/kernel/smp.c, kernel/smp.c)
    /// smp_cross_call(): the ipi_raise event, then the irqchip's send_ipi.
    void smp_cross_call(uint32_t cpumask, unsigned ipi);
    void smp_send_reschedule(unsigned cpu);
    /// handle_IPI() on the current CPU (hard irq entry, without irq_enter()).
    Task<void> handle_IPI(unsigned ipinr, pt_regs* regs);
    /// smp_call_function_single(): `func(info)` (guest code) on `cpu`, in its hard irq
    /// context when it is another CPU; with `wait`, returns when it has run. 0 or -ENXIO.
    Task<int> smp_call_function_single(unsigned cpu, uint32_t func, uint32_t info, bool wait);
    Task<void> flush_smp_call_function_queue(unsigned cpu);

    // entry.cpp: gates and guest calls
    Task<void> run_gate(unsigned cpu, Gate gate);
    Task<uint32_t> gate_body(unsigned cpu, Gate gate, const GateArgs& a);
    void ret_from_guest_call(unsigned cpu);
    /// Calls guest function `fn` with up to four arguments on the current stack;
    /// resumes with its r0. `irqs_on`: the function runs with IRQs enabled (softirq
    /// handlers) whatever the caller's CPSR.I.
    Task<uint32_t> call_guest(unsigned cpu, uint32_t fn, std::array<uint32_t, 4> args,
                              bool irqs_on = false, GuestCallInfo info = {});
    void begin_guest_call(unsigned cpu, uint32_t fn, const std::array<uint32_t, 4>& args,
                          bool irqs_on, const GuestCallInfo& info, GuestCallFrame& frame);
    void reap_gates(unsigned cpu);
    /// Ends the run. A panic or a power-off with other CPUs online first stops them,
    /// as panic() and machine_power_off() do with smp_send_stop(): `end_lines` (the
    /// panic's "---[ end Kernel panic" marker) are printed once they stopped.
    void stop(KernelStop s, std::vector<std::string> end_lines = {});
    /// panic(msg): its first lines now, then stop() with its end marker, printed once
    /// the other CPUs stopped. `why` is the run's outcome message.
    void panic(std::string_view msg, std::string why);
    /// smp_send_stop(): IPI_CPU_STOP to every other online CPU; the run ends when they
    /// are offline or after a second. False when no other CPU is online.
    bool smp_send_stop(unsigned cpu);
    /// The CPUs stopped (or the second passed): the held stop ends the run.
    void smp_send_stop_done();

    // sched.cpp: tasks and the scheduler
    task_struct* create_task(std::string comm, task_struct* parent);
    /// kthread_create(): a kernel thread (child of kthreadd) that starts at guest
    /// function `fn(arg)` or, when `body` is set, runs that C++ function; not yet woken.
    task_struct* kthread_create(std::string comm, uint32_t fn, uint32_t arg,
                                std::function<Task<uint32_t>(task_struct*)> body);
    /// kthread_bind(): a thread that has not run yet, on `cpu` for good.
    void kthread_bind(task_struct* t, unsigned cpu);
    /// set_task_cpu(): moves a task that is not running to `cpu`'s runqueue.
    void set_task_cpu(task_struct* t, unsigned cpu);
    /// select_task_rq(): where a waking task runs: where it was, if it may still run
    /// there; else the first allowed online CPU. (No load balancing: see sched.cpp.)
    unsigned select_task_rq(const task_struct* t) const;
    /// resched_curr(): TIF_NEED_RESCHED for `cpu`'s current task.
    void resched_curr(unsigned cpu);
    /// set_cpus_allowed_ptr() (__set_cpus_allowed_ptr with check: per-CPU threads are
    /// refused): a running task leaves a CPU it may no longer use through that CPU's
    /// stopper (migration/N), a queued one moves at once, a sleeping one where it
    /// wakes. 0 or -EINVAL.
    Task<int> set_cpus_allowed_ptr(task_struct* p, uint32_t new_mask);
    /// move_queued_task(): a runnable task that is not running onto `dest`'s runqueue.
    void move_queued_task(task_struct* p, unsigned dest);
    /// stop_one_cpu(): `fn` runs on `cpu` in its migration/N thread, which preempts
    /// whatever runs there; the calling task sleeps until it has run.
    Task<void> stop_one_cpu(unsigned cpu, std::function<Task<void>(unsigned cpu)> fn);
    /// kthread_stop(): asks the thread to stop, wakes it, waits for its exit code.
    Task<int> kthread_stop(unsigned cpu, task_struct* t);
    /// do_exit() of the current task: it never runs again.
    Task<void> do_exit(unsigned cpu, int code);
    void sched_setscheduler(task_struct* t, int policy, int rt_priority);
    /// scheduler_tick(): time slices of normal tasks.
    void scheduler_tick(unsigned cpu);
    void save_context(unsigned cpu, task_struct* t);
    void restore_context(unsigned cpu, task_struct* t);
    std::coroutine_handle<> context_switch(unsigned cpu, task_struct* prev, task_struct* next,
                                           std::coroutine_handle<> h);
    task_struct* pick_next_task(unsigned cpu, task_struct* prev);
    Task<void> schedule(unsigned cpu); ///< __schedule()
    /// schedule_timeout(): the current task sleeps in `state` (in `wchan`) until woken
    /// or until `timeout` ticks have passed (its timer on this CPU's wheel, as
    /// process_timeout() on it); returns the ticks that were left.
    Task<uint64_t> schedule_timeout(unsigned cpu, uint64_t timeout, uint32_t state,
                                    const char* wchan);
    Task<void> preempt_schedule_irq(unsigned cpu);
    void wake_up_process(task_struct* t);
    void run_local_timers(unsigned cpu);
    /// An msleep()/schedule_timeout() sleeper whose timeout has passed.
    bool timer_expired(const task_struct& t) const;
    void set_task_state(task_struct* t, uint32_t state);
    /// irq_thread(): the body of "irq/N-name".
    Task<uint32_t> irq_thread(task_struct* self, irqaction* action);
    uint32_t ti_flags(task_struct* t) const;
    void set_ti_flags(task_struct* t, uint32_t flags);

    // syscalls.cpp
    Task<uint32_t> syscall(unsigned cpu, const GateArgs& a);
    int32_t sys_request_threaded_irq(const GateArgs& a);
    Task<uint32_t> sys_free_irq(unsigned irq, uint32_t dev_id);
    int32_t sys_printk(const GateArgs& a);
    int32_t sys_kthread_create(uint32_t fn, uint32_t data, uint32_t name);
    /// A task by its task_struct address: live ones, or exited ones too (their
    /// task_struct stays, as the kernel's does while referenced).
    task_struct* task_at(uint32_t addr, bool include_exited = false) const;
    int32_t sys_piemu_irq_desc(unsigned irq, uint32_t info);
    Task<uint32_t> sys_msleep(unsigned cpu, uint32_t msecs);
    /// A guest handler (or thread_fn: `kind`) as genirq calls it.
    irq_handler_t guest_handler(uint32_t fn, const char* kind = "handler");
    bool in_guest_text(uint32_t addr) const;

    // softirq.cpp
    void __raise_softirq_irqoff(unsigned cpu, unsigned nr);
    Task<void> __do_softirq(unsigned cpu);
    Task<void> invoke_softirq(unsigned cpu);
    void wakeup_softirqd(unsigned cpu);
    Task<uint32_t> run_ksoftirqd(task_struct* self, unsigned cpu);
    Task<void> run_timer_softirq(unsigned cpu);
    Task<void> tasklet_action(unsigned cpu, bool hi);
    /// tasklet_schedule()/tasklet_hi_schedule() of a guest tasklet_struct.
    void tasklet_schedule(unsigned cpu, uint32_t t, bool hi);
    /// local_bh_enable(): softirqs pending when the count drops to zero run now.
    Task<void> local_bh_enable(unsigned cpu);
    // workqueue (kernel/workqueue.c, one system_wq with one worker)
    bool queue_work(uint32_t work);
    Task<void> flush_work(unsigned cpu, uint32_t work);
    Task<uint32_t> worker_thread(task_struct* self, unsigned cpu);
    /// cpu_stopper_thread(): migration/N runs the stop work queued on its CPU.
    Task<uint32_t> cpu_stopper_thread(task_struct* self, unsigned cpu);
    /// The work queued or running on any CPU's pool.
    bool work_busy(uint32_t work) const;
    // completions and mutexes of guest memory (kernel/sched/completion.c,
    // kernel/locking/mutex.c): the wait lists are the model's, the state the guest's.
    Task<void> wait_for_completion(unsigned cpu, uint32_t x);
    void complete(uint32_t x);
    Task<int> mutex_lock(unsigned cpu, uint32_t lock);
    int mutex_unlock(unsigned cpu, uint32_t lock);
    /// Sleeps the current task in `state` on the wait list `key` until woken.
    Task<void> sleep_on(unsigned cpu, uint32_t key, uint32_t state);
    /// Wakes the first (or every) task sleeping on `key`.
    bool wake_up_key(uint32_t key, bool all);

    // debug.cpp: the kernel's reports of misuse
    /// The current task's call chain as dump_backtrace() prints it: gates, the
    /// exception frames they were entered from, and guest frames (APCS frame
    /// pointers: tiny guests are built with -mapcs-frame).
    std::vector<std::string> backtrace(unsigned cpu);
    /// The pt_regs vector_swi saved for the gate it called (the gate's lr is
    /// ret_fast_syscall, its sp below that frame); 0 for a gate entered otherwise.
    uint32_t syscall_pt_regs(uint32_t lr, uint32_t sp) const;
    /// dump_stack(): "CPU: ... Comm: ..." and the backtrace, KERN_DEFAULT.
    void dump_stack(unsigned cpu);
    /// Whether a kernel function that may sleep may sleep here, with Linux 4.14's
    /// reports when not: ___might_sleep()'s (at `might_sleep_at`, "file:line", for a
    /// function that calls might_sleep() first; nullptr for one that goes straight
    /// to schedule(), as msleep()) and, when the call would block (`blocks`),
    /// __schedule_bug()'s. False in atomic context (preempt_count not 0): the model
    /// does not sleep there. With only interrupts off: true, and the system call
    /// returns with them on.
    bool check_sleep(unsigned cpu, const char* might_sleep_at, bool blocks = true);

    // oops.cpp
    /// die() for a fault in kernel-model context; true when the kernel panics (the
    /// run stops), false when the current task is to be killed.
    bool oops(unsigned cpu, const std::vector<std::string>& first, const char* str, uint32_t err,
              uint32_t regs);

    // Guest memory (physical: the MMU is off).
    uint32_t rd32(uint32_t addr) const;
    void wr32(uint32_t addr, uint32_t value);
    std::optional<std::string> read_string(uint32_t addr, size_t max) const;
    bool writable(uint32_t addr, uint32_t len) const;

    KernelModelConfig cfg_;
    Printk log_;
    std::unique_ptr<GuestPreemptCounts> preempt_;
    Irq irq_;
    Bcm2836Irqchip chip_;
    std::map<uint32_t, Gate> gates_; ///< gate address -> what it runs
    uint32_t ret_from_guest_call_ = 0;
    const LoadedImage* image_ = nullptr;
    std::vector<std::unique_ptr<task_struct>> tasks_;
    std::vector<task_struct*> current_; ///< per CPU
    std::vector<task_struct*> idle_;    ///< per CPU: swapper/N
    task_struct* kthreadd_ = nullptr;
    task_struct* init_ = nullptr;
    bool init_started_ = false; ///< a guest image runs as init
    std::map<task_struct*, std::vector<task_struct*>> waiting_for_exit_; ///< kthread_stop()
    KernelTraceHooks* sched_trace_ = nullptr;
    KernelDebugHooks* debug_ = nullptr;
    bool preempting_ = false; ///< the switch in progress is a preemption
    int next_pid_ = 0;
    std::vector<GuestAction> guest_actions_;
    std::optional<KernelStop> stop_;
    /// A stop held while smp_send_stop() waits for the other CPUs, its end line, and
    /// the CPU that stops them.
    std::optional<KernelStop> stopping_;
    std::vector<std::string> stopping_end_lines_;
    unsigned stopping_cpu_ = 0;
    /// CPUs that panicked while another was stopping the machine: they spin with
    /// interrupts off, as panic() leaves them (oops.cpp).
    uint32_t panicked_cpus_ = 0;
    std::unique_ptr<TimerEvent> stop_timeout_;
    bool system_running_ = true; ///< system_state <= SYSTEM_RUNNING (not powering off)
    int die_counter_ = 0;
    uint32_t taint_ = 0; ///< tainted_mask (TAINT_WARN after a BUG report)
    /// The jiffy of ___might_sleep()'s last report (its static prev_jiffy).
    std::optional<uint64_t> might_sleep_reported_;
    std::array<std::function<Task<void>(unsigned)>, NR_SOFTIRQS> softirq_vec_;
    std::vector<uint32_t> softirq_pending_;                           ///< per CPU
    std::vector<task_struct*> ksoftirqd_;                             ///< per CPU
    std::vector<std::vector<uint32_t>> tasklet_vec_, tasklet_hi_vec_; ///< per CPU
    std::vector<std::deque<uint32_t>> work_list_; ///< per CPU: queued work_structs
    std::vector<uint32_t> work_running_;          ///< per CPU: the work being run
    std::vector<task_struct*> kworker_;           ///< per CPU: kworker/N:0
    std::vector<task_struct*> migration_;         ///< per CPU: migration/N (the stopper)
    /// per CPU: call_single_data (guest addresses) queued for it, oldest first.
    std::vector<std::deque<uint32_t>> call_single_queue_;
    /// per CPU: stop_one_cpu() work for migration/N, run in order.
    std::vector<std::deque<std::function<Task<void>(unsigned cpu)>>> stop_work_;
    std::map<uint32_t, std::deque<task_struct*>> waitq_; ///< sleepers by wait key
    std::vector<ArchTimerEvt> timer_evt_;
    int pmu_dev_ = 0;
    uint64_t period_ticks_ = 0;
    uint64_t ticks_ = 0;
    std::string uart_rx_;
    std::string aux_rx_;
    std::unique_ptr<DriverState> drv_;
    /// The code set_fiq_handler() copied to the FIQ vector, for %pS (no copy: len 0).
    struct {
        uint32_t addr = 0, len = 0;
        std::string name;
    } fiq_handler_;
};

} // namespace piemu::kernel
