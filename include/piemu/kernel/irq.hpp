// genirq: the kernel model's interrupt core, after Linux 4.14 kernel/irq/ and
// include/linux/{irq.h, irqdesc.h, interrupt.h, irqreturn.h, irqdomain.h}.
//
// Identifiers, flag values, rules and log messages are the kernel's, so that code,
// traces and kernel source read side by side. There is no global state: one Irq
// context owns the descriptors, domains, per-CPU statistics and IPI counters of one
// machine. Everything on the interrupt path that may run a handler is a coroutine
// (Task<...>): built-in C++ handlers finish at once, guest handlers suspend until the
// guest returns (DESIGN.md, "The two ways a guest runs").
//
// Not modelled (each a NOTE where it would be): locking (one host thread), CPU
// hotplug, power management and wakeup sources, affinity beyond a stored mask,
// hierarchical domains, forced threading ("threadirqs"), the irqpoll/irqfixup
// misrouted-interrupt poller, interrupt timings, debugfs/sysfs/proc directories.
#pragma once

#include <array>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "piemu/kernel/preempt.hpp"
#include "piemu/kernel/printk.hpp"
#include "piemu/kernel/task.hpp"

namespace piemu::kernel {

class Irq;
struct irq_desc;
struct irq_domain;
struct irqaction;
struct pt_regs;     ///< the exception frame; defined by the entry layer
struct task_struct; ///< an IRQ thread; defined by the tasks layer

using irq_hw_number_t = std::uint32_t; ///< unsigned long on ARM32

// ---- include/linux/irqreturn.h: handler results, OR-ed over the actions of a line.
using irqreturn_t = unsigned int;
inline constexpr irqreturn_t IRQ_NONE = 0;        ///< not our interrupt
inline constexpr irqreturn_t IRQ_HANDLED = 1;     ///< handled by this device
inline constexpr irqreturn_t IRQ_WAKE_THREAD = 2; ///< wake the handler thread
constexpr irqreturn_t IRQ_RETVAL(bool x) { return x ? IRQ_HANDLED : IRQ_NONE; }

// ---- include/linux/interrupt.h: request flags (values of 4.14).
inline constexpr unsigned long IRQF_TRIGGER_NONE = 0x00000000;
inline constexpr unsigned long IRQF_TRIGGER_RISING = 0x00000001;
inline constexpr unsigned long IRQF_TRIGGER_FALLING = 0x00000002;
inline constexpr unsigned long IRQF_TRIGGER_HIGH = 0x00000004;
inline constexpr unsigned long IRQF_TRIGGER_LOW = 0x00000008;
inline constexpr unsigned long IRQF_TRIGGER_MASK =
    IRQF_TRIGGER_HIGH | IRQF_TRIGGER_LOW | IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING;
inline constexpr unsigned long IRQF_TRIGGER_PROBE = 0x00000010;
inline constexpr unsigned long IRQF_SHARED = 0x00000080;
inline constexpr unsigned long IRQF_PROBE_SHARED = 0x00000100;
inline constexpr unsigned long __IRQF_TIMER = 0x00000200;
inline constexpr unsigned long IRQF_PERCPU = 0x00000400;
inline constexpr unsigned long IRQF_NOBALANCING = 0x00000800;
inline constexpr unsigned long IRQF_IRQPOLL = 0x00001000;
inline constexpr unsigned long IRQF_ONESHOT = 0x00002000;
inline constexpr unsigned long IRQF_NO_SUSPEND = 0x00004000;
inline constexpr unsigned long IRQF_FORCE_RESUME = 0x00008000;
inline constexpr unsigned long IRQF_NO_THREAD = 0x00010000;
inline constexpr unsigned long IRQF_EARLY_RESUME = 0x00020000;
inline constexpr unsigned long IRQF_COND_SUSPEND = 0x00040000;
inline constexpr unsigned long IRQF_TIMER = __IRQF_TIMER | IRQF_NO_SUSPEND | IRQF_NO_THREAD;
/// request_irq() of this number fails with -ENOTCONN.
inline constexpr unsigned IRQ_NOTCONNECTED = 1u << 31;

// ---- include/linux/irq.h: trigger types and per-descriptor settings (IRQ_*).
inline constexpr unsigned IRQ_TYPE_NONE = 0x00000000;
inline constexpr unsigned IRQ_TYPE_EDGE_RISING = 0x00000001;
inline constexpr unsigned IRQ_TYPE_EDGE_FALLING = 0x00000002;
inline constexpr unsigned IRQ_TYPE_EDGE_BOTH = 0x00000003;
inline constexpr unsigned IRQ_TYPE_LEVEL_HIGH = 0x00000004;
inline constexpr unsigned IRQ_TYPE_LEVEL_LOW = 0x00000008;
inline constexpr unsigned IRQ_TYPE_LEVEL_MASK = 0x0000000c;
inline constexpr unsigned IRQ_TYPE_SENSE_MASK = 0x0000000f;
inline constexpr unsigned IRQ_TYPE_DEFAULT = IRQ_TYPE_SENSE_MASK;
inline constexpr unsigned IRQ_TYPE_PROBE = 0x00000010;
inline constexpr unsigned IRQ_LEVEL = 1u << 8;
inline constexpr unsigned IRQ_PER_CPU = 1u << 9;
inline constexpr unsigned IRQ_NOPROBE = 1u << 10;
inline constexpr unsigned IRQ_NOREQUEST = 1u << 11;
inline constexpr unsigned IRQ_NOAUTOEN = 1u << 12;
inline constexpr unsigned IRQ_NO_BALANCING = 1u << 13;
inline constexpr unsigned IRQ_MOVE_PCNTXT = 1u << 14;
inline constexpr unsigned IRQ_NESTED_THREAD = 1u << 15;
inline constexpr unsigned IRQ_NOTHREAD = 1u << 16;
inline constexpr unsigned IRQ_PER_CPU_DEVID = 1u << 17;
inline constexpr unsigned IRQ_IS_POLLED = 1u << 18;
inline constexpr unsigned IRQ_DISABLE_UNLAZY = 1u << 19;
/// The settings irq_modify_status() may change (IRQF_MODIFY_MASK).
inline constexpr unsigned IRQF_MODIFY_MASK =
    IRQ_TYPE_SENSE_MASK | IRQ_NOPROBE | IRQ_NOREQUEST | IRQ_NOAUTOEN | IRQ_MOVE_PCNTXT |
    IRQ_LEVEL | IRQ_NO_BALANCING | IRQ_PER_CPU | IRQ_NESTED_THREAD | IRQ_NOTHREAD |
    IRQ_PER_CPU_DEVID | IRQ_IS_POLLED | IRQ_DISABLE_UNLAZY;
/// ARM's ARCH_IRQ_INIT_FLAGS: fresh descriptors cannot be requested or probed.
inline constexpr unsigned IRQ_DEFAULT_INIT_FLAGS = IRQ_NOREQUEST | IRQ_NOPROBE;

// ---- irq_data state (IRQD_*), kept in irq_common_data::state_use_accessors.
inline constexpr unsigned IRQD_TRIGGER_MASK = 0xf;
inline constexpr unsigned IRQD_SETAFFINITY_PENDING = 1u << 8;
inline constexpr unsigned IRQD_ACTIVATED = 1u << 9;
inline constexpr unsigned IRQD_NO_BALANCING = 1u << 10;
inline constexpr unsigned IRQD_PER_CPU = 1u << 11;
inline constexpr unsigned IRQD_AFFINITY_SET = 1u << 12;
inline constexpr unsigned IRQD_LEVEL = 1u << 13;
inline constexpr unsigned IRQD_WAKEUP_STATE = 1u << 14;
inline constexpr unsigned IRQD_MOVE_PCNTXT = 1u << 15;
inline constexpr unsigned IRQD_IRQ_DISABLED = 1u << 16;
inline constexpr unsigned IRQD_IRQ_MASKED = 1u << 17;
inline constexpr unsigned IRQD_IRQ_INPROGRESS = 1u << 18;
inline constexpr unsigned IRQD_WAKEUP_ARMED = 1u << 19;
inline constexpr unsigned IRQD_FORWARDED_TO_VCPU = 1u << 20;
inline constexpr unsigned IRQD_AFFINITY_MANAGED = 1u << 21;
inline constexpr unsigned IRQD_IRQ_STARTED = 1u << 22;
inline constexpr unsigned IRQD_MANAGED_SHUTDOWN = 1u << 23;
inline constexpr unsigned IRQD_SINGLE_TARGET = 1u << 24;

// ---- irq_chip flags (IRQCHIP_*).
inline constexpr unsigned long IRQCHIP_SET_TYPE_MASKED = 1u << 0;
inline constexpr unsigned long IRQCHIP_EOI_IF_HANDLED = 1u << 1;
inline constexpr unsigned long IRQCHIP_MASK_ON_SUSPEND = 1u << 2;
inline constexpr unsigned long IRQCHIP_ONOFFLINE_ENABLED = 1u << 3;
inline constexpr unsigned long IRQCHIP_SKIP_SET_WAKE = 1u << 4;
inline constexpr unsigned long IRQCHIP_ONESHOT_SAFE = 1u << 5;
inline constexpr unsigned long IRQCHIP_EOI_THREADED = 1u << 6;
inline constexpr unsigned long IRQCHIP_SUPPORTS_LEVEL_MSI = 1u << 7;
/// irq_chip::irq_set_type results.
inline constexpr int IRQ_SET_MASK_OK = 0;
inline constexpr int IRQ_SET_MASK_OK_NOCOPY = 1;
inline constexpr int IRQ_SET_MASK_OK_DONE = 2;

// ---- ARM inter-processor interrupts (arch/arm/kernel/smp.c): NR_IPI counted rows.
inline constexpr unsigned NR_IPI = 7;
inline constexpr std::array<const char*, NR_IPI> ipi_types = {
    "CPU wakeup interrupts", "Timer broadcast interrupts", "Rescheduling interrupts",
    "Function call interrupts", "CPU stop interrupts", "IRQ work interrupts",
    "completion interrupts"};

/// struct irq_common_data: state shared by all irq_data of a descriptor.
struct irq_common_data {
    unsigned state_use_accessors = 0; ///< IRQD_* bits; use the irqd_* accessors
    void* handler_data = nullptr;
    std::uint32_t affinity = ~0u; ///< cpumask (stored only: no chip sets affinity)
};

struct irq_chip;

/// struct irq_data: what a chip callback gets.
struct irq_data {
    unsigned irq = 0;            ///< Linux interrupt number
    irq_hw_number_t hwirq = 0;   ///< the controller's number for the line
    irq_common_data* common = nullptr;
    irq_chip* chip = nullptr;
    irq_domain* domain = nullptr; ///< null for lines not mapped through a domain
    void* chip_data = nullptr;
};

// The IRQD_* accessors of include/linux/irq.h that code outside genirq may use.
inline bool irqd_is_per_cpu(const irq_data* d) { return d->common->state_use_accessors & IRQD_PER_CPU; }
inline bool irqd_is_level_type(const irq_data* d) { return d->common->state_use_accessors & IRQD_LEVEL; }
inline bool irqd_irq_disabled(const irq_data* d) { return d->common->state_use_accessors & IRQD_IRQ_DISABLED; }
inline bool irqd_irq_masked(const irq_data* d) { return d->common->state_use_accessors & IRQD_IRQ_MASKED; }
inline bool irqd_irq_inprogress(const irq_data* d) { return d->common->state_use_accessors & IRQD_IRQ_INPROGRESS; }
inline bool irqd_is_started(const irq_data* d) { return d->common->state_use_accessors & IRQD_IRQ_STARTED; }
inline std::uint32_t irqd_get_trigger_type(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_TRIGGER_MASK;
}
/// Sets the trigger type without calling the chip (irqdomain's stored type).
inline void irqd_set_trigger_type(irq_data* d, std::uint32_t type) {
    d->common->state_use_accessors = (d->common->state_use_accessors & ~IRQD_TRIGGER_MASK) |
                                     (type & IRQD_TRIGGER_MASK);
}
inline irq_hw_number_t irqd_to_hwirq(const irq_data* d) { return d->hwirq; }

/// struct irq_chip: an interrupt controller's callbacks, all optional; genirq checks
/// each for null as chip.c does. Initialise with designated initialisers in this
/// (the kernel's) member order, e.g.
///   irq_chip chip{.name = "ARMCTRL-level", .irq_mask = ..., .irq_unmask = ...};
struct irq_chip {
    std::string name{}; ///< the /proc/interrupts chip column
    std::function<unsigned(irq_data*)> irq_startup{};
    std::function<void(irq_data*)> irq_shutdown{};
    std::function<void(irq_data*)> irq_enable{};
    std::function<void(irq_data*)> irq_disable{};
    std::function<void(irq_data*)> irq_ack{};
    std::function<void(irq_data*)> irq_mask{};
    std::function<void(irq_data*)> irq_mask_ack{};
    std::function<void(irq_data*)> irq_unmask{};
    std::function<void(irq_data*)> irq_eoi{};
    std::function<int(irq_data*, std::uint32_t cpumask, bool force)> irq_set_affinity{};
    std::function<int(irq_data*)> irq_retrigger{}; ///< nonzero: the chip re-raised the line
    std::function<int(irq_data*, unsigned flow_type)> irq_set_type{};
    std::function<int(irq_data*, unsigned on)> irq_set_wake{};
    std::function<void(irq_data*)> irq_bus_lock{};
    std::function<void(irq_data*)> irq_bus_sync_unlock{};
    /// Replaces the " %8s" chip-name column of /proc/interrupts.
    std::function<void(irq_data*, std::string& seq)> irq_print_chip{};
    std::function<int(irq_data*)> irq_request_resources{};
    std::function<void(irq_data*)> irq_release_resources{};
    unsigned long flags = 0; ///< IRQCHIP_*
};

/// chained_irq_enter()/chained_irq_exit() (linux/irqchip/chained_irq.h): the parent
/// chip's mask/ack (or nothing for fasteoi chips) around a chained demultiplexer.
void chained_irq_enter(irq_chip* chip, irq_desc* desc);
void chained_irq_exit(irq_chip* chip, irq_desc* desc);

/// An action handler (irq_handler_t) and the symbol name it stands for: the kernel
/// prints handlers with %ps, piemu has no kernel addresses and prints `name`.
struct irq_handler_t {
    using fn_type = std::function<Task<irqreturn_t>(unsigned irq, void* dev_id)>;
    fn_type fn;
    std::string name;

