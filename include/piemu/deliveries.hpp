// Interrupt deliveries counted at the controllers, per input and core: the emulator's
// side of /proc/interrupts, printed by `piemu interrupts` and --dump-interrupts without
// the kernel model (README, "piemu interrupts"; docs/linux.md compares it with Linux's).
//
// A delivery is what DeliveryObserver says: an input of a controller becomes pending
// at a core (high AND enabled AND routed there), one interrupt a guest handler sees
// once. Rows are (controller, hwirq in Linux's numbering, mailbox bit, IRQ or FIQ).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "piemu/irqchip.hpp"

namespace piemu {

class DeliveryCounts final : public DeliveryObserver {
public:
    static constexpr unsigned kMaxCores = 4;
    /// One row's key: which controller (its index in add_controller() order), which
    /// hwirq, which mailbox bit (-1: the whole input) and IRQ or FIQ.
    struct Key {
        unsigned controller = 0;
        unsigned hwirq = 0;
        int bit = -1;
        bool fiq = false;
        auto operator<=>(const Key&) const = default;
    };

    explicit DeliveryCounts(unsigned cores) : cores_(cores) {}

    /// Counts `ic`'s deliveries from now on in rows named `name` ("armctrl").
    /// `route`: for a controller that reports core -1, the core its output goes to
    /// now (fiq: its FIQ output's).
    void add_controller(InterruptController& ic, std::string name,
                        std::function<unsigned(bool fiq)> route = {});
    /// A row shown even while its counts are 0 (an input the board wires), and the
    /// source named in its last column ("serial@7e201000", "cntv"). Named again, the
    /// names are joined with ", " ("dma@7e007000 irq11, irq12": a node named once).
    void add_source(const InterruptController& ic, unsigned hwirq, const std::string& source);

    void pending_changed(const InterruptController& from, unsigned hwirq, int bit, int core,
                         bool fiq, bool pending) override;

    /// Deliveries of a row to `core` so far (0 for a row never seen).
    uint64_t count(const std::string& controller, unsigned hwirq, int bit, bool fiq,
                   unsigned core) const;
    /// True while that row's input is pending at `core` (delivered, not yet cleared).
    bool pending(const std::string& controller, unsigned hwirq, int bit, bool fiq,
                 unsigned core) const;
    /// The table (format in the README): a heading with the virtual time `now_ns`, then
    /// the rows in (controller, hwirq, bit, IRQ before FIQ) order, those with a source
    /// or a delivery only; a count is followed by '+' while its input is pending there.
    std::string show(uint64_t now_ns) const;

private:
    struct Controller {
        const InterruptController* ic;
        std::string name;
        std::function<unsigned(bool)> route;
    };
    struct Row {
        std::array<uint64_t, kMaxCores> count{};
        uint8_t pending = 0; // bit c: pending at core c
        std::string source;
    };
    int index_of(const InterruptController& ic) const;
    const Row* find(const std::string& controller, unsigned hwirq, int bit, bool fiq) const;

    unsigned cores_;
    std::vector<Controller> controllers_;
    std::map<Key, Row> rows_;
};

} // namespace piemu
