// Interrupt descriptors and the entry into genirq (kernel/irq/irqdesc.c of Linux
// 4.14, CONFIG_SPARSE_IRQ as on ARM), irq_enter()/irq_exit() of kernel/softirq.c,
// and the ARM statistics of arch/arm/kernel/{irq.c, smp.c, fiq.c}: irq_err_count,
// the per-CPU IPI counters and the FIQ owner. Also the context's own plumbing:
// current CPU, jiffies, WARN(), the function-trace frames and woken waiters.
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

/// IRQ_BITMAP_BITS with SPARSE_IRQ: NR_IRQS + 8196 interrupt numbers at most.
constexpr unsigned kSparseExtra = 8196;

} // namespace

Irq::Irq(const IrqConfig& cfg, Printk& log, PreemptCountStore& preempt)
    : cfg_(cfg), log_(log), preempt_(preempt),
      online_(cfg.nr_cpus >= 32 ? ~0u : (1u << cfg.nr_cpus) - 1), noirqdebug_(cfg.noirqdebug),
      irq_regs_(cfg.nr_cpus, nullptr), ipi_irqs_(cfg.nr_cpus), ftrace_stack_(cfg.nr_cpus) {
    assert(cfg.nr_cpus >= 1 && cfg.nr_cpus <= 32);
    for (auto& row : ipi_irqs_)
        row.fill(0);

    // dummychip.c: "none" acks as a bad irq; "dummy" does nothing at all.
    auto noop = [](irq_data*) {};
    auto noop_ret = [](irq_data*) -> unsigned { return 0; };
    no_irq_chip_ = irq_chip{.name = "none",
                            .irq_startup = noop_ret,
                            .irq_shutdown = noop,
                            .irq_enable = noop,
                            .irq_disable = noop,
                            .irq_ack =
                                [this](irq_data* d) {
                                    print_irq_desc(d->irq, irq_to_desc(d->irq));
                                    ack_bad_irq(d->irq);
                                },
                            .flags = IRQCHIP_SKIP_SET_WAKE};
    dummy_irq_chip_ = irq_chip{.name = "dummy",
                               .irq_startup = noop_ret,
                               .irq_shutdown = noop,
                               .irq_enable = noop,
                               .irq_disable = noop,
                               .irq_ack = noop,
                               .irq_mask = noop,
                               .irq_unmask = noop,
                               .flags = IRQCHIP_SKIP_SET_WAKE};

    // chip.c: chained lines carry this action, whose handler must never run.
    chained_action_ = std::make_shared<irqaction>();
    chained_action_->handler = irq_handler_t("bad_chained_irq", [this](unsigned irq, void* dev) {
        warn(warn_once("bad_chained_irq"), "bad_chained_irq", KERN_WARNING,
             "Chained irq %d should not call an action\n", irq);
        return no_action(irq, dev);
    });

    // early_irq_init(): arch_probe_nr_irqs() gives NR_IRQS on ARM, all preallocated.
    unsigned initcnt = cfg.nr_irqs_legacy;
    allocated_irqs_.assign(cfg.nr_irqs_legacy + kSparseExtra, false);
    nr_irqs_ = initcnt;
    log_.printk(KERN_INFO, "NR_IRQS: %d, nr_irqs: %d, preallocated irqs: %d\n", cfg.nr_irqs_legacy,
                nr_irqs_, initcnt);
    for (unsigned i = 0; i < initcnt; i++)
        irq_alloc_descs(static_cast<int>(i), i, 1);
}

Irq::~Irq() = default;

// ---- context ------------------------------------------------------------------

void Irq::set_current_cpu(unsigned cpu) {
    assert(cpu < cfg_.nr_cpus); // host-side wiring
    cpu_ = cpu;
}

void Irq::set_cpu_online(unsigned cpu, bool online) {
    assert(cpu < cfg_.nr_cpus);
    online_ = online ? online_ | (1u << cpu) : online_ & ~(1u << cpu);
}