    irq_handler_t() = default;
    irq_handler_t(std::nullptr_t) {}
    irq_handler_t(std::string sym, fn_type f) : fn(std::move(f)), name(std::move(sym)) {}
    explicit operator bool() const { return static_cast<bool>(fn); }
};

/// A flow handler (irq_flow_handler_t): one of genirq's own (handle_level_irq, ...),
/// named by member pointer, or a chained demultiplexer of an interrupt-controller
/// driver. `name` is what the function tracer and print_irq_desc() show.
struct irq_flow_handler_t {
    using builtin_fn = Task<void> (Irq::*)(irq_desc*);
    builtin_fn builtin = nullptr;
    std::function<Task<void>(irq_desc*)> chained;
    std::string name;

    irq_flow_handler_t() = default;
    irq_flow_handler_t(std::nullptr_t) {}
    irq_flow_handler_t(builtin_fn f); // NOLINT: implicit, as the kernel passes handle_level_irq
    irq_flow_handler_t(std::string sym, std::function<Task<void>(irq_desc*)> fn)
        : chained(std::move(fn)), name(std::move(sym)) {}
    explicit operator bool() const { return builtin || chained; }
    bool operator==(builtin_fn f) const { return !chained && builtin == f; }
};

/// A per-CPU cookie (the kernel's `void __percpu *`): instance `cpu` lives at
/// base + cpu * stride, e.g. percpu_ptr{&timers[0], sizeof timers[0]}. Identity is base.
struct percpu_ptr {
    void* base = nullptr;
    std::ptrdiff_t stride = 0;
    void* on(unsigned cpu) const {
        return base ? static_cast<char*>(base) + stride * static_cast<std::ptrdiff_t>(cpu) : nullptr;
    }
    explicit operator bool() const { return base != nullptr; }
    bool operator==(const percpu_ptr& o) const { return base == o.base; }
};

/// struct irqaction: one handler on a line, in registration order via `next`.
struct irqaction {
    irq_handler_t handler;
    void* dev_id = nullptr;
    percpu_ptr percpu_dev_id;
    irqaction* next = nullptr;
    irq_handler_t thread_fn;       ///< the bottom half run by the IRQ thread
    task_struct* thread = nullptr; ///< placeholder until the tasks layer creates threads
    irqaction* secondary = nullptr;
    unsigned irq = 0;
    unsigned long flags = 0;        ///< IRQF_*
    unsigned long thread_flags = 0; ///< IRQTF_* bits
    std::uint32_t thread_mask = 0;  ///< this action's bit in threads_oneshot
    std::string name;               ///< the devname of request_irq()
};

/// A wait queue (wait_queue_head_t) of parked coroutines, woken through the Irq
/// context so that each resumes on its own CPU from the run loop, never nested in
/// the waker's call stack.
class WaitQueue {
public:
    struct Waiter {
        std::coroutine_handle<> handle;
        unsigned cpu;
    };
    struct Awaiter {
        WaitQueue* wq;
        unsigned cpu;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { wq->waiters_.push_back({h, cpu}); }
        void await_resume() const noexcept {}
    };
    Awaiter wait(unsigned cpu) { return {this, cpu}; }
    bool empty() const { return waiters_.empty(); }
    std::vector<Waiter> take_all() { return std::exchange(waiters_, {}); }

private:
    std::vector<Waiter> waiters_;
};

/// struct irq_desc: one Linux interrupt line.
struct irq_desc {
    struct irq_common_data irq_common_data;
    struct irq_data irq_data;
    std::vector<unsigned> kstat_irqs; ///< per-CPU handled counts (/proc/interrupts)
    irq_flow_handler_t handle_irq;
    irqaction* action = nullptr;       ///< the action list
    unsigned status_use_accessors = 0; ///< IRQ_* settings; use the settings accessors
    /// IRQS_* core state, private to genirq (the kernel hides it behind a macro).
    unsigned istate = 0;
    unsigned depth = 1; ///< nested disable count; 0 = enabled
    unsigned wake_depth = 0;
    unsigned irq_count = 0;             ///< spurious detector: interrupts seen (to 100000)
    std::uint32_t last_unhandled = 0;   ///< jiffies of the last unhandled one
    unsigned irqs_unhandled = 0;
    std::uint32_t threads_handled = 0;  ///< atomic_t: thread_fn returned IRQ_HANDLED
    std::uint32_t threads_handled_last = 0;
    std::uint32_t threads_oneshot = 0;  ///< woken oneshot threads not yet finished
    int threads_active = 0;             ///< atomic_t: woken threads not yet done
    WaitQueue wait_for_threads;         ///< synchronize_irq() sleeps here
    std::optional<std::uint32_t> percpu_enabled; ///< cpumask; set by irq_set_percpu_devid
    std::uint32_t percpu_affinity = 0;
    std::string name; ///< flow name ("-%-8s" in /proc/interrupts); empty = NULL
};

/// struct irq_fwspec: a firmware (DT) interrupt specifier.
struct irq_fwspec {
    const void* fwnode = nullptr; ///< the controller node's identity (null: default domain)
    const char* node_name = nullptr; ///< its full path, for messages (of_node_full_name)
    unsigned param_count = 0;
    std::array<std::uint32_t, 16> param{};
};

/// struct irq_domain_ops. Without xlate, a specifier's first cell is the hwirq.
struct irq_domain_ops {
    /// Sets chip and flow handler for a new mapping; nonzero refuses it.
    std::function<int(irq_domain*, unsigned virq, irq_hw_number_t hw)> map{};
    std::function<void(irq_domain*, unsigned virq)> unmap{};
    /// DT specifier -> hwirq and trigger type; 0 or -EINVAL.
    std::function<int(irq_domain*, const void* node, std::span<const std::uint32_t> intspec,
                      irq_hw_number_t* out_hwirq, unsigned* out_type)>
        xlate{};
};

/// struct irq_domain: a controller's hwirq -> Linux irq map (linear, with a tree for
/// hwirqs beyond the linear size).
struct irq_domain {
    std::string name;
    irq_domain_ops ops;
    void* host_data = nullptr;
    unsigned flags = 0;
    unsigned mapcount = 0;
    const void* fwnode = nullptr;
    irq_hw_number_t hwirq_max = 0;
    unsigned revmap_direct_max_irq = 0;
    unsigned revmap_size = 0;
    std::map<irq_hw_number_t, irq_data*> revmap_tree;
    std::vector<unsigned> linear_revmap;
    Irq* owner = nullptr; ///< piemu: the context, for WARN output from xlate helpers
};

/// irq_domain_xlate_onecell/twocell/onetwocell: the generic DT translations.
int irq_domain_xlate_onecell(irq_domain* d, const void* node, std::span<const std::uint32_t> intspec,
                             irq_hw_number_t* out_hwirq, unsigned* out_type);
int irq_domain_xlate_twocell(irq_domain* d, const void* node, std::span<const std::uint32_t> intspec,
                             irq_hw_number_t* out_hwirq, unsigned* out_type);
int irq_domain_xlate_onetwocell(irq_domain* d, const void* node,
                                std::span<const std::uint32_t> intspec, irq_hw_number_t* out_hwirq,
                                unsigned* out_type);

/// Trace points of include/trace/events/irq.h, implemented by the trace layer.
class IrqTraceHooks {
public:
    virtual ~IrqTraceHooks() = default;
    virtual void irq_handler_entry(unsigned irq, const irqaction& action) { (void)irq, (void)action; }
    virtual void irq_handler_exit(unsigned irq, const irqaction& action, irqreturn_t ret) {
        (void)irq, (void)action, (void)ret;
    }
    /// Function tracer: `callee <-caller` at each genirq function entry on the
    /// interrupt path and at each action handler.
    virtual void function(std::string_view callee, std::string_view caller) { (void)callee, (void)caller; }
};

/// What later layers plug in. Every member is optional; the NOTE says what happens
/// without it.
struct IrqHooks {
    /// setup_irq_thread(): create "irq/<irq>-<name>" for an action with thread_fn;
    /// 0 or -errno. NOTE: without it no thread exists and wakes are only recorded.
    std::function<int(irqaction&, unsigned irq, bool secondary)> setup_irq_thread;
    /// kthread_stop() of an action's thread (free_irq, failed request).
    std::function<void(irqaction&)> stop_irq_thread;
    /// wake_up_process(action->thread) at the end of __irq_wake_thread().
    std::function<void(irqaction&)> wake_up_process;
    /// local_softirq_pending()/invoke_softirq() of irq_exit(). NOTE: without them
    /// irq_exit() runs no softirqs.
    std::function<bool(unsigned cpu)> local_softirq_pending;
    std::function<Task<void>(unsigned cpu)> invoke_softirq;
    /// The HARDIRQS_SW_RESEND tasklet for a pending edge interrupt the chip cannot
    /// retrigger. NOTE: without it the interrupt stays lost, as with no resend.
    std::function<void(irq_desc&)> sw_resend;
    /// dump_stack() after a WARN and in the "nobody cared" report. NOTE: omitted.
    std::function<void(unsigned cpu)> dump_stack;
    /// current->pid for WARN lines. NOTE: 0 (swapper) without it.
    std::function<int(unsigned cpu)> current_pid;
    /// Makes a woken waiter runnable on `cpu`. Default: queued for Irq::run_woken().
    std::function<void(std::coroutine_handle<>, unsigned cpu)> wake_waiter;
};

struct IrqConfig {
    unsigned nr_cpus = 4;         ///< possible CPUs (Raspberry Pi 2/3: 4)
    unsigned nr_irqs_legacy = 16; ///< NR_IRQS_LEGACY: descriptors preallocated at boot
    unsigned hz = 100;            ///< CONFIG_HZ of Raspbian 4.14
    bool noirqdebug = false;      ///< the "noirqdebug" boot option
};

/// The genirq context of one machine: descriptors, domains, per-CPU statistics, IPI
/// counters and the FIQ owner. Member functions keep the kernel's names; "context"
/// in each comment is where the kernel allows the call. The caller (the run loop)
/// sets the current CPU before it runs anything on that CPU.
class Irq {
public:
    using flow_fn = irq_flow_handler_t::builtin_fn;

