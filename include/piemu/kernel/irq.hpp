// genirq: the kernel model's interrupt core, after Linux 4.14 kernel/irq/. The data
// structures and flag values are in piemu/kernel/irq_types.hpp, included here.
//
// Identifiers, flag values, rules and log messages are the kernel's, so that code,
// traces and kernel source read side by side. There is no global state: one Irq
// context owns the descriptors, domains, per-CPU statistics and IPI counters of one
// machine. Everything on the interrupt path that may run a handler is a coroutine
// (Task<...>): built-in C++ handlers finish at once, guest handlers suspend until the
// guest returns (DESIGN.md, "The two ways a guest runs").
//
// Not modelled (each a NOTE where it would be): locking (one host thread), CPU
// hotplug, power management and wakeup sources, affinity beyond irq_set_affinity()
// (irq_setup_affinity at startup, managed affinity, /proc/irq/N/smp_affinity),
// hierarchical domains, the secondary thread of forced threading, the irqpoll/irqfixup
// misrouted-interrupt poller, interrupt timings, debugfs/sysfs/proc directories.
#pragma once

#include <memory>
#include <string_view>

#include "piemu/kernel/irq_types.hpp"
#include "piemu/kernel/preempt.hpp"
#include "piemu/kernel/printk.hpp"

namespace piemu::kernel {

/// Trace points of include/trace/events/irq.h, implemented by the trace layer.
class IrqTraceHooks {
public:
    virtual ~IrqTraceHooks() = default;
    virtual void irq_handler_entry(unsigned irq, const irqaction& action) {
        (void)irq, (void)action;
    }
    virtual void irq_handler_exit(unsigned irq, const irqaction& action, irqreturn_t ret) {
        (void)irq, (void)action, (void)ret;
    }
    /// Function tracer: `callee <-caller` at each genirq function entry on the
    /// interrupt path and at each action handler.
    virtual void function(std::string_view callee, std::string_view caller) {
        (void)callee, (void)caller;
    }
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
    unsigned nr_cpus = 4;          ///< possible CPUs (Raspberry Pi 2/3: 4)
    unsigned nr_irqs_legacy = 16;  ///< NR_IRQS_LEGACY: descriptors preallocated at boot
    unsigned hz = 100;             ///< CONFIG_HZ of Raspbian 4.14
    bool noirqdebug = false;       ///< the "noirqdebug" boot option
    bool force_irqthreads = false; ///< the "threadirqs" boot option (forced threading)
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
    void set_current_cpu(unsigned cpu); ///< the CPU the run loop is running
    unsigned smp_processor_id() const { return cpu_; }
    unsigned nr_cpu_ids() const { return cfg_.nr_cpus; }
    void set_cpu_online(unsigned cpu, bool online); ///< all CPUs start online
    bool cpu_online(unsigned cpu) const { return (online_ >> cpu) & 1; }
    unsigned num_online_cpus() const { return unsigned(std::popcount(online_)); }
    unsigned nr_irqs() const { return nr_irqs_; } ///< grows as descriptors are allocated
    std::uint32_t jiffies() const;                ///< INITIAL_JIFFIES + ticks at CONFIG_HZ
    std::uint32_t preempt_count() const { return preempt_.get(cpu_); } ///< current CPU's
    bool noirqdebug() const { return noirqdebug_; }
    void set_noirqdebug(bool on) { noirqdebug_ = on; }
    void set_trace_hooks(IrqTraceHooks* hooks) { trace_ = hooks; }
    IrqTraceHooks* trace_hooks() const { return trace_; }
    /// The genirq functions in progress on `cpu` (the function tracer's view),
    /// outermost first.
    const std::vector<std::string_view>& function_stack(unsigned cpu) const {
        return ftrace_stack_.at(cpu);
    }
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
    int irq_set_percpu_devid(unsigned irq);  ///< marks a per-CPU-dev_id line
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
    void __irq_set_handler(unsigned irq, irq_flow_handler_t handle, bool is_chained,
                           std::string name);
    void irq_set_handler(unsigned irq, irq_flow_handler_t h) {
        __irq_set_handler(irq, std::move(h), false, {});
    }
    void irq_set_chained_handler(unsigned irq, irq_flow_handler_t h) {
        __irq_set_handler(irq, std::move(h), true, {});
    }
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
    int request_percpu_irq(unsigned irq, irq_handler_t handler, std::string devname,
                           percpu_ptr id) {
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
    /// irq_set_affinity(): the CPUs the line may interrupt (a cpumask), through the
    /// chip's irq_set_affinity; its threads follow when they next run. 0 or -EINVAL
    /// (no descriptor, or a chip that cannot route the line).
    int irq_set_affinity(unsigned irq, std::uint32_t cpumask);
    /// irq_can_set_affinity(): neither per-CPU nor IRQF_NOBALANCING, and the chip routes.
    bool irq_can_set_affinity(unsigned irq) const;
    /// irq_thread_check_affinity()'s source: the line's affinity mask.
    std::uint32_t irq_affinity(const irq_desc* desc) const {
        return desc->irq_common_data.affinity;
    }
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

    // ---- the function tracer's view of the interrupt path
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
    /// The arch's entry into genirq (handle_arch_irq): `fn <-caller`, where the
    /// caller is the entry code's symbol (__irq_svc). Both strings must outlive the frame.
    FtraceFrame ftrace_entry(std::string_view fn, std::string_view caller);

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
    void __irq_do_set_handler(irq_desc* desc, irq_flow_handler_t handle, bool is_chained,
                              std::string name);
    int __irq_set_trigger(irq_desc* desc, unsigned long flags);
    bool __irq_can_set_affinity(const irq_desc* desc) const;
    int irq_do_set_affinity(irq_data* data, std::uint32_t mask, bool force);
    void irq_set_thread_affinity(irq_desc* desc);
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
    FtraceFrame trace_frame(std::string_view fn);
    friend struct FtraceFrame;
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
