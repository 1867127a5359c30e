// genirq data structures, after Linux 4.14 include/linux/{irq.h, irqdesc.h,
// interrupt.h, irqreturn.h, irqdomain.h}: the flag values, irq_chip, irq_data,
// irq_desc, irqaction and irq_domain. The context that operates on them, Irq, is in
// piemu/kernel/irq.hpp (include that one).
#pragma once

#include <array>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

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
constexpr irqreturn_t IRQ_RETVAL(bool x) {
    return x ? IRQ_HANDLED : IRQ_NONE;
}

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
    IRQ_TYPE_SENSE_MASK | IRQ_NOPROBE | IRQ_NOREQUEST | IRQ_NOAUTOEN | IRQ_MOVE_PCNTXT | IRQ_LEVEL |
    IRQ_NO_BALANCING | IRQ_PER_CPU | IRQ_NESTED_THREAD | IRQ_NOTHREAD | IRQ_PER_CPU_DEVID |
    IRQ_IS_POLLED | IRQ_DISABLE_UNLAZY;
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
    "CPU wakeup interrupts",    "Timer broadcast interrupts", "Rescheduling interrupts",
    "Function call interrupts", "CPU stop interrupts",        "IRQ work interrupts",
    "completion interrupts"};

/// struct irq_common_data: state shared by all irq_data of a descriptor.
struct irq_common_data {
    unsigned state_use_accessors = 0; ///< IRQD_* bits; use the irqd_* accessors
    void* handler_data = nullptr;
    std::uint32_t affinity = ~0u; ///< cpumask (irq_default_affinity: all; irq_set_affinity)
};

struct irq_chip;

/// struct irq_data: what a chip callback gets.
struct irq_data {
    unsigned irq = 0;          ///< Linux interrupt number
    irq_hw_number_t hwirq = 0; ///< the controller's number for the line
    irq_common_data* common = nullptr;
    irq_chip* chip = nullptr;
    irq_domain* domain = nullptr; ///< null for lines not mapped through a domain
    void* chip_data = nullptr;
};

// The IRQD_* accessors of include/linux/irq.h that code outside genirq may use.
inline bool irqd_is_per_cpu(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_PER_CPU;
}
inline bool irqd_is_level_type(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_LEVEL;
}
inline bool irqd_irq_disabled(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_IRQ_DISABLED;
}
inline bool irqd_irq_masked(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_IRQ_MASKED;
}
inline bool irqd_irq_inprogress(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_IRQ_INPROGRESS;
}
inline bool irqd_is_started(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_IRQ_STARTED;
}
inline std::uint32_t irqd_get_trigger_type(const irq_data* d) {
    return d->common->state_use_accessors & IRQD_TRIGGER_MASK;
}
/// Sets the trigger type without calling the chip (irqdomain's stored type).
inline void irqd_set_trigger_type(irq_data* d, std::uint32_t type) {
    d->common->state_use_accessors =
        (d->common->state_use_accessors & ~IRQD_TRIGGER_MASK) | (type & IRQD_TRIGGER_MASK);
}
inline irq_hw_number_t irqd_to_hwirq(const irq_data* d) {
    return d->hwirq;
}

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

/// no_action(): the special empty handler; returns IRQ_NONE.
Task<irqreturn_t> no_action(unsigned irq, void* dev_id);

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
        return base ? static_cast<char*>(base) + stride * static_cast<std::ptrdiff_t>(cpu)
                    : nullptr;
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
    unsigned irq_count = 0;           ///< spurious detector: interrupts seen (to 100000)
    std::uint32_t last_unhandled = 0; ///< jiffies of the last unhandled one
    unsigned irqs_unhandled = 0;
    std::uint32_t threads_handled = 0; ///< atomic_t: thread_fn returned IRQ_HANDLED
    std::uint32_t threads_handled_last = 0;
    std::uint32_t threads_oneshot = 0;           ///< woken oneshot threads not yet finished
    int threads_active = 0;                      ///< atomic_t: woken threads not yet done
    WaitQueue wait_for_threads;                  ///< synchronize_irq() sleeps here
    std::optional<std::uint32_t> percpu_enabled; ///< cpumask; set by irq_set_percpu_devid
    std::uint32_t percpu_affinity = 0;
    std::string name; ///< flow name ("-%-8s" in /proc/interrupts); empty = NULL
};

/// struct irq_fwspec: a firmware (DT) interrupt specifier.
struct irq_fwspec {
    const void* fwnode = nullptr;    ///< the controller node's identity (null: default domain)
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
int irq_domain_xlate_onecell(irq_domain* d, const void* node,
                             std::span<const std::uint32_t> intspec, irq_hw_number_t* out_hwirq,
                             unsigned* out_type);
int irq_domain_xlate_twocell(irq_domain* d, const void* node,
                             std::span<const std::uint32_t> intspec, irq_hw_number_t* out_hwirq,
                             unsigned* out_type);
int irq_domain_xlate_onetwocell(irq_domain* d, const void* node,
                                std::span<const std::uint32_t> intspec, irq_hw_number_t* out_hwirq,
                                unsigned* out_type);

} // namespace piemu::kernel