    /// Preallocates NR_IRQS_LEGACY descriptors (early_irq_init). Time (jiffies, log
    /// stamps) comes from the log's clock.
    Irq(const IrqConfig& cfg, Printk& log, PreemptCountStore& preempt);
    ~Irq();
    Irq(const Irq&) = delete;
    Irq& operator=(const Irq&) = delete;

    // ---- context
    void set_current_cpu(unsigned cpu);           ///< the CPU the run loop is running
    unsigned smp_processor_id() const { return cpu_; }
    unsigned nr_cpu_ids() const { return cfg_.nr_cpus; }
    void set_cpu_online(unsigned cpu, bool online); ///< all CPUs start online
    bool cpu_online(unsigned cpu) const { return (online_ >> cpu) & 1; }
    unsigned nr_irqs() const { return nr_irqs_; } ///< grows as descriptors are allocated
    std::uint32_t jiffies() const;                ///< INITIAL_JIFFIES + ticks at CONFIG_HZ
    std::uint32_t preempt_count() const { return preempt_.get(cpu_); } ///< current CPU's
    bool noirqdebug() const { return noirqdebug_; }
    void set_noirqdebug(bool on) { noirqdebug_ = on; }
    void set_trace_hooks(IrqTraceHooks* hooks) { trace_ = hooks; }
    IrqHooks& hooks() { return hooks_; }
    Printk& log() { return log_; }
    /// Resumes coroutines woken from wait queues, each on its CPU (run loop; process
    /// context). A scheduler that sets IrqHooks::wake_waiter replaces this.
    void run_woken();

