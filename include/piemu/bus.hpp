// The physical address space: RAM and memory-mapped devices.
//
// RAM is host memory reserved with mmap and touched on demand, so a 1 GiB guest
// does not make a 1 GiB resident process. The same host pages are mapped into every
// core's uc_engine. Devices are registered at physical addresses; accesses that no
// device claims are logged once per address (the first 256) and read as zero; with --strict-mmio an
// access to a 1 KiB page nobody claims is a synchronous external abort for the guest
// (an unclaimed offset inside a device's page still reads as zero: MMIO callbacks
// cannot fault precisely).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "piemu/device.hpp"
#include "piemu/error.hpp"
#include "piemu/report_once.hpp"

struct uc_struct;

namespace piemu {

/// Sees every access that reaches a device (guest or kernel-model code); the trace
/// layer's piemu:mmio event.
class MmioObserver {
public:
    virtual ~MmioObserver() = default;
    virtual void mmio(const Device& device, uint32_t offset, unsigned size, uint32_t value,
                      bool write) = 0;
};

class Bus {
public:
    struct Mapping {
        uint32_t base;
        uint32_t size;
        Device* device;
    };

    /// RAM of `ram_size` bytes at physical address 0.
    explicit Bus(uint32_t ram_size);
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    uint32_t ram_size() const { return ram_size_; }
    uint8_t* ram() { return ram_; }

    /// An extra RAM-like region (e.g. the kernel model's vector page). Read-only
    /// regions are mapped without write permission into the cores.
    ErrorOr<uint8_t*> add_ram_region(std::string name, uint32_t base, uint32_t size,
                                     bool read_only);
    /// Registers a device window. Overlaps are host wiring bugs and return an Error.
    ErrorOr<void> add_device(uint32_t base, Device& device);
    void set_strict_mmio(bool strict) { strict_mmio_ = strict; }
    void set_mmio_observer(MmioObserver* observer) { mmio_observer_ = observer; }
    bool strict_mmio() const { return strict_mmio_; }

    /// Maps RAM, extra regions and all device and catch windows into a core.
    ErrorOr<void> map_into(uc_struct* uc);

    /// True when `paddr` is RAM or an extra region (not MMIO).
    bool is_memory(uint32_t paddr, uint32_t len = 1) const;
    /// True when the 1 KiB page holding `paddr` is RAM, a region or part of a device
    /// window. Used with --strict-mmio, where other pages raise external aborts.
    bool page_claimed(uint32_t paddr) const;
    const Mapping* find_device(uint32_t paddr) const;
    /// The base address `device` is mapped at (0 if it is not on the bus).
    uint32_t find_device_of(const Device& device) const;
    /// [base, end) of every RAM-like region, for invalidating translated code.
    std::vector<std::pair<uint64_t, uint64_t>> memory_ranges() const;
    const std::vector<Mapping>& devices() const { return devices_; }

    /// Host access to guest physical memory (loaders, semihosting, debuggers).
    /// Fails (returns false) if any byte is not RAM.
    bool read_phys(uint32_t paddr, std::span<uint8_t> out) const;
    bool write_phys(uint32_t paddr, std::span<const uint8_t> in);
    bool read32(uint32_t paddr, uint32_t& value) const;
    /// The host memory behind [paddr, paddr + len) when it lies in one RAM or memory
    /// region, else null: for devices that copy in bulk (DMA).
    uint8_t* host_span(uint32_t paddr, uint32_t len) { return host_ptr(paddr, len); }

    /// MMIO dispatch used by the cores' callbacks (public for tests).
    uint32_t mmio_read(uint32_t paddr, unsigned size);
    void mmio_write(uint32_t paddr, uint32_t value, unsigned size);

private:
    struct Region {
        std::string name;
        uint32_t base;
        uint32_t size;
        uint8_t* host;
        bool read_only;
    };
    uint8_t* host_ptr(uint32_t paddr, uint32_t len) const;
    void note_unclaimed(uint32_t paddr, bool write, unsigned size);

    uint32_t ram_size_;
    uint8_t* ram_ = nullptr;
    std::vector<Region> regions_;
    std::vector<Mapping> devices_; // sorted by base
    ReportOnce reported_unclaimed_;
    // The callback data of every MMIO window mapped into a core (map_into): the
    // cores' engines are destroyed before the bus that made them. (A process-wide
    // list grew by one entry per window and core for every machine created.)
    std::vector<std::unique_ptr<std::pair<Bus*, uint32_t>>> mmio_windows_;
    bool strict_mmio_ = false;
    MmioObserver* mmio_observer_ = nullptr;
};

} // namespace piemu
