// The board builder: scans the DTB, instantiates the modelled nodes, wires their
// interrupts and records the table rows (see board_builder.hpp for what it reads).
// Elsewhere: `reg`/`ranges` translation (dt_address.cpp), the table's formatting
// (board_table.cpp).
#include "board/board_builder.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libfdt.h>

#include "board/dt_address.hpp"
#include "board/fdt_view.hpp"

namespace piemu {

namespace {

// ---------------------------------------------------------------------------------------
// The build

std::string format_cells(std::span<const uint32_t> cells) {
    std::string s = "<";
    for (size_t i = 0; i < cells.size(); ++i)
        s += fmt::format("{}{}", i ? " " : "", cells[i]);
    return s + ">";
}

bool is_bus_compatible(const std::vector<std::string>& compatible) {
    for (auto& c : compatible)
        if (c == "simple-bus" || c == "simple-mfd" || c == "arm,amba-bus" || c == "isa")
            return true;
    return false;
}

/// What the builder knows about one node while it builds.
struct NodeInfo {
    int offset = -1;
    std::string path;
    std::string name;
    std::vector<std::string> compatible;
    bool on_bus = false; ///< would be a platform device under Linux
    bool is_bus = false;
    int row = -1; ///< index into BuiltBoard::nodes
    const DeviceEntry* entry = nullptr;
    const PercpuEntry* percpu = nullptr;
    const PartEntry* part = nullptr;
    int device = -1; ///< index into BuiltBoard::devices
    /// A part: the index of its owner in BuiltBoard::devices, and the owner's lines for
    /// the node's interrupts.
    int owner = -1;
    std::vector<IrqLine*> part_outputs;
};

/// A line to connect once the whole board is known to build.
struct Connection {
    IrqLine* line;
    IrqSink* sink;
    unsigned input;
};

/// One interrupt specifier of a node: the controller node and the cells.
struct Specifier {
    int controller;
    std::vector<uint32_t> cells;
};

class Builder {
public:
    Builder(const Fdt& f, VirtualClock& clock, unsigned cores, const CoreLines& lines,
            const DeviceRegistry& registry)
        : f_(f), clock_(clock), cores_(cores), lines_(lines), registry_(registry) {}

    ErrorOr<BuiltBoard> build(Bus& bus);

private:
    void read_labels();
    void read_root();
    ErrorOr<void> scan_nodes();
    ErrorOr<void> make_row(NodeInfo& info, unsigned& cpu_index);
    ErrorOr<void> instantiate(Bus& bus);
    ErrorOr<void> attach_parts();
    ErrorOr<void> wire_node(NodeInfo& info);
    ErrorOr<std::vector<Specifier>> specifiers(const NodeInfo& info);
    ErrorOr<int> interrupt_parent(int node, const std::string& path);
    ErrorOr<void> check_controller(int controller, const std::string& who);
    ErrorOr<void> wire_roots();
    ErrorOr<void> add_to_bus(Bus& bus);

    NodeInfo* info_at(int offset) {
        auto it = by_offset_.find(offset);
        return it == by_offset_.end() ? nullptr : &nodes_[it->second];
    }
    /// The controller model of the node at `offset`, or null if not modelled.
    InterruptController* controller_at(int offset, const DeviceEntry** entry = nullptr) {
        NodeInfo* ci = info_at(offset);
        if (!ci || ci->device < 0)
            return nullptr;
        if (entry)
            *entry = ci->entry;
        return board_.devices[size_t(ci->device)].instance.controller;
    }
    std::string display_name(int offset) const {
        auto it = labels_.find(f_.path(offset));
        if (it != labels_.end())
            return it->second;
        const char* name = fdt_get_name(f_.blob, offset, nullptr);
        return name ? name : "?";
    }
    BoardNode& row(const NodeInfo& info) { return board_.nodes[size_t(info.row)]; }