    // ---- irqdesc.c
    irq_desc* irq_to_desc(unsigned irq) const; ///< null when not allocated; any context
    /// __irq_alloc_descs(): `cnt` descriptors at `irq` (or the first free from `from`
    /// when irq < 0); the first number or -errno.
    int irq_alloc_descs(int irq, unsigned from, unsigned cnt);
    void irq_free_descs(unsigned from, unsigned cnt);
    /// Runs the flow handler of `irq`; -EINVAL when no descriptor (hard irq context).
    Task<int> generic_handle_irq(unsigned irq);
    Task<void> generic_handle_irq_desc(irq_desc* desc);
    /// irq_enter, domain lookup, generic_handle_irq, irq_exit (the arch's entry).
    Task<int> handle_domain_irq(irq_domain* domain, unsigned hwirq, pt_regs* regs);
    Task<int> __handle_domain_irq(irq_domain* domain, unsigned hwirq, bool lookup, pt_regs* regs);
    void irq_enter();      ///< kernel/softirq.c: preempt_count += HARDIRQ_OFFSET
    Task<void> irq_exit(); ///< -= HARDIRQ_OFFSET; softirqs when leaving interrupt context
    pt_regs* get_irq_regs() const { return irq_regs_[cpu_]; }
    pt_regs* set_irq_regs(pt_regs* regs) { return std::exchange(irq_regs_[cpu_], regs); }
    unsigned kstat_irqs_cpu(unsigned irq, unsigned cpu) const;
    unsigned kstat_irqs(unsigned irq) const; ///< the sum over CPUs
    int irq_set_percpu_devid(unsigned irq); ///< marks a per-CPU-dev_id line
    void irq_modify_status(unsigned irq, unsigned long clr, unsigned long set);
    void irq_set_status_flags(unsigned irq, unsigned long set) { irq_modify_status(irq, 0, set); }
    void irq_clear_status_flags(unsigned irq, unsigned long clr) { irq_modify_status(irq, clr, 0); }