std::uint32_t Irq::jiffies() const {
    // INITIAL_JIFFIES: jiffies start 5 minutes before wrapping, as in the kernel.
    const std::uint32_t initial = static_cast<std::uint32_t>(-300 * static_cast<int>(cfg_.hz));
    std::uint64_t ns = log_.now_ns();
    std::uint64_t ticks = ns / 1000000000 * cfg_.hz + ns % 1000000000 * cfg_.hz / 1000000000;
    return initial + static_cast<std::uint32_t>(ticks);
}

void Irq::wake_up(WaitQueue& wq) {
    for (const WaitQueue::Waiter& w : wq.take_all()) {
        if (hooks_.wake_waiter)
            hooks_.wake_waiter(w.handle, w.cpu);
        else
            woken_.push_back(w);
    }
}

void Irq::run_woken() {
    unsigned saved = cpu_;
    while (!woken_.empty()) {
        WaitQueue::Waiter w = woken_.front();
        woken_.erase(woken_.begin());
        set_current_cpu(w.cpu);
        w.handle.resume();
    }
    cpu_ = saved;
}

Irq::FtraceFrame Irq::trace_frame(std::string_view fn) {
    if (!trace_)
        return {};
    auto& stack = ftrace_stack_[cpu_];
    trace_->function(fn, stack.empty() ? std::string_view{} : stack.back());
    stack.push_back(fn);
    return FtraceFrame(this, cpu_);
}

Irq::FtraceFrame Irq::ftrace_entry(std::string_view fn, std::string_view caller) {
    if (!trace_)
        return {};
    trace_->function(fn, caller);
    ftrace_stack_[cpu_].push_back(fn);
    return FtraceFrame(this, cpu_);
}

bool Irq::warn_once(const char* key) {
    if (std::find(once_.begin(), once_.end(), key) != once_.end())
        return false;
    once_.emplace_back(key);
    return true;
}

void Irq::warn_report(const char* caller, KernLevel level, const std::string* message) {
    // __warn(): the file-less form, "%pS" printed as the bare symbol (no addresses).
    // NOTE: print_modules() and the register/stack dump are left to hooks.dump_stack.
    int pid = hooks_.current_pid ? hooks_.current_pid(cpu_) : 0;
    log_.printk(KERN_WARNING, "------------[ cut here ]------------\n");
    log_.printk(KERN_WARNING, "WARNING: CPU: %u PID: %d at %s\n", cpu_, pid, caller);
    if (message)
        log_.log(level, *message);
    if (hooks_.dump_stack)
        hooks_.dump_stack(cpu_);
    log_.print_oops_end_marker();
}

bool Irq::warn(bool condition, const char* caller, KernLevel level, const char* fmt, ...) {
    if (!condition)
        return false;
    std::va_list ap;
    va_start(ap, fmt);
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    std::string message(buf);
    warn_report(caller, level, &message);
    return true;
}

bool Irq::warn_on(bool condition, const char* caller) {
    if (condition)
        warn_report(caller, KERN_WARNING, nullptr);
    return condition;
}

// ---- descriptors ---------------------------------------------------------------

irq_desc* Irq::irq_to_desc(unsigned irq) const {
    auto it = descs_.find(irq);
    return it == descs_.end() ? nullptr : it->second.get();
}

irq_desc* Irq::irq_get_desc(unsigned irq, unsigned check) const {
    irq_desc* desc = irq_to_desc(irq);
    if (desc && (check & _IRQ_DESC_CHECK)) {
        bool percpu = irq_settings_is_per_cpu_devid(desc);
        if (((check & _IRQ_DESC_PERCPU) != 0) != percpu)
            return nullptr;
    }
    return desc;
}