    const Fdt& f_;
    VirtualClock& clock_;
    unsigned cores_;
    const CoreLines& lines_;
    const DeviceRegistry& registry_;
    BuiltBoard board_;
    std::vector<NodeInfo> nodes_;
    std::map<int, size_t> by_offset_;
    std::map<std::string, std::string> labels_; // path -> label
    std::vector<Connection> connections_;
};

void Builder::read_labels() {
    int symbols = fdt_path_offset(f_.blob, "/__symbols__");
    if (symbols < 0)
        return;
    int prop;
    fdt_for_each_property_offset(prop, f_.blob, symbols) {
        const char* name = nullptr;
        int len = 0;
        auto* value = static_cast<const char*>(fdt_getprop_by_offset(f_.blob, prop, &name, &len));
        if (value && name && len > 0)
            labels_.emplace(std::string(value, strnlen(value, size_t(len))), name);
    }
}

void Builder::read_root() {
    board_.model = f_.string(0, "model");
    board_.compatible = f_.strings(0, "compatible");
    int aliases = fdt_path_offset(f_.blob, "/aliases");
    int prop;
    if (aliases >= 0)
        fdt_for_each_property_offset(prop, f_.blob, aliases) {
            const char* name = nullptr;
            int len = 0;
            auto* v = static_cast<const char*>(fdt_getprop_by_offset(f_.blob, prop, &name, &len));
            if (v && name && len > 0)
                board_.aliases.emplace(name, std::string(v, strnlen(v, size_t(len))));
        }
    int chosen = fdt_path_offset(f_.blob, "/chosen");
    if (chosen >= 0)
        board_.stdout_path = f_.string(chosen, "stdout-path");
}

ErrorOr<void> Builder::scan_nodes() {
    unsigned cpu_index = 0;
    int depth = 0;
    for (int node = fdt_next_node(f_.blob, 0, &depth); node >= 0 && depth > 0;
         node = fdt_next_node(f_.blob, node, &depth)) {
        NodeInfo info;
        info.offset = node;
        info.path = f_.path(node);
        const char* name = fdt_get_name(f_.blob, node, nullptr);
        info.name = name ? name : "";
        info.compatible = f_.strings(node, "compatible");
        int parent = f_.parent(node);
        NodeInfo* pinfo = info_at(parent);
        info.on_bus = parent == 0 || (pinfo && pinfo->on_bus && pinfo->is_bus);
        info.is_bus = is_bus_compatible(info.compatible);
        for (auto& c : info.compatible) {
            if ((info.entry = registry_.find(c)) || (info.percpu = registry_.find_percpu(c)) ||
                (info.part = registry_.find_part(c)))
                break;
        }
        TRY(make_row(info, cpu_index));
        by_offset_[node] = nodes_.size();
        nodes_.push_back(std::move(info));
    }
    return {};
}

/// Adds the table row of a node worth listing: one with a `compatible`, memory, CPUs.
ErrorOr<void> Builder::make_row(NodeInfo& info, unsigned& cpu_index) {
    std::string device_type = f_.string(info.offset, "device_type");
    bool is_memory = device_type == "memory";
    bool is_cpu = device_type == "cpu";
    if (info.compatible.empty() && !is_memory)
        return {};
    BoardNode row;
    row.path = info.path;
    if (auto it = labels_.find(info.path); it != labels_.end())
        row.label = it->second;
    row.compatible = info.entry                ? info.entry->compatible
                     : info.percpu             ? info.percpu->compatible
                     : info.part               ? info.part->compatible
                     : info.compatible.empty() ? std::string("-")
                                               : info.compatible.front();
    row.disabled = f_.string(info.offset, "status") == "disabled";
    if (info.on_bus && f_.has(info.offset, "reg"))
        row.address = TRY(translate_reg(f_, info.offset, info.path));

    if (is_cpu) {
        unsigned core = cpu_index++;
        row.model = core < cores_ ? fmt::format("ArmCore {}", core)
                                  : fmt::format("ArmCore {} (not instantiated)", core);
        if (auto reg = f_.u32(info.offset, "reg"))
            row.wiring.push_back(fmt::format("reg 0x{:x} (MPIDR affinity)", *reg));
    } else if (is_memory) {
        row.model = "RAM";
    } else if (info.entry) {
        row.model = info.on_bus ? info.entry->model : "not modelled (not on a bus)";
    } else if (info.percpu) {
        row.model = info.percpu->model;
    } else if (info.part) {
        row.model = info.on_bus ? info.part->model : "not modelled (not on a bus)";
    } else if (info.is_bus) {
        row.model = "bus";
        row.wiring = TRY(describe_ranges(f_, info.offset));
    } else if (std::find(info.compatible.begin(), info.compatible.end(), "fixed-clock") !=
               info.compatible.end()) {
        row.model = "fixed clock (data)";
        if (auto hz = f_.u32(info.offset, "clock-frequency"))
            row.wiring.push_back(fmt::format("{} Hz", *hz));
    } else {
        row.model = "not modelled";
    }
    info.row = int(board_.nodes.size());
    board_.nodes.push_back(std::move(row));
    return {};
}

ErrorOr<void> Builder::instantiate(Bus& bus) {
    for (auto& info : nodes_) {
        if (!info.entry || !info.on_bus)
            continue;
        const BoardNode& r = row(info);
        if (!r.address)
            return Error{fmt::format("{}: {} needs a reg property", info.path, info.entry->model)};
        DeviceContext ctx{info.name,
                          info.path,
                          uint32_t(r.address->base),
                          uint32_t(r.address->size),
                          clock_,
                          cores_,
                          f_.blob,
                          info.offset,
                          &bus};
        for (const AddressRange& w : TRY(translate_regs(f_, info.offset, info.path)))
            ctx.regs.push_back({uint32_t(w.base), uint32_t(w.size)});
        DeviceInstance inst = TRY(info.entry->create(ctx));
        if (!inst.device)
            return Error{
                fmt::format("{}: the {} factory made no device", info.path, info.entry->model)};
        for (auto& w : inst.windows) {
            if (!w.device || w.reg_index == 0 || w.reg_index >= ctx.regs.size())
                return Error{fmt::format("{}: {} needs reg entry {} for its {}", info.path,
                                         info.entry->model, w.reg_index, w.model)};
            const RegWindow& reg = ctx.regs[w.reg_index];
            w.base = reg.base;
            row(info).wiring.push_back(fmt::format("reg {} {}: {}", w.reg_index,
                                                   format_range({reg.base, reg.size}), w.model));
        }
        if (inst.outputs.empty())
            inst.outputs = inst.device->irq_outputs();
        if (!inst.controller)
            inst.controller = dynamic_cast<InterruptController*>(inst.device.get());
        info.device = int(board_.devices.size());
        BuiltDevice& d = board_.devices.emplace_back();
        d.path = info.path;
        d.compatible = info.entry->compatible;
        d.node_compatible = info.compatible;
        d.model = info.entry->model;
        d.base = uint32_t(r.address->base);
        d.size = uint32_t(r.address->size);
        d.instance = std::move(inst);
        d.disabled = f_.string(info.offset, "status") == "disabled";
    }
    return {};
}

/// Each part node joins the owner model whose bus window covers its `reg`.
ErrorOr<void> Builder::attach_parts() {
    for (auto& info : nodes_) {
        if (!info.part || !info.on_bus)
            continue;
        const BoardNode& r = row(info);
        if (!r.address)
            return Error{fmt::format("{}: {} needs a reg property", info.path, info.part->model)};
        uint64_t base = r.address->base, end = base + r.address->size;
        for (size_t i = 0; i < board_.devices.size(); ++i) {
            BuiltDevice& d = board_.devices[i];
            uint64_t wend = uint64_t(d.base) + d.instance.device->mmio_size();
            if (d.compatible != info.part->owner || base < d.base || end > wend)
                continue;
            info.owner = int(i);
            info.part_outputs = info.part->outputs(*d.instance.device);
            d.parts.push_back({info.path,
                               info.compatible,
                               uint32_t(r.address->base),
                               uint32_t(r.address->size),
                               {},
                               f_.string(info.offset, "status") == "disabled"});
            std::string owner = d.path;
            for (auto& o : nodes_)
                if (o.device == int(i))
                    owner = display_name(o.offset);
            row(info).wiring.push_back(
                fmt::format("registers in {}'s {} (window 0x{:08x}-0x{:08x})", owner, d.model,
                            d.base, wend - 1));
            break;
        }
        if (info.owner < 0)
            return Error{fmt::format("{}: {} lies inside a {} block, but no {} model's window "
                                     "covers 0x{:08x}-0x{:08x}",
                                     info.path, info.part->model, info.part->owner,
                                     info.part->owner, base, end - 1)};
    }
    return {};
}

/// Linux's of_irq_find_parent(): the node's interrupt-parent, else its tree parent,
/// repeated until a node with #interrupt-cells.
ErrorOr<int> Builder::interrupt_parent(int node, const std::string& path) {
    int cur = node;
    for (int hops = 0; hops < 64; ++hops) {
        if (auto phandle = f_.u32(cur, "interrupt-parent")) {
            int target = fdt_node_offset_by_phandle(f_.blob, *phandle);
            if (target < 0)
                return Error{fmt::format(
                    "{}: interrupt-parent 0x{:x} is no interrupt controller (no node has "
                    "that phandle)",
                    path, *phandle)};
            if (!f_.has(target, "#interrupt-cells"))
                return Error{fmt::format("{}: interrupt-parent 0x{:x} ({}) is no interrupt "
                                         "controller",
                                         path, *phandle, f_.path(target))};
            if (target == cur && cur == node)
                return Error{
                    fmt::format("{}: is its own interrupt parent but has interrupts", path)};
            cur = target;
        } else {
            cur = f_.parent(cur);
            if (cur < 0)
                return Error{fmt::format("{}: has interrupts but no interrupt parent", path)};
        }
        if (f_.has(cur, "#interrupt-cells"))
            return cur;
    }
    return Error{fmt::format("{}: interrupt-parent chain does not end", path)};
}

ErrorOr<void> Builder::check_controller(int controller, const std::string& who) {
    if (f_.has(controller, "interrupt-map"))
        return Error{fmt::format("{}: interrupt parent {} is an interrupt nexus (interrupt-map), "
                                 "which piemu does not support",
                                 who, f_.path(controller))};
    if (!f_.has(controller, "interrupt-controller"))
        return Error{fmt::format("{}: interrupt parent {} has no interrupt-controller property",
                                 who, f_.path(controller))};
    return {};
}

/// The node's specifiers, from `interrupts-extended` or from `interrupts`.
ErrorOr<std::vector<Specifier>> Builder::specifiers(const NodeInfo& info) {
    std::vector<Specifier> out;
    size_t n = 0;
    int len = 0;
    if (const fdt32_t* p = f_.cells(info.offset, "interrupts-extended", n, len)) {
        for (size_t i = 0; i < n;) {
            uint32_t phandle = fdt32_to_cpu(p[i]);
            int ctl = fdt_node_offset_by_phandle(f_.blob, phandle);
            if (ctl < 0)
                return Error{fmt::format("{}: interrupts-extended entry {}: phandle 0x{:x} is "
                                         "no interrupt controller (no node has that phandle)",
                                         info.path, out.size(), phandle)};
            TRY(check_controller(ctl, info.path));
            uint32_t cells = f_.u32(ctl, "#interrupt-cells").value_or(0);
            if (cells == 0 || i + 1 + cells > n)
                return Error{fmt::format("{}: interrupts-extended entry {} is cut short ({} "
                                         "has #interrupt-cells {})",
                                         info.path, out.size(), f_.path(ctl), cells)};
            Specifier s{ctl, {}};
            for (uint32_t k = 0; k < cells; ++k)
                s.cells.push_back(fdt32_to_cpu(p[i + 1 + k]));
            out.push_back(std::move(s));
            i += 1 + cells;
        }
        return out;
    }
    const fdt32_t* p = f_.cells(info.offset, "interrupts", n, len);
    if (!p)
        return out;
    int ctl = TRY(interrupt_parent(info.offset, info.path));
    TRY(check_controller(ctl, info.path));
    uint32_t cells = f_.u32(ctl, "#interrupt-cells").value_or(0);
    if (cells == 0 || len % 4 || n % cells)
        return Error{fmt::format("{}: interrupts has {} cells, not a multiple of "
                                 "#interrupt-cells {} of {}",
                                 info.path, n, cells, f_.path(ctl))};
    for (size_t i = 0; i < n; i += cells) {
        Specifier s{ctl, {}};
        for (uint32_t k = 0; k < cells; ++k)
            s.cells.push_back(fdt32_to_cpu(p[i + k]));
        out.push_back(std::move(s));
    }
    return out;
}

ErrorOr<void> Builder::wire_node(NodeInfo& info) {
    std::vector<Specifier> specs = TRY(specifiers(info));
    if (specs.empty())
        return {};
    DeviceInstance* source =
        info.device >= 0 ? &board_.devices[size_t(info.device)].instance : nullptr;
    // The lines behind the specifiers: the node's own model's, or for a part its owner's.
    bool driven = source || info.owner >= 0;
    const std::vector<IrqLine*>& outputs = source ? source->outputs : info.part_outputs;
    const std::string model = info.entry  ? info.entry->model
                              : info.part ? info.part->model
                                          : std::string();
    if (driven && outputs.size() != specs.size())
        return Error{fmt::format("{}: interrupts lists {} specifiers but {} has {} outputs",
                                 info.path, specs.size(), model, outputs.size())};
    if (info.percpu && specs.size() > info.percpu->max_specifiers)
        return Error{fmt::format("{}: interrupts lists {} specifiers; {} takes at most {}",
                                 info.path, specs.size(), info.percpu->compatible,
                                 info.percpu->max_specifiers)};
    BoardNode& r = row(info);
    for (size_t i = 0; i < specs.size(); ++i) {
        const Specifier& s = specs[i];
        std::vector<DtInterrupt>* record = nullptr;
        if (info.device >= 0)
            record = &board_.devices[size_t(info.device)].interrupts;
        else if (info.owner >= 0)
            for (BuiltPart& p : board_.devices[size_t(info.owner)].parts)
                if (p.path == info.path)
                    record = &p.interrupts;
        if (record) {
            auto ctl_compatible = f_.strings(s.controller, "compatible");
            record->push_back(
                {ctl_compatible.empty() ? std::string() : ctl_compatible.front(), s.cells});
        }
        std::string spec = format_cells(s.cells);
        std::string ctl_name = display_name(s.controller);
        const DeviceEntry* ctl_entry = nullptr;
        InterruptController* ctl = controller_at(s.controller, &ctl_entry);
        if (!ctl) {
            r.wiring.push_back(
                fmt::format("{} -> {} (not modelled): not connected", spec, ctl_name));
            continue;
        }
        if (ctl->interrupt_cells() != s.cells.size())
            return Error{fmt::format("{}: #interrupt-cells is {} but {} reads {}",
                                     f_.path(s.controller), s.cells.size(), ctl_entry->model,
                                     ctl->interrupt_cells())};
        // "intc bank 2 bit 25" with the controller's reading of the cells, else "intc".
        std::string target = ctl_entry->describe_specifier
                                 ? ctl_name + " " + ctl_entry->describe_specifier(s.cells)
                                 : ctl_name;
        bool percpu = ctl->is_percpu(s.cells);
        if (percpu && driven)
            return Error{fmt::format("{}: interrupts entry {} {} names a per-CPU input of {}; "
                                     "only a per-CPU source (timer, PMU) can drive one",
                                     info.path, i, spec, ctl_name)};
        if (!percpu && info.percpu)
            return Error{fmt::format("{}: interrupts entry {} {} names a shared input of {}, "
                                     "but {} has one line per CPU",
                                     info.path, i, spec, ctl_name, info.percpu->compatible)};
        if (!percpu) {
            auto input = ctl->xlate(s.cells, 0);
            if (input.is_error())
                return Error{fmt::format("{}: interrupts entry {} {}: {}", info.path, i, spec,
                                         input.error().message)};
            r.wiring.push_back(fmt::format("{} -> {} ({} input {}{})", spec, target,
                                           ctl_entry->model, input.value(),
                                           driven ? "" : "; source not modelled"));
            if (driven)
                connections_.push_back({outputs[i], &ctl->irq_sink(), input.value()});
            continue;
        }
        std::vector<std::string> inputs, missing;
        for (unsigned c = 0; c < cores_; ++c) {
            auto input = ctl->xlate(s.cells, c);
            if (input.is_error())
                return Error{fmt::format("{}: interrupts entry {} {} for CPU {}: {}", info.path, i,
                                         spec, c, input.error().message)};
            inputs.push_back(fmt::format("{}", input.value()));
            IrqLine* line = info.percpu ? info.percpu->line(lines_, c, unsigned(i)) : nullptr;
            if (line)
                connections_.push_back({line, &ctl->irq_sink(), input.value()});
            else
                missing.push_back(fmt::format("{}", c));
        }
        std::string note;
        if (!info.percpu)
            note = "; source not modelled";
        else if (!missing.empty())
            note = fmt::format("; no line from core {}: not connected", fmt::join(missing, ", "));
        r.wiring.push_back(fmt::format("{} -> {}, per CPU ({} input{} {}{})", spec, target,
                                       ctl_entry->model, inputs.size() == 1 ? "" : "s",
                                       fmt::join(inputs, ", "), note));
    }
    // A FIQ output the DT leaves out goes to the parent controller's FIQ input.
    if (source && source->fiq_output) {
        const DeviceEntry* ctl_entry = nullptr;
        controller_at(specs.front().controller, &ctl_entry);
        NodeInfo* ci = info_at(specs.front().controller);
        DeviceInstance* parent =
            ci && ci->device >= 0 ? &board_.devices[size_t(ci->device)].instance : nullptr;
        std::string ctl_name = display_name(specs.front().controller);
        if (parent && parent->child_fiq_input && parent->controller) {
            connections_.push_back(
                {source->fiq_output, &parent->controller->irq_sink(), *parent->child_fiq_input});
            r.wiring.push_back(fmt::format("FIQ -> {} FIQ input ({} input {})", ctl_name,
                                           ctl_entry->model, *parent->child_fiq_input));
        } else {
            r.wiring.push_back(
                fmt::format("FIQ -> {}: not connected (no FIQ input modelled)", ctl_name));
        }
    }
    return {};
}

/// The root controller's outputs go to the cores' IRQ and FIQ pins.
ErrorOr<void> Builder::wire_roots() {
    const NodeInfo* root = nullptr;
    for (auto& info : nodes_) {
        if (info.device < 0)
            continue;
        DeviceInstance& inst = board_.devices[size_t(info.device)].instance;
        if (inst.cpu_outputs.empty())
            continue;
        if (root)
            return Error{fmt::format("{}: a second root interrupt controller (the first is {})",
                                     info.path, root->path)};
        root = &info;
        BoardNode& r = row(info);
        for (unsigned c = 0; c < inst.cpu_outputs.size(); ++c) {
            IrqSink* pins = c < lines_.cpu_inputs.size() ? lines_.cpu_inputs[c] : nullptr;
            if (!pins) {
                r.wiring.push_back(fmt::format("core {} IRQ, FIQ: not connected (no core)", c));
                continue;
            }
            connections_.push_back({inst.cpu_outputs[c][0], pins, 0});
            connections_.push_back({inst.cpu_outputs[c][1], pins, 1});
            r.wiring.push_back(fmt::format("core {} IRQ, FIQ -> ArmCore {} IRQ, FIQ pins", c, c));
        }
    }
    return {};
}

/// Checks every window first, so that either all devices are added or none.
ErrorOr<void> Builder::add_to_bus(Bus& bus) {
    // Each device's window, then its further reg windows (DeviceInstance::windows).
    struct Span {
        const std::string* path;
        uint32_t base;
        Device* device;
    };
    std::vector<Span> spans;
    for (auto& d : board_.devices) {
        spans.push_back({&d.path, d.base, d.instance.device.get()});
        for (auto& w : d.instance.windows)
            spans.push_back({&d.path, w.base, w.device.get()});
    }
    for (size_t i = 0; i < spans.size(); ++i) {
        const Span& d = spans[i];
        const std::string& path = *d.path;
        uint64_t end = uint64_t(d.base) + d.device->mmio_size();
        if (end > 0x100000000ull)
            return Error{fmt::format("{}: window at 0x{:08x} runs past 4 GiB", path, d.base)};
        if (d.base < bus.ram_size() || bus.is_memory(d.base, uint32_t(end - d.base)))
            return Error{fmt::format("{}: window at 0x{:08x} overlaps RAM", path, d.base)};
        for (auto& m : bus.devices())
            if (d.base < uint64_t(m.base) + m.size && m.base < end)
                return Error{fmt::format("{}: window at 0x{:08x} overlaps device {}", path, d.base,
                                         m.device->name())};
        for (size_t j = 0; j < i; ++j) {
            const Span& o = spans[j];
            if (d.base < uint64_t(o.base) + o.device->mmio_size() && o.base < end)
                return Error{fmt::format("{}: window 0x{:08x}-0x{:08x} overlaps {}", path, d.base,
                                         end - 1, *o.path)};
        }
    }
    for (auto& d : spans) {
        auto added = bus.add_device(d.base, *d.device);
        if (added.is_error()) // unreachable after the checks above
            return Error{fmt::format("{}: {}", *d.path, added.error().message)};
    }
    return {};
}

ErrorOr<BuiltBoard> Builder::build(Bus& bus) {
    read_labels();
    read_root();
    TRY(scan_nodes());
    TRY(instantiate(bus));
    TRY(attach_parts());
    for (auto& info : nodes_)
        if (info.on_bus && info.row >= 0)
            TRY(wire_node(info));
    TRY(wire_roots());
    TRY(add_to_bus(bus));
    for (auto& c : connections_)
        c.line->connect(c.sink, c.input);
    return std::move(board_);
}

} // namespace

// ---------------------------------------------------------------------------------------
// BuiltBoard

Device* BuiltBoard::device_at(std::string_view path) const {
    for (auto& d : devices) {
        if (d.path == path)
            return d.instance.device.get();
        for (auto& p : d.parts)
            if (p.path == path)
                return d.instance.device.get();
    }
    return nullptr;
}

Device* BuiltBoard::device_for_alias(std::string_view alias) const {
    auto it = aliases.find(std::string(alias));
    return it == aliases.end() ? nullptr : device_at(it->second);
}

Device* BuiltBoard::device_by_compatible(std::string_view compatible) const {
    for (auto& d : devices) {
        for (auto& c : d.node_compatible)
            if (c == compatible)
                return d.instance.device.get();
        for (auto& p : d.parts)
            for (auto& c : p.compatible)
                if (c == compatible)
                    return d.instance.device.get();
    }
    return nullptr;
}

Device* BuiltBoard::stdout_device() const {
    std::string_view s = stdout_path;
    s = s.substr(0, s.find(':'));
    if (s.empty())
        return nullptr;
    return s.front() == '/' ? device_at(s) : device_for_alias(s);
}

void BuiltBoard::reset() {
    for (auto& d : devices) {
        d.instance.device->reset();
        for (auto& w : d.instance.windows)
            w.device->reset();
    }
}

ErrorOr<BuiltBoard> build_board(std::span<const uint8_t> dtb, Bus& bus, VirtualClock& clock,
                                unsigned cores, const CoreLines& lines,
                                const DeviceRegistry& registry) {
    if (dtb.size() < sizeof(fdt_header))
        return Error{"device tree: too short for a DTB header"};
    if (int err = fdt_check_full_bounded(dtb.data(), dtb.size()))
        return Error{fmt::format("device tree: not a valid DTB: {}", fdt_strerror(err))};
    Fdt f{dtb.data()};
    return Builder(f, clock, cores, lines, registry).build(bus);
}

} // namespace piemu