    // ---- arch/arm: bad vectors, IPI statistics, the FIQ owner
    void ack_bad_irq(unsigned irq); ///< irq_err_count++ and "unexpected IRQ trap"
    unsigned long irq_err_count() const { return irq_err_count_; }
    void inc_ipi_stat(unsigned cpu, unsigned ipinr); ///< handle_IPI's __inc_irq_stat
    unsigned ipi_stat(unsigned cpu, unsigned ipinr) const { return ipi_irqs_.at(cpu).at(ipinr); }
    int claim_fiq(std::string name); ///< the FIQ row names the latest claimant
    void release_fiq();

    // ---- chip.c (process context unless said)
    int irq_set_chip(unsigned irq, irq_chip* chip);
    int irq_set_irq_type(unsigned irq, unsigned type);
    int irq_set_handler_data(unsigned irq, void* data);
    int irq_set_chip_data(unsigned irq, void* data);
    irq_data* irq_get_irq_data(unsigned irq) const;
    unsigned irq_get_trigger_type(unsigned irq) const;
    void __irq_set_handler(unsigned irq, irq_flow_handler_t handle, bool is_chained, std::string name);
    void irq_set_handler(unsigned irq, irq_flow_handler_t h) { __irq_set_handler(irq, std::move(h), false, {}); }
    void irq_set_chained_handler(unsigned irq, irq_flow_handler_t h) { __irq_set_handler(irq, std::move(h), true, {}); }
    void irq_set_chained_handler_and_data(unsigned irq, irq_flow_handler_t handle, void* data);
    void irq_set_chip_and_handler_name(unsigned irq, irq_chip* chip, irq_flow_handler_t handle,
                                       std::string name);
    void irq_set_chip_and_handler(unsigned irq, irq_chip* chip, irq_flow_handler_t handle) {
        irq_set_chip_and_handler_name(irq, chip, std::move(handle), {});
    }
    // Flow handlers (hard irq context); the member pointers are the kernel's symbols.
    Task<void> handle_simple_irq(irq_desc* desc);
    Task<void> handle_level_irq(irq_desc* desc);
    Task<void> handle_fasteoi_irq(irq_desc* desc);
    Task<void> handle_edge_irq(irq_desc* desc);
    Task<void> handle_percpu_irq(irq_desc* desc);
    Task<void> handle_percpu_devid_irq(irq_desc* desc);
    Task<void> handle_bad_irq(irq_desc* desc);
    /// The symbol of a built-in flow handler ("handle_level_irq").
    static const char* flow_handler_name(flow_fn f);
    irq_chip* no_irq_chip() { return &no_irq_chip_; }       ///< "none": unset chip
    irq_chip* dummy_irq_chip() { return &dummy_irq_chip_; } ///< "dummy": all no-ops

