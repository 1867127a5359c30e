// Device models and the interrupt lines between them.
//
// Shape (after QEMU's hw/ models, STYLE.md): each device owns its registers, its
// output lines and its timers; a register write or input change ends in one
// update() that recomputes every output line from state. Device models never call
// into a CPU: they set lines; the receiving controller does the rest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "piemu/report_once.hpp"

namespace piemu {

/// Something with numbered interrupt inputs: a controller or a CPU core.
class IrqSink {
public:
    virtual ~IrqSink() = default;
    /// Called only when the level of input `input` changes.
    virtual void set_irq_input(unsigned input, bool level) = 0;
};

/// Watches interrupt lines change (the tracer's piemu:irq_line events).
class IrqLineObserver {
public:
    virtual ~IrqLineObserver() = default;
    /// `tag` is what observe() was given; called after each change of level.
    virtual void irq_line_changed(uint32_t tag, bool level) = 0;
};

/// A device's interrupt output: a level, wired to at most one sink input.
class IrqLine {
public:
    /// Reports every level change to `observer` with `tag` (nullptr: stop).
    void observe(IrqLineObserver* observer, uint32_t tag) {
        observer_ = observer;
        tag_ = tag;
    }
    void connect(IrqSink* sink, unsigned input) {
        sink_ = sink;
        input_ = input;
        if (sink_ && level_)
            sink_->set_irq_input(input_, true);
    }
    void set(bool level) {
        if (level == level_)
            return;
        level_ = level;
        if (observer_)
            observer_->irq_line_changed(tag_, level);
        if (sink_)
            sink_->set_irq_input(input_, level);
    }
    bool level() const { return level_; }
    bool connected() const { return sink_ != nullptr; }

private:
    IrqSink* sink_ = nullptr;
    unsigned input_ = 0;
    bool level_ = false;
    IrqLineObserver* observer_ = nullptr;
    uint32_t tag_ = 0;
};

/// A memory-mapped device. Accesses arrive with the offset into the device's window
/// and the access size (1, 2 or 4 bytes; wider guest accesses arrive split).
class Device {
public:
    explicit Device(std::string name) : name_(std::move(name)) {}
    virtual ~Device() = default;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    /// Instance name, e.g. "uart0" or the DT node name "serial@7e201000".
    const std::string& name() const { return name_; }
    /// Size of the MMIO window in bytes.
    virtual uint32_t mmio_size() const = 0;
    virtual uint32_t read(uint32_t offset, unsigned size) = 0;
    virtual void write(uint32_t offset, uint32_t value, unsigned size) = 0;
    /// Puts every register in its documented reset state.
    virtual void reset() = 0;

    /// The device's interrupt outputs in the order of its DT `interrupts` property
    /// (e.g. the system timer's four match lines). Empty for a device with none.
    virtual std::vector<IrqLine*> irq_outputs() { return {}; }

private:
    friend void log_guest_error(const Device&, uint32_t, std::string_view);
    friend void log_unimplemented(const Device&, uint32_t, std::string_view);
    /// True the first time (offset, kind) is reported for this device.
    bool first_report(uint32_t offset, unsigned kind) const;

    std::string name_;
    /// What log_guest_error()/log_unimplemented() reported: (offset << 1 | kind).
    mutable ReportOnce reported_;
};

/// Logs a guest programming error (bad offset, bad value) once per (device, offset,
/// kind): like QEMU's LOG_GUEST_ERROR, shown with `--log guest`.
void log_guest_error(const Device& dev, uint32_t offset, std::string_view what);
/// Logs a feature the model does not implement, once per (device, offset).
void log_unimplemented(const Device& dev, uint32_t offset, std::string_view what);

/// A byte, halfword or word read of a bank of 32-bit registers: the lane of the
/// aligned register `read_reg(offset & ~3)` returns. Misaligned, odd-sized or
/// out-of-window reads are guest errors and read 0.
template <typename ReadReg>
uint32_t read_register_lane(const Device& dev, uint32_t offset, unsigned size, uint32_t window,
                            ReadReg&& read_reg) {
    if ((size != 1 && size != 2 && size != 4) || offset % size != 0 || offset >= window) {
        log_guest_error(dev, offset, "misaligned or odd-sized read");
        return 0;
    }
    uint32_t v = read_reg(offset & ~3u) >> ((offset & 3) * 8);
    return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

/// A byte, halfword or word write to a bank of 32-bit registers: a narrow write is
/// merged into `merge_base(aligned)` (the register's value without side effects, or 0
/// for write-one-to-act registers) and written whole with `write_reg(aligned, value)`.
template <typename MergeBase, typename WriteReg>
void write_register_lane(const Device& dev, uint32_t offset, uint32_t value, unsigned size,
                         uint32_t window, MergeBase&& merge_base, WriteReg&& write_reg) {
    if ((size != 1 && size != 2 && size != 4) || offset % size != 0 || offset >= window) {
        log_guest_error(dev, offset, "misaligned or odd-sized write ignored");
        return;
    }
    uint32_t aligned = offset & ~3u;
    if (size < 4) {
        unsigned shift = (offset & 3) * 8;
        uint32_t mask = ((1u << (size * 8)) - 1) << shift;
        value = (merge_base(aligned) & ~mask) | ((value << shift) & mask);
    }
    write_reg(aligned, value);
}

} // namespace piemu
