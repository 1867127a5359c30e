// Interrupt domains (kernel/irq/irqdomain.c of Linux 4.14, without hierarchies):
// a controller's hwirq numbers mapped to Linux irq numbers, allocated from the first
// free number after the NR_IRQS_LEGACY preallocated descriptors, and the DT
// specifier translation (xlate) of irq_create_fwspec_mapping().
//
// Messages carry irqdomain.c's pr_fmt prefix "irq: ". A domain without a name gets
// its first mapped chip's name, as irq_domain_associate() does for unnamed domains
// (the kernel names domains after their DT node; piemu's caller may set `name`).
#include <cerrno>

#include "kernel/irq/internals.hpp"

namespace piemu::kernel {

namespace {

const char* node_name(const irq_fwspec& fwspec) {
    return fwspec.node_name ? fwspec.node_name : "<no-node>";
}

} // namespace

irq_domain* Irq::irq_domain_add_linear(const void* fwnode, unsigned size, irq_domain_ops ops,
                                       void* host_data) {
    auto d = std::make_unique<irq_domain>();
    d->fwnode = fwnode;
    d->ops = std::move(ops);
    d->host_data = host_data;
    d->hwirq_max = size;
    d->revmap_size = size;
    d->revmap_direct_max_irq = 0;
    d->linear_revmap.assign(size, 0);
    d->owner = this;
    domains_.push_back(std::move(d));
    return domains_.back().get();
}

irq_domain* Irq::irq_find_matching_fwnode(const void* fwnode) const {
    // irq_domain_list has the newest domain first.
    for (auto it = domains_.rbegin(); it != domains_.rend(); ++it)
        if (fwnode && (*it)->fwnode == fwnode)
            return it->get();
    return nullptr;
}

int Irq::irq_domain_associate(irq_domain* domain, unsigned virq, irq_hw_number_t hwirq) {
    irq_data* d = irq_get_irq_data(virq);
    if (warn(hwirq >= domain->hwirq_max, "irq_domain_associate", KERN_DEFAULT,
             "error: hwirq 0x%x is too large for %s\n", static_cast<int>(hwirq),
             domain->name.c_str()))
        return -EINVAL;
    if (warn(!d, "irq_domain_associate", KERN_DEFAULT, "error: virq%i is not allocated", virq))
        return -EINVAL;
    if (warn(d->domain != nullptr, "irq_domain_associate", KERN_DEFAULT,
             "error: virq%i is already associated", virq))
        return -EINVAL;

    d->hwirq = hwirq;
    d->domain = domain;
    if (domain->ops.map) {
        int ret = domain->ops.map(domain, virq, hwirq);
        if (ret != 0) {
            // -EPERM: protected by firmware, not worth a message.
            if (ret != -EPERM)
                log_.printk(KERN_INFO,
                            "irq: %s didn't like hwirq-0x%lx to VIRQ%i mapping (rc=%d)\n",
                            domain->name.c_str(), static_cast<unsigned long>(hwirq), virq, ret);
            d->domain = nullptr;
            d->hwirq = 0;
            return ret;
        }
        if (domain->name.empty() && d->chip)
            domain->name = d->chip->name;
    }
    domain->mapcount++;
    if (hwirq < domain->revmap_size)
        domain->linear_revmap[hwirq] = virq;
    else
        domain->revmap_tree[hwirq] = d;
    irq_clear_status_flags(virq, IRQ_NOREQUEST);
    return 0;
}

/// A number for a new mapping: the first free one from hwirq % nr_irqs (never 0),
/// or from 1. With the legacy numbers taken, mappings count up from 16 in order.
int Irq::irq_domain_alloc_descs(int virq, unsigned cnt, irq_hw_number_t hwirq) {
    if (virq >= 0)
        return irq_alloc_descs(virq, static_cast<unsigned>(virq), cnt);
    unsigned hint = hwirq % nr_irqs_;
    if (hint == 0)
        hint++;
    virq = irq_alloc_descs(-1, hint, cnt);
    if (virq <= 0 && hint > 1)
        virq = irq_alloc_descs(-1, 1, cnt);
    return virq;
}

unsigned Irq::irq_create_mapping(irq_domain* domain, irq_hw_number_t hwirq) {
    if (!domain)
        domain = default_domain_;
    if (!domain) {
        warn(true, "irq_create_mapping", KERN_DEFAULT, "%s(, %lx) called with NULL domain\n",
             "irq_create_mapping", static_cast<unsigned long>(hwirq));
        return 0;
    }
    // An existing mapping is returned as is.
    if (unsigned virq = irq_find_mapping(domain, hwirq))
        return virq;
    int virq = irq_domain_alloc_descs(-1, 1, hwirq);
    if (virq <= 0)
        return 0;
    if (irq_domain_associate(domain, static_cast<unsigned>(virq), hwirq)) {
        irq_free_descs(static_cast<unsigned>(virq), 1);
        return 0;
    }
    return static_cast<unsigned>(virq);
}

unsigned Irq::irq_find_mapping(irq_domain* domain, irq_hw_number_t hwirq) const {
    if (!domain)
        domain = default_domain_;
    if (!domain)
        return 0;
    if (hwirq < domain->revmap_direct_max_irq) {
        irq_data* d = irq_get_irq_data(hwirq);
        if (d && d->domain == domain && d->hwirq == hwirq)
            return hwirq;
    }
    if (hwirq < domain->revmap_size)
        return domain->linear_revmap[hwirq];
    auto it = domain->revmap_tree.find(hwirq);
    return it == domain->revmap_tree.end() ? 0 : it->second->irq;
}

unsigned Irq::irq_create_fwspec_mapping(const irq_fwspec& fwspec) {
    irq_domain* domain = fwspec.fwnode ? irq_find_matching_fwnode(fwspec.fwnode) : default_domain_;
    if (!domain) {
        log_.printk(KERN_WARNING, "irq: no irq domain found for %s !\n", node_name(fwspec));
        return 0;
    }
    // irq_domain_translate(): xlate, or the first cell is the hwirq.
    irq_hw_number_t hwirq = 0;
    unsigned type = IRQ_TYPE_NONE;
    std::span<const std::uint32_t> spec(fwspec.param.data(),
                                        std::min<unsigned>(fwspec.param_count, 16));
    if (domain->ops.xlate) {
        if (domain->ops.xlate(domain, fwspec.fwnode, spec, &hwirq, &type))
            return 0;
    } else {
        hwirq = spec.empty() ? 0 : spec[0];
    }
    // The chip returned bits outside the sense mask: WARN and drop them.
    if (warn_on(type & ~IRQ_TYPE_SENSE_MASK, "irq_create_fwspec_mapping"))
        type &= IRQ_TYPE_SENSE_MASK;

    // Configured before: never again, or hell breaks loose.
    if (unsigned virq = irq_find_mapping(domain, hwirq)) {
        unsigned current = irq_get_trigger_type(virq);
        if (type == IRQ_TYPE_NONE || type == current)
            return virq;
        if (current == IRQ_TYPE_NONE) {
            irq_data* d = irq_get_irq_data(virq);
            if (!d)
                return 0;
            irqd_set_trigger_type(d, type);
            return virq;
        }
        log_.printk(KERN_WARNING, "irq: type mismatch, failed to map hwirq-%lu for %s!\n",
                    static_cast<unsigned long>(hwirq), node_name(fwspec));
        return 0;
    }
    unsigned virq = irq_create_mapping(domain, hwirq);
    if (!virq)
        return 0;
    // Store the trigger type; request_irq() applies it through the chip.
    irqd_set_trigger_type(irq_get_irq_data(virq), type);
    return virq;
}

Task<void> Irq::irq_dispose_mapping(unsigned virq) {
    irq_data* d = irq_get_irq_data(virq);
    if (!virq || !d)
        co_return;
    irq_domain* domain = d->domain;
    if (warn_on(domain == nullptr, "irq_dispose_mapping"))
        co_return;
    // irq_domain_disassociate()
    irq_hw_number_t hwirq = d->hwirq;
    irq_set_status_flags(virq, IRQ_NOREQUEST);
    irq_set_chip_and_handler(virq, nullptr, nullptr); // remove chip and handler
    co_await synchronize_irq(virq);
    if (domain->ops.unmap)
        domain->ops.unmap(domain, virq);
    d->domain = nullptr;
    d->hwirq = 0;
    domain->mapcount--;
    if (hwirq < domain->revmap_size)
        domain->linear_revmap[hwirq] = 0;
    else
        domain->revmap_tree.erase(hwirq);
    irq_free_descs(virq, 1);
}

// ---- generic translations -------------------------------------------------------------

int irq_domain_xlate_onecell(irq_domain* d, const void*, std::span<const std::uint32_t> intspec,
                             irq_hw_number_t* out_hwirq, unsigned* out_type) {
    if (d->owner->warn_on(intspec.size() < 1, "irq_domain_xlate_onecell"))
        return -EINVAL;
    *out_hwirq = intspec[0];
    *out_type = IRQ_TYPE_NONE;
    return 0;
}

int irq_domain_xlate_twocell(irq_domain* d, const void*, std::span<const std::uint32_t> intspec,
                             irq_hw_number_t* out_hwirq, unsigned* out_type) {
    if (d->owner->warn_on(intspec.size() < 2, "irq_domain_xlate_twocell"))
        return -EINVAL;
    *out_hwirq = intspec[0];
    *out_type = intspec[1] & IRQ_TYPE_SENSE_MASK;
    return 0;
}

int irq_domain_xlate_onetwocell(irq_domain* d, const void*, std::span<const std::uint32_t> intspec,
                                irq_hw_number_t* out_hwirq, unsigned* out_type) {
    if (d->owner->warn_on(intspec.size() < 1, "irq_domain_xlate_onetwocell"))
        return -EINVAL;
    *out_hwirq = intspec[0];
    *out_type = intspec.size() > 1 ? intspec[1] & IRQ_TYPE_SENSE_MASK : IRQ_TYPE_NONE;
    return 0;
}

} // namespace piemu::kernel