    // ---- handle.c (hard irq context)
    Task<irqreturn_t> handle_irq_event(irq_desc* desc);
    Task<irqreturn_t> handle_irq_event_percpu(irq_desc* desc);
    Task<irqreturn_t> __handle_irq_event_percpu(irq_desc* desc, unsigned long* flags);
    /// Records an IRQ_WAKE_THREAD: IRQTF_RUNTHREAD, threads_oneshot, threads_active.
    void __irq_wake_thread(irq_desc* desc, irqaction* action);

    // ---- manage.c
    /// Installs an action (process context); 0 or -EINVAL/-EBUSY/-ENOSYS/-ENOTCONN.
    int request_threaded_irq(unsigned irq, irq_handler_t handler, irq_handler_t thread_fn,
                             unsigned long irqflags, std::string devname, void* dev_id);
    int request_irq(unsigned irq, irq_handler_t handler, unsigned long flags, std::string name,
                    void* dev) {
        return request_threaded_irq(irq, std::move(handler), nullptr, flags, std::move(name), dev);
    }
    /// A per-CPU-dev_id action; flags 0 or IRQF_TIMER; enabled per CPU afterwards.
    int __request_percpu_irq(unsigned irq, irq_handler_t handler, unsigned long flags,
                             std::string devname, percpu_ptr percpu_dev_id);
    int request_percpu_irq(unsigned irq, irq_handler_t handler, std::string devname, percpu_ptr id) {
        return __request_percpu_irq(irq, std::move(handler), 0, std::move(devname), id);
    }
    /// Removes the action of `dev_id` and waits for running handlers; returns its
    /// devname (process context).
    Task<std::optional<std::string>> free_irq(unsigned irq, void* dev_id);
    void free_percpu_irq(unsigned irq, percpu_ptr percpu_dev_id);
    void disable_irq_nosync(unsigned irq); ///< nested disable (any context)
    Task<void> disable_irq(unsigned irq);  ///< and wait for running handlers
    void enable_irq(unsigned irq);         ///< undoes one disable (any context)
    /// Waits until no hard irq handler runs and no thread is active on `irq`.
    Task<void> synchronize_irq(unsigned irq);
    void enable_percpu_irq(unsigned irq, unsigned type); ///< on the current CPU
    void disable_percpu_irq(unsigned irq);
    bool irq_percpu_is_enabled(unsigned irq) const;
    int can_request_irq(unsigned irq, unsigned long irqflags) const;
    void irq_wake_thread(unsigned irq, void* dev_id);
    /// The end of a oneshot thread run: clears its threads_oneshot bit and unmasks
    /// the line when no other thread holds it (for the tasks layer's irq_thread).
    Task<void> irq_finalize_oneshot(irq_desc* desc, irqaction* action);
    /// A woken thread finished its run: threads_active--, wakes synchronize_irq().
    void wake_threads_waitq(irq_desc* desc);