int Irq::irq_alloc_descs(int irq, unsigned from, unsigned cnt) {
    if (!cnt)
        return -EINVAL;
    if (irq >= 0) {
        if (from > static_cast<unsigned>(irq))
            return -EINVAL;
        from = static_cast<unsigned>(irq);
    }
    // bitmap_find_next_zero_area(allocated_irqs, IRQ_BITMAP_BITS, from, cnt, 0)
    const unsigned bits = static_cast<unsigned>(allocated_irqs_.size());
    unsigned start = from;
    while (start + cnt <= bits) {
        unsigned i = 0;
        while (i < cnt && !allocated_irqs_[start + i])
            i++;
        if (i == cnt)
            break;
        start += i + 1;
    }
    if (irq >= 0 && start != static_cast<unsigned>(irq))
        return -EEXIST;
    if (start + cnt > nr_irqs_) {
        if (start + cnt > bits) // irq_expand_nr_irqs()
            return -ENOMEM;
        nr_irqs_ = start + cnt;
    }
    for (unsigned i = start; i < start + cnt; i++) {
        // alloc_desc() + desc_set_defaults()
        auto desc = std::make_unique<irq_desc>();
        desc->irq_data.common = &desc->irq_common_data;
        desc->irq_data.irq = i;
        desc->irq_data.chip = &no_irq_chip_;
        irq_settings_clr_and_set(desc.get(), ~0u, IRQ_DEFAULT_INIT_FLAGS);
        irqd_set(&desc->irq_data, IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED);
        desc->handle_irq = &Irq::handle_bad_irq;
        desc->depth = 1;
        desc->kstat_irqs.assign(cfg_.nr_cpus, 0);
        descs_[i] = std::move(desc);
        allocated_irqs_[i] = true;
    }
    return static_cast<int>(start);
}

void Irq::irq_free_descs(unsigned from, unsigned cnt) {
    if (from >= nr_irqs_ || from + cnt > nr_irqs_)
        return;
    for (unsigned i = from; i < from + cnt; i++) {
        descs_.erase(i);
        allocated_irqs_[i] = false;
    }
}

unsigned Irq::kstat_irqs_cpu(unsigned irq, unsigned cpu) const {
    irq_desc* desc = irq_to_desc(irq);
    return desc && cpu < desc->kstat_irqs.size() ? desc->kstat_irqs[cpu] : 0;
}

unsigned Irq::kstat_irqs(unsigned irq) const {
    irq_desc* desc = irq_to_desc(irq);
    unsigned sum = 0;
    if (desc)
        for (unsigned c : desc->kstat_irqs)
            sum += c;
    return sum;
}

void Irq::kstat_incr_irqs_this_cpu(irq_desc* desc) {
    desc->kstat_irqs[cpu_]++;
}

int Irq::irq_set_percpu_devid(unsigned irq) {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc || desc->percpu_enabled)
        return -EINVAL;
    desc->percpu_enabled = 0u;
    desc->percpu_affinity = online_; // cpu_possible_mask
    irq_set_status_flags(irq, IRQ_NOAUTOEN | IRQ_PER_CPU | IRQ_NOTHREAD | IRQ_NOPROBE |
                                  IRQ_PER_CPU_DEVID);
    return 0;
}

void Irq::irq_modify_status(unsigned irq, unsigned long clr, unsigned long set) {
    irq_desc* desc = irq_to_desc(irq);
    if (!desc)
        return;
    // A driver setting "no autoenable" on an already active interrupt.
    warn_on(!desc->depth && (set & IRQ_NOAUTOEN) && warn_once("irq_modify_status"),
            "irq_modify_status");
    irq_settings_clr_and_set(desc, static_cast<unsigned>(clr), static_cast<unsigned>(set));
    irq_data* d = &desc->irq_data;
    unsigned trigger = irqd_get_trigger_type(d);
    irqd_clear(d, IRQD_NO_BALANCING | IRQD_PER_CPU | IRQD_TRIGGER_MASK | IRQD_LEVEL |
                      IRQD_MOVE_PCNTXT);
    if (irq_settings_has_no_balance_set(desc))
        irqd_set(d, IRQD_NO_BALANCING);
    if (irq_settings_is_per_cpu(desc))
        irqd_set(d, IRQD_PER_CPU);
    if (irq_settings_can_move_pcntxt(desc))
        irqd_set(d, IRQD_MOVE_PCNTXT);
    if (irq_settings_is_level(desc))
        irqd_set(d, IRQD_LEVEL);
    if (unsigned tmp = irq_settings_get_trigger_mask(desc); tmp != IRQ_TYPE_NONE)
        trigger = tmp;
    irqd_set(d, trigger);
}

