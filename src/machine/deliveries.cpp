#include "piemu/deliveries.hpp"

#include <fmt/format.h>

namespace piemu {

void DeliveryCounts::add_controller(InterruptController& ic, std::string name,
                                    std::function<unsigned(bool fiq)> route) {
    controllers_.push_back({&ic, std::move(name), std::move(route)});
    ic.observe_deliveries(this);
}

int DeliveryCounts::index_of(const InterruptController& ic) const {
    for (size_t i = 0; i < controllers_.size(); ++i)
        if (controllers_[i].ic == &ic)
            return int(i);
    return -1;
}

void DeliveryCounts::add_source(const InterruptController& ic, unsigned hwirq,
                                const std::string& source) {
    int c = index_of(ic);
    if (c < 0)
        return;
    std::string& s = rows_[Key{unsigned(c), hwirq, -1, false}].source;
    if (s.empty()) {
        s = source;
        return;
    }
    if (s == source) // each core's timer names its row again
        return;
    // "dma@7e007000 irq11" then "dma@7e007000 irq12": "dma@7e007000 irq11, irq12".
    size_t space = source.find(' ');
    std::string node = source.substr(0, space);
    if (space != std::string::npos && s.starts_with(node + " "))
        s += ", " + source.substr(space + 1);
    else
        s += ", " + source;
}

void DeliveryCounts::pending_changed(const InterruptController& from, unsigned hwirq, int bit,
                                     int core, bool fiq, bool pending) {
    int c = index_of(from);
    if (c < 0)
        return;
    Row& row = rows_[Key{unsigned(c), hwirq, bit, fiq}];
    if (!pending) {
        // A routed controller's input falls wherever it was delivered.
        row.pending &= uint8_t(core < 0 ? 0 : ~(1u << core));
        return;
    }
    if (core < 0) {
        const Controller& ctl = controllers_[size_t(c)];
        core = ctl.route ? int(ctl.route(fiq)) : 0;
    }
    if (unsigned(core) >= cores_)
        return; // routed to a core that is not wired: delivered nowhere
    ++row.count[size_t(core)];
    row.pending |= uint8_t(1u << core);
}

const DeliveryCounts::Row* DeliveryCounts::find(const std::string& controller, unsigned hwirq,
                                                int bit, bool fiq) const {
    for (size_t c = 0; c < controllers_.size(); ++c) {
        if (controllers_[c].name != controller)
            continue;
        auto it = rows_.find(Key{unsigned(c), hwirq, bit, fiq});
        return it == rows_.end() ? nullptr : &it->second;
    }
    return nullptr;
}

uint64_t DeliveryCounts::count(const std::string& controller, unsigned hwirq, int bit, bool fiq,
                               unsigned core) const {
    const Row* row = find(controller, hwirq, bit, fiq);
    return row && core < cores_ ? row->count[core] : 0;
}

bool DeliveryCounts::pending(const std::string& controller, unsigned hwirq, int bit, bool fiq,
                             unsigned core) const {
    const Row* row = find(controller, hwirq, bit, fiq);
    return row && core < cores_ && (row->pending >> core) & 1;
}

std::string DeliveryCounts::show(uint64_t now_ns) const {
    std::string out = fmt::format("piemu: interrupt deliveries at the controllers, {}.{:09} s\n",
                                  now_ns / 1'000'000'000, now_ns % 1'000'000'000);
    out += fmt::format("{:<10} {:>6}", "controller", "hwirq");
    for (unsigned c = 0; c < cores_; ++c)
        out += fmt::format(" {:>10} ", fmt::format("CPU{}", c));
    out += " pin  source\n";
    for (const auto& [key, row] : rows_) {
        bool any = false;
        for (unsigned c = 0; c < cores_; ++c)
            any = any || row.count[c] != 0;
        if (!any && row.source.empty())
            continue;
        std::string hwirq =
            key.bit < 0 ? fmt::format("{}", key.hwirq) : fmt::format("{}.{}", key.hwirq, key.bit);
        out += fmt::format("{:<10} {:>6}", controllers_[key.controller].name, hwirq);
        for (unsigned c = 0; c < cores_; ++c)
            out += fmt::format(" {:>10}{}", row.count[c], (row.pending >> c) & 1 ? "+" : " ");
        // A mailbox bit's row takes its mailbox's name.
        std::string source = row.source;
        if (key.bit >= 0) {
            auto whole = rows_.find(Key{key.controller, key.hwirq, -1, false});
            source = fmt::format("{}bit {}",
                                 whole != rows_.end() && !whole->second.source.empty()
                                     ? whole->second.source + " "
                                     : "",
                                 key.bit);
        }
        out += fmt::format(" {}  {}\n", key.fiq ? "FIQ" : "IRQ", source.empty() ? "-" : source);
    }
    return out;
}

} // namespace piemu