    // ---- spurious.c
    /// The unhandled-interrupt detector, after every hard irq (unless noirqdebug).
    void note_interrupt(irq_desc* desc, irqreturn_t action_ret);

    // ---- proc.c
    /// /proc/interrupts: show_interrupts() for every irq, then arch_show_interrupts().
    std::string show_interrupts() const;

    // ---- irqdomain.c
    irq_domain* irq_domain_add_linear(const void* fwnode, unsigned size, irq_domain_ops ops,
                                      void* host_data);
    void irq_set_default_host(irq_domain* domain) { default_domain_ = domain; }
    /// The domain registered for a controller node (newest first), or null.
    irq_domain* irq_find_matching_fwnode(const void* fwnode) const;
    int irq_domain_associate(irq_domain* domain, unsigned virq, irq_hw_number_t hwirq);
    /// Maps hwirq to a new (or its existing) Linux irq; 0 on failure.
    unsigned irq_create_mapping(irq_domain* domain, irq_hw_number_t hwirq);
    unsigned irq_find_mapping(irq_domain* domain, irq_hw_number_t hwirq) const;
    /// A DT specifier through the domain's xlate to a mapping with its trigger type.
    unsigned irq_create_fwspec_mapping(const irq_fwspec& fwspec);
    /// Unmaps and frees virq once no handler runs (process context).
    Task<void> irq_dispose_mapping(unsigned virq);

