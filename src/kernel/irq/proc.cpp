// /proc/interrupts (kernel/irq/proc.c show_interrupts() of Linux 4.14 with
// CONFIG_GENERIC_IRQ_SHOW_LEVEL, then ARM's arch_show_interrupts(): the FIQ owner of
// arch/arm/kernel/fiq.c, the IPI rows of arch/arm/kernel/smp.c and the Err row),
// byte for byte.
//
// NOTE: the /proc/irq/<n>/ directories (smp_affinity, spurious, ...) are not modelled.
#include <cstdarg>
#include <cstdio>

#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

/// seq_printf() into a string.
__attribute__((format(printf, 2, 3))) void seq_printf(std::string& seq, const char* fmt, ...) {
    char buf[256];
    std::va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= static_cast<int>(sizeof buf)) { // a long action name: format again, exactly
        std::string big(static_cast<std::size_t>(n) + 1, '\0');
        va_start(ap, fmt);
        std::vsnprintf(big.data(), big.size(), fmt, ap);
        va_end(ap);
        big.pop_back();
        seq += big;
    } else if (n > 0) {
        seq.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace

std::string Irq::show_interrupts() const {
    std::string p;
    // The first column is as wide as the largest irq number, 3 digits at least.
    int prec = 3;
    for (unsigned j = 1000; prec < 10 && j <= nr_irqs_; ++prec)
        j *= 10;

    seq_printf(p, "%*s", prec + 8, "");
    for (unsigned j = 0; j < cfg_.nr_cpus; j++)
        if (cpu_online(j))
            seq_printf(p, "CPU%-8d", j);
    p += '\n';

    for (unsigned i = 0; i < nr_irqs_; i++) {
        irq_desc* desc = irq_to_desc(i);
        if (!desc)
            continue;
        unsigned any_count = 0;
        for (unsigned j = 0; j < cfg_.nr_cpus; j++)
            if (cpu_online(j))
                any_count |= desc->kstat_irqs[j];
        irqaction* action = desc->action;
        // Lines without handlers (or chained ones) show only once they counted.
        if ((!action || action == chained_action_.get()) && !any_count)
            continue;

        seq_printf(p, "%*d: ", prec, i);
        for (unsigned j = 0; j < cfg_.nr_cpus; j++)
            if (cpu_online(j))
                seq_printf(p, "%10u ", desc->kstat_irqs[j]);
        if (irq_chip* chip = desc->irq_data.chip) {
            if (chip->irq_print_chip)
                chip->irq_print_chip(&desc->irq_data, p);
            else
                seq_printf(p, " %8s", chip->name.empty() ? "-" : chip->name.c_str());
        } else {
            seq_printf(p, " %8s", "None");
        }
        if (desc->irq_data.domain)
            seq_printf(p, " %*d", prec, static_cast<int>(desc->irq_data.hwirq));
        else
            seq_printf(p, " %*s", prec, "");
        seq_printf(p, " %-8s", irqd_is_level_type(&desc->irq_data) ? "Level" : "Edge");
        if (!desc->name.empty())
            seq_printf(p, "-%-8s", desc->name.c_str());
        if (action) {
            seq_printf(p, "  %s", action->name.c_str());
            while ((action = action->next) != nullptr)
                seq_printf(p, ", %s", action->name.c_str());
        }
        p += '\n';
    }

    // arch_show_interrupts(): show_fiq_list(), show_ipi_list(), the error count.
    if (!fiq_owners_.empty())
        seq_printf(p, "%*s:              %s\n", prec, "FIQ", fiq_owners_.back().c_str());
    for (unsigned i = 0; i < NR_IPI; i++) {
        seq_printf(p, "%*s%u: ", prec - 1, "IPI", i);
        for (unsigned cpu = 0; cpu < cfg_.nr_cpus; cpu++)
            if (cpu_online(cpu))
                seq_printf(p, "%10u ", ipi_irqs_[cpu][i]);
        seq_printf(p, " %s\n", ipi_types[i]);
    }
    seq_printf(p, "%*s: %10lu\n", prec, "Err", irq_err_count_);
    return p;
}

} // namespace piemu::kernel
