// The board builder: a DTB in, device models on the bus and their interrupt lines
// wired out.
//
// What it reads, as Linux's of_platform / of_address / of_irq code does:
//  - devices: nodes with a `compatible` that sit on a bus (children of the root or of
//    a "simple-bus"/"simple-mfd"/"arm,amba-bus"/"isa" node that is itself on a bus).
//    The first compatible string with a registry entry picks the model;
//  - parts: a node whose compatible has a PartEntry (the AUX mini UART) gets no model
//    of its own: it joins the owner model whose bus window covers its `reg`, and its
//    `interrupts` are wired from that model's lines;
//  - addresses: the first `reg` entry, in the parent's #address-cells/#size-cells,
//    translated through every ancestor's `ranges` up to the root (an empty `ranges`
//    is the identity; a bus without `ranges` cannot be translated: an error). The
//    factory sees every entry (DeviceContext::regs) and may serve later ones with
//    devices of their own (DeviceInstance::windows), which are mapped there too;
//  - interrupts: `interrupts` with the interrupt parent found as Linux's
//    of_irq_find_parent() does (the node's `interrupt-parent`, else its ancestors',
//    until a node with #interrupt-cells), or `interrupts-extended`. Specifier i is
//    wired from the device's output i to the controller input xlate() names. Per-CPU
//    specifiers (InterruptController::is_percpu) connect each core's copy of a per-CPU
//    source (CoreLines), core c to xlate(cells, c).
//  - the root controller (an interrupt controller without `interrupts`, e.g. the
//    BCM2836 local controller) drives the cores' pins through CoreLines::cpu_inputs.
//
// `status` does not stop the model: "disabled" tells a guest OS not to use a block, but
// the silicon is there, so the model is too. The table shows the status, and the
// kernel model binds no built-in driver to a disabled node (BuiltDevice::disabled).
//
// Errors are one line: "<node path>: <problem>". Nothing is added to the bus and no
// core line is connected unless the whole board builds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "board/device_registry.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/error.hpp"

namespace piemu {

/// A physical address window [base, base + size).
struct AddressRange {
    uint64_t base = 0;
    uint64_t size = 0;
};

/// One row of the board table: a DT node and what piemu made of it.
struct BoardNode {
    std::string path;       ///< "/soc/serial@7e201000"
    std::string label;      ///< "uart0" (from /__symbols__, if the DTB has them)
    std::string compatible; ///< the compatible that matched an entry, else the first
    std::string model;      ///< "Pl011", "not modelled", "bus", "RAM", "ArmCore 0", ...
    bool disabled = false;  ///< status = "disabled" (instantiated all the same)
    std::optional<AddressRange> address; ///< first `reg` entry, translated
    /// Interrupt wiring and notes, one line each, e.g.
    /// "<2 25> -> intc bank 2 bit 25 (Bcm2835Armctrl input 57)".
    std::vector<std::string> wiring;
};

/// A node that is part of another node's model (a PartEntry), e.g. the AUX mini UART.
/// An interrupt specifier of a node with its controller's compatible (what a kernel
/// reads to map it: platform_get_irq()).
struct DtInterrupt {
    std::string controller;
    std::vector<uint32_t> cells;
};

struct BuiltPart {
    std::string path;
    std::vector<std::string> compatible; ///< every string of the node's `compatible`
    uint32_t base = 0, size = 0;         ///< its `reg`, translated
    std::vector<DtInterrupt> interrupts; ///< in DT order
    bool disabled = false;               ///< status = "disabled": no OS driver binds
};

/// A device model the builder made, and where it sits.
struct BuiltDevice {
    std::string path;
    std::string compatible;                   ///< the compatible whose entry made it
    std::vector<std::string> node_compatible; ///< every string of the node's `compatible`
    std::string model;
    uint32_t base = 0;
    uint32_t size = 0; ///< of the DT `reg` entry (the bus window is device->mmio_size())
    DeviceInstance instance;
    std::vector<DtInterrupt> interrupts; ///< the node's, in DT order
    /// Nodes whose registers lie in this model's window (PartEntry), in DT order.
    std::vector<BuiltPart> parts;
    /// status = "disabled": the model is there (the silicon is), but an OS does not
    /// bind a driver to it (of_device_is_available()), nor does the kernel model.
    bool disabled = false;
};

/// The devices of a board and the table describing it. Owns the devices: keep it alive
/// as long as the Bus they were added to is used.
class BuiltBoard {
public:
    BuiltBoard() = default;
    BuiltBoard(BuiltBoard&&) = default;
    BuiltBoard& operator=(BuiltBoard&&) = default;

    std::string model;                          ///< the root's `model`
    std::vector<std::string> compatible;        ///< the root's `compatible`
    std::vector<BoardNode> nodes;               ///< in DT order
    std::vector<BuiltDevice> devices;           ///< in DT order
    std::map<std::string, std::string> aliases; ///< /aliases: "serial0" -> path
    std::string stdout_path;                    ///< /chosen stdout-path, e.g. "serial0:115200n8"

    /// The device made for the node at `path` (or owning it, for a part node), or null.
    Device* device_at(std::string_view path) const;
    /// The device made for the node an /aliases entry names ("serial0"), or null.
    Device* device_for_alias(std::string_view alias) const;
    /// The first device (in DT order) whose node lists `compatible` anywhere in its
    /// `compatible` property (as Linux's of_find_compatible_node), or null.
    Device* device_by_compatible(std::string_view compatible) const;
    /// device_at() cast to a model class, or null.
    template <typename T>
    T* find(std::string_view path) const {
        return dynamic_cast<T*>(device_at(path));
    }
    /// The first device (in DT order) that is a T, or null: e.g. the watchdog, for
    /// find_model<Bcm2835PmWdt>()->set_reset_handler(...).
    template <typename T>
    T* find_model() const {
        for (auto& d : devices) {
            if (auto* t = dynamic_cast<T*>(d.instance.device.get()))
                return t;
            for (auto& w : d.instance.windows)
                if (auto* t = dynamic_cast<T*>(w.device.get()))
                    return t;
        }
        return nullptr;
    }
    /// The device the /chosen stdout-path names (alias or path, options stripped).
    Device* stdout_device() const;
    /// Resets every device, in DT order.
    void reset();
};

/// Builds the board a DTB describes: instantiates each modelled node, adds it to `bus`
/// and wires its interrupts. `cores` cores are wired through `lines`. Host-side setup:
/// called once per machine, before the cores run.
ErrorOr<BuiltBoard> build_board(std::span<const uint8_t> dtb, Bus& bus, VirtualClock& clock,
                                unsigned cores, const CoreLines& lines,
                                const DeviceRegistry& registry = DeviceRegistry::builtin());

/// The table `piemu boards --show NAME` prints: a heading, then one row per node with
/// its path (and label), compatible, model or "not modelled", address range and
/// interrupt wiring (continuation lines for more than one wire).
std::string describe_board(const BuiltBoard& board);

} // namespace piemu