    // ---- WARN()/WARN_ON() with the kernel's report; `caller` stands for %pS.
    /// `level` is the message's KERN_* prefix; the frame lines are KERN_WARNING.
    bool warn(bool condition, const char* caller, KernLevel level, const char* fmt, ...)
        __attribute__((format(printf, 5, 6)));
    bool warn_on(bool condition, const char* caller);

private:
    // Helpers of internals.h/chip.c/manage.c/... used across the genirq files.
    irq_desc* irq_get_desc(unsigned irq, unsigned check) const; // __irq_get_desc_lock's checks
    void kstat_incr_irqs_this_cpu(irq_desc* desc);
    void mask_irq(irq_desc* desc);
    void unmask_irq(irq_desc* desc);
    void unmask_threaded_irq(irq_desc* desc);
    void mask_ack_irq(irq_desc* desc);
    void irq_enable(irq_desc* desc);
    void irq_disable(irq_desc* desc);
    void __irq_disable(irq_desc* desc, bool mask);
    int irq_startup(irq_desc* desc, bool resend, bool force);
    void irq_shutdown(irq_desc* desc);
    void irq_percpu_enable(irq_desc* desc, unsigned cpu);
    void irq_percpu_disable(irq_desc* desc, unsigned cpu);
    bool irq_may_run(irq_desc* desc) const;
    void cond_unmask_irq(irq_desc* desc);
    void cond_unmask_eoi_irq(irq_desc* desc, irq_chip* chip);
    void check_irq_resend(irq_desc* desc);
    void __irq_do_set_handler(irq_desc* desc, irq_flow_handler_t handle, bool is_chained, std::string name);
    int __irq_set_trigger(irq_desc* desc, unsigned long flags);
    void __disable_irq(irq_desc* desc);
    void __enable_irq(irq_desc* desc);
    int __setup_irq(unsigned irq, irq_desc* desc, irqaction* new_action);
    void setup_failed(irqaction* new_action);
    std::shared_ptr<irqaction> new_action();
    void delete_action(irqaction* action);
    /// The owning pointer of a live action: a handler that suspends keeps its action
    /// (and the closure it runs in) alive even if the action is freed meanwhile.
    std::shared_ptr<irqaction> keep_alive(irqaction* action) const;
    void warn_no_thread(unsigned irq, irqaction* action);
    void print_irq_desc(unsigned irq, irq_desc* desc);
    void report_bad_irq(irq_desc* desc, irqreturn_t action_ret);
    void __report_bad_irq(irq_desc* desc, irqreturn_t action_ret);
    int irq_domain_alloc_descs(int virq, unsigned cnt, irq_hw_number_t hwirq);
    void wake_up(WaitQueue& wq);
    /// Reports `fn <-caller` to the function tracer and makes fn the caller of what
    /// it calls, per CPU, until the returned frame ends.
    struct FtraceFrame {
        Irq* irq = nullptr;
        unsigned cpu = 0;
        FtraceFrame() = default;
        FtraceFrame(Irq* i, unsigned c) : irq(i), cpu(c) {}
        FtraceFrame(const FtraceFrame&) = delete;
        FtraceFrame& operator=(const FtraceFrame&) = delete;
        ~FtraceFrame() {
            if (irq)
                irq->ftrace_stack_[cpu].pop_back();
        }
    };
    FtraceFrame trace_frame(std::string_view fn);
    bool warn_once(const char* key); ///< true the first time for `key`
    void warn_report(const char* caller, KernLevel level, const std::string* message);

    IrqConfig cfg_;
    Printk& log_;
    PreemptCountStore& preempt_;
    IrqTraceHooks* trace_ = nullptr;
    IrqHooks hooks_;
    unsigned cpu_ = 0;
    std::uint32_t online_;
    bool noirqdebug_;
    unsigned nr_irqs_ = 0;
    std::vector<bool> allocated_irqs_;                    ///< bitmap of used numbers
    std::map<unsigned, std::unique_ptr<irq_desc>> descs_; ///< the sparse irq tree
    std::vector<std::shared_ptr<irqaction>> actions_;     ///< owns every live action
    std::shared_ptr<irqaction> chained_action_;           ///< the action of chained lines
    irq_chip no_irq_chip_;
    irq_chip dummy_irq_chip_;
    std::vector<std::unique_ptr<irq_domain>> domains_; ///< registration order
    irq_domain* default_domain_ = nullptr;
    std::vector<pt_regs*> irq_regs_;
    std::vector<std::array<unsigned, NR_IPI>> ipi_irqs_;
    unsigned long irq_err_count_ = 0;
    std::vector<std::string> fiq_owners_; ///< claim_fiq() stack; empty: default owner
    std::vector<WaitQueue::Waiter> woken_;
    std::vector<std::vector<std::string_view>> ftrace_stack_; ///< per CPU, innermost last
    std::vector<std::string> once_; ///< WARN_ONCE/pr_err_once keys already reported
    int report_bad_irq_budget_ = 100;
    std::uint32_t print_desc_window_ = 0; ///< print_irq_desc() ratelimit (5 per 5 s)
    unsigned print_desc_count_ = 0;
    bool print_desc_window_open_ = false;
};

inline irq_flow_handler_t::irq_flow_handler_t(builtin_fn f)
    : builtin(f), name(f ? Irq::flow_handler_name(f) : "") {}

} // namespace piemu::kernel
