// The device registry: which device model a Device Tree `compatible` string names, and
// how to construct and wire it. The board builder (board_builder.hpp) looks every node
// up here; a compatible without an entry is "not modelled" and listed as such.
//
// Three kinds of entries:
//  - DeviceEntry: a memory-mapped device model, made by a factory from the node
//    (DeviceContext) and returned with what the builder needs to wire it
//    (DeviceInstance): its interrupt outputs in DT order, its controller side, its
//    lines to the cores.
//  - PercpuEntry: a node without registers whose interrupts are per-CPU lines that
//    live in the cores (the ARM generic timer and the PMU). The builder connects core
//    c's copy of each line, taken from CoreLines, to the controller's input for core c.
//  - PartEntry: a node whose registers lie inside another node's model, as the AUX mini
//    UART ("brcm,bcm2835-aux-uart", reg at 0x7e215040) lies in the AUX block that the
//    "brcm,bcm2835-aux" node's Bcm2835Aux models whole. No device is made for it; the
//    builder finds the owner's model whose bus window covers the node's `reg` and wires
//    the node's interrupts from that model's lines.
//
// builtin() holds piemu's models. Tests build their own registry (or copy builtin())
// and add fake entries.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "piemu/clock.hpp"
#include "piemu/device.hpp"
#include "piemu/error.hpp"
#include "piemu/irqchip.hpp"

namespace piemu {

class Bus;

/// Index into CoreLines::timers[core]: the generic timer outputs in the BCM2836 local
/// controller's numbering (hwirq 0-3 of Linux's irq-bcm2836.h). This is not the order
/// of the arm,armv7-timer binding (secure, non-secure, virtual, hypervisor).
enum CoreTimer : unsigned { kCntps = 0, kCntpns = 1, kCnthp = 2, kCntv = 3 };

/// Interrupt lines that live in the cores rather than in device models. Vectors are
/// indexed by core; a missing entry or a null pointer leaves that wire unconnected
/// (and says so in the board table).
struct CoreLines {
    /// Per core: CNTPS, CNTPNS, CNTHP, CNTV (indexed by CoreTimer).
    std::vector<std::array<IrqLine*, 4>> timers;
    /// Per core: the PMU overflow interrupt.
    std::vector<IrqLine*> pmu;
    /// Per core: the core's interrupt pins; input 0 = IRQ, 1 = FIQ.
    std::vector<IrqSink*> cpu_inputs;
};

/// A `reg` entry of a node, translated to a physical address range.
struct RegWindow {
    uint32_t base;
    uint32_t size;
};

/// What a factory learns about the node it instantiates.
struct DeviceContext {
    std::string name; ///< node name, e.g. "serial@7e201000"
    std::string path; ///< e.g. "/soc/serial@7e201000"
    uint32_t base;    ///< physical address of the first `reg` entry, translated
    uint32_t size;    ///< its size
    VirtualClock& clock;
    unsigned cores;
    const void* fdt;    ///< the (validated) DTB, for properties the factory reads itself
    int node;           ///< the node's offset in fdt
    Bus* bus = nullptr; ///< guest memory, for devices that master the bus (mailbox, DMA)
    /// Every `reg` entry, translated, in order (regs[0] is base/size); the list stops
    /// before the first later entry that does not translate.
    std::vector<RegWindow> regs = {};

    /// A one-cell property, or nullopt when absent or not one cell.
    std::optional<uint32_t> prop_u32(const char* prop) const;
    /// The rate of the clock the node's `clocks` entry `index` names, when that clock
    /// is a node with `clock-frequency` (a fixed-clock); nullopt otherwise.
    std::optional<uint64_t> clock_rate(unsigned index = 0) const;
};

/// A constructed device and how the builder wires it.
struct DeviceInstance {
    std::unique_ptr<Device> device;
    /// Outputs in the order of the node's `interrupts`; when empty the builder uses
    /// device->irq_outputs(). (An adapter for models that do not override it.)
    std::vector<IrqLine*> outputs;
    /// The node's controller side; when null the builder tries a dynamic_cast of device.
    InterruptController* controller = nullptr;
    /// For the root controller: per core, the lines to the core's IRQ and FIQ pins.
    std::vector<std::array<IrqLine*, 2>> cpu_outputs;
    /// A FIQ output the DT does not describe (`interrupts` names the IRQ output only):
    /// the builder connects it to the parent controller's child_fiq_input.
    IrqLine* fiq_output = nullptr;
    /// The input receiving a child controller's fiq_output, if this controller has one.
    std::optional<unsigned> child_fiq_input;
    /// A further `reg` window of the node served by a device of its own (e.g. the MPHI
    /// block in Raspbian's usb node): the builder maps `device` at the address of `reg`
    /// entry `reg_index` (>= 1), lists it in the table and resets it with the board.
    struct Window {
        unsigned reg_index;
        std::string model; ///< the window's model class, for the table
        std::unique_ptr<Device> device;
        uint32_t base = 0; ///< set by the builder
    };
    std::vector<Window> windows;
};

struct DeviceEntry {
    std::string compatible;
    /// The model's class name, shown by `piemu boards --show`.
    std::string model;
    std::function<ErrorOr<DeviceInstance>(const DeviceContext&)> create;
    /// For controllers: how to read a specifier ("bank 2 bit 25"); null shows cells.
    std::function<std::string(std::span<const uint32_t>)> describe_specifier;

    /// An entry whose factory only constructs the device (outputs, controller and
    /// everything else come from the Device itself).
    static DeviceEntry simple(std::string compatible, std::string model,
                              std::function<std::unique_ptr<Device>(const DeviceContext&)> make);
};

struct PercpuEntry {
    std::string compatible;
    /// What provides the lines, shown by `piemu boards --show`.
    std::string model;
    /// The most `interrupts` specifiers a node may list.
    unsigned max_specifiers;
    /// Core `core`'s line for the node's specifier `index`, or null if not provided.
    std::function<IrqLine*(const CoreLines&, unsigned core, unsigned index)> line;
};

struct PartEntry {
    std::string compatible;
    /// The compatible whose DeviceEntry makes the model this node is part of.
    std::string owner;
    /// What the node is, shown by `piemu boards --show`.
    std::string model;
    /// The owner model's lines for the node's `interrupts`, in their order; an owner of
    /// another class gives none (and the builder reports the count mismatch).
    std::function<std::vector<IrqLine*>(Device& owner)> outputs;
};

class DeviceRegistry {
public:
    /// Adds an entry; one for a compatible already present replaces it.
    void add(DeviceEntry entry);
    void add_percpu(PercpuEntry entry);
    void add_part(PartEntry entry);
    const DeviceEntry* find(std::string_view compatible) const;
    const PercpuEntry* find_percpu(std::string_view compatible) const;
    const PartEntry* find_part(std::string_view compatible) const;
    /// Every compatible with an entry of either kind, sorted.
    std::vector<std::string> compatibles() const;

    /// piemu's device models, per-CPU sources and parts. Built once; copy it to extend it.
    static const DeviceRegistry& builtin();

private:
    std::vector<DeviceEntry> entries_;
    std::vector<PercpuEntry> percpu_;
    std::vector<PartEntry> parts_;
};

} // namespace piemu