// ---- the interrupt entry ----------------------------------------------------------

Task<void> Irq::generic_handle_irq_desc(irq_desc* desc) {
    irq_flow_handler_t& h = desc->handle_irq;
    if (h.builtin)
        co_await (this->*h.builtin)(desc);
    else if (h.chained) {
        // A chained demultiplexer is a function of its irqchip driver: the function
        // tracer sees it between generic_handle_irq and what it dispatches.
        auto frame = trace_frame(h.name);
        co_await h.chained(desc);
    }
}

Task<int> Irq::generic_handle_irq(unsigned irq) {
    auto frame = trace_frame("generic_handle_irq");
    irq_desc* desc = irq_to_desc(irq);
    if (!desc)
        co_return -EINVAL;
    co_await generic_handle_irq_desc(desc);
    co_return 0;
}

void Irq::irq_enter() {
    auto frame = trace_frame("irq_enter");
    // NOTE: rcu_irq_enter(), tick_irq_enter() for the idle task (with its
    // local_bh_disable()/_local_bh_enable() pair, net zero) and the irq time
    // accounting are not modelled.
    preempt_.add(cpu_, HARDIRQ_OFFSET);
}

Task<void> Irq::irq_exit() {
    auto frame = trace_frame("irq_exit");
    const unsigned cpu = cpu_;
    preempt_.sub(cpu, HARDIRQ_OFFSET);
    if (!in_interrupt(preempt_.get(cpu)) && hooks_.local_softirq_pending &&
        hooks_.local_softirq_pending(cpu) && hooks_.invoke_softirq)
        co_await hooks_.invoke_softirq(cpu);
    // NOTE: tick_irq_exit(), rcu_irq_exit() and trace_hardirq_exit() not modelled.
}

Task<int> Irq::__handle_domain_irq(irq_domain* domain, unsigned hwirq, bool lookup, pt_regs* regs) {
    auto frame = trace_frame("__handle_domain_irq");
    const unsigned cpu = cpu_;
    pt_regs* old_regs = set_irq_regs(regs);
    unsigned irq = hwirq;
    int ret = 0;

    irq_enter();
    if (lookup)
        irq = irq_find_mapping(domain, hwirq);
    // Some hardware gives randomly wrong interrupts: do something sensible.
    if (!irq || irq >= nr_irqs_) {
        ack_bad_irq(irq);
        ret = -EINVAL;
    } else {
        co_await generic_handle_irq(irq);
    }
    co_await irq_exit();
    irq_regs_[cpu] = old_regs;
    co_return ret;
}

Task<int> Irq::handle_domain_irq(irq_domain* domain, unsigned hwirq, pt_regs* regs) {
    co_return co_await __handle_domain_irq(domain, hwirq, true, regs);
}

// ---- arch/arm ----------------------------------------------------------------------

void Irq::ack_bad_irq(unsigned irq) {
    irq_err_count_++;
    log_.printk(KERN_CRIT, "unexpected IRQ trap at vector %02x\n", irq);
}

void Irq::inc_ipi_stat(unsigned cpu, unsigned ipinr) {
    if (cpu < ipi_irqs_.size() && ipinr < NR_IPI)
        ipi_irqs_[cpu][ipinr]++;
}

int Irq::claim_fiq(std::string name) {
    // NOTE: fiq_op relinquish callbacks are not modelled: a claim always succeeds.
    fiq_owners_.push_back(std::move(name));
    return 0;
}

void Irq::release_fiq() {
    if (!fiq_owners_.empty())
        fiq_owners_.pop_back();
}

} // namespace piemu::kernel
