#include "piemu/bus.hpp"

#include <algorithm>
#include <cstring>
#include <sys/mman.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unicorn/unicorn.h>

namespace piemu {

namespace {
constexpr uint64_t kPage = 1024; // Unicorn's ARM target page (1 KiB)
constexpr uint64_t kSpace = 1ull << 32;

uint64_t page_down(uint64_t a) {
    return a & ~(kPage - 1);
}
uint64_t page_up(uint64_t a) {
    return (a + kPage - 1) & ~(kPage - 1);
}

uint8_t* reserve(uint64_t size) {
    // MAP_NORESERVE: pages become resident only when the guest touches them.
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

// A window's callback data: the bus and the window's base (Bus::mmio_windows_).
using MmioWindow = std::pair<Bus*, uint32_t>;

uint64_t mmio_read_cb(uc_engine*, uint64_t offset, unsigned size, void* ud) {
    auto* w = static_cast<MmioWindow*>(ud);
    return w->first->mmio_read(w->second + static_cast<uint32_t>(offset), size);
}

void mmio_write_cb(uc_engine*, uint64_t offset, unsigned size, uint64_t value, void* ud) {
    auto* w = static_cast<MmioWindow*>(ud);
    w->first->mmio_write(w->second + static_cast<uint32_t>(offset), static_cast<uint32_t>(value),
                         size);
}
} // namespace

Bus::Bus(uint32_t ram_size) : ram_size_(ram_size) {
    ram_ = reserve(ram_size);
    if (!ram_)
        throw std::bad_alloc();
    regions_.push_back({"ram", 0, ram_size, ram_, false});
}

Bus::~Bus() {
    for (auto& r : regions_)
        munmap(r.host, r.size);
}

ErrorOr<uint8_t*> Bus::add_ram_region(std::string name, uint32_t base, uint32_t size,
                                      bool read_only) {
    uint64_t end = uint64_t(base) + size;
    if (base % kPage || size % kPage || end > kSpace)
        return Error{fmt::format("region {} at 0x{:08x} is not 1 KiB aligned", name, base)};
    for (auto& r : regions_)
        if (base < uint64_t(r.base) + r.size && r.base < end)
            return Error{fmt::format("region {} overlaps {}", name, r.name)};
    uint8_t* host = reserve(size);
    if (!host)
        return Error{fmt::format("region {}: out of host memory", name)};
    regions_.push_back({std::move(name), base, size, host, read_only});
    return host;
}

ErrorOr<void> Bus::add_device(uint32_t base, Device& device) {
    uint64_t end = uint64_t(base) + device.mmio_size();
    for (auto& m : devices_)
        if (base < uint64_t(m.base) + m.size && m.base < end)
            return Error{fmt::format("device {} at 0x{:08x} overlaps {}", device.name(), base,
                                     m.device->name())};
    for (auto& r : regions_)
        if (base < uint64_t(r.base) + r.size && r.base < end)
            return Error{
                fmt::format("device {} at 0x{:08x} overlaps {}", device.name(), base, r.name)};
    devices_.push_back({base, device.mmio_size(), &device});
    std::sort(devices_.begin(), devices_.end(),
              [](const Mapping& a, const Mapping& b) { return a.base < b.base; });
    return {};
}

ErrorOr<void> Bus::map_into(uc_engine* uc) {
    for (auto& r : regions_) {
        uint32_t perms = r.read_only ? (UC_PROT_READ | UC_PROT_EXEC) : UC_PROT_ALL;
        if (uc_err e = uc_mem_map_ptr(uc, r.base, r.size, perms, r.host))
            return Error{fmt::format("mapping {}: {}", r.name, uc_strerror(e))};
    }
    // Pages that are MMIO: every device window, plus (unless strict) everything that
    // is neither memory nor a device, so stray accesses are caught and logged.
    std::vector<std::pair<uint64_t, uint64_t>> used; // [start, end) memory, page aligned
    for (auto& r : regions_)
        used.emplace_back(r.base, uint64_t(r.base) + r.size);
    std::vector<std::pair<uint64_t, uint64_t>> mmio;
    for (auto& m : devices_)
        mmio.emplace_back(page_down(m.base), page_up(uint64_t(m.base) + m.size));
    if (!strict_mmio_) {
        auto all = used;
        all.insert(all.end(), mmio.begin(), mmio.end());
        std::sort(all.begin(), all.end());
        uint64_t cursor = 0;
        for (auto& [s, e] : all) {
            if (s > cursor)
                mmio.emplace_back(cursor, s);
            cursor = std::max(cursor, e);
        }
        if (cursor < kSpace)
            mmio.emplace_back(cursor, kSpace);
    }
    std::sort(mmio.begin(), mmio.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (auto& iv : mmio) {
        if (!merged.empty() && iv.first <= merged.back().second)
            merged.back().second = std::max(merged.back().second, iv.second);
        else
            merged.push_back(iv);
    }
    for (auto& [s, e] : merged) {
        // Never overlap memory (a device page may share a page with nothing else).
        mmio_windows_.push_back(std::make_unique<MmioWindow>(this, uint32_t(s)));
        MmioWindow* w = mmio_windows_.back().get();
        if (uc_err err = uc_mmio_map(uc, s, e - s, mmio_read_cb, w, mmio_write_cb, w))
            return Error{
                fmt::format("mapping MMIO 0x{:08x}-0x{:08x}: {}", s, e - 1, uc_strerror(err))};
    }
    return {};
}

std::vector<std::pair<uint64_t, uint64_t>> Bus::memory_ranges() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (auto& r : regions_)
        out.emplace_back(r.base, uint64_t(r.base) + r.size);
    return out;
}

bool Bus::is_memory(uint32_t paddr, uint32_t len) const {
    return host_ptr(paddr, len) != nullptr;
}

bool Bus::page_claimed(uint32_t paddr) const {
    uint64_t p = page_down(paddr);
    if (is_memory(uint32_t(p)))
        return true;
    for (auto& m : devices_)
        if (p < uint64_t(m.base) + m.size && page_down(m.base) <= p)
            return true;
    return false;
}

const Bus::Mapping* Bus::find_device(uint32_t paddr) const {
    auto it = std::upper_bound(devices_.begin(), devices_.end(), paddr,
                               [](uint32_t a, const Mapping& m) { return a < m.base; });
    if (it == devices_.begin())
        return nullptr;
    --it;
    return paddr - it->base < it->size ? &*it : nullptr;
}

uint32_t Bus::find_device_of(const Device& device) const {
    for (auto& m : devices_)
        if (m.device == &device)
            return m.base;
    return 0;
}

uint8_t* Bus::host_ptr(uint32_t paddr, uint32_t len) const {
    for (auto& r : regions_)
        if (paddr >= r.base && uint64_t(paddr) + len <= uint64_t(r.base) + r.size)
            return r.host + (paddr - r.base);
    return nullptr;
}

bool Bus::read_phys(uint32_t paddr, std::span<uint8_t> out) const {
    uint8_t* p = host_ptr(paddr, uint32_t(out.size()));
    if (!p)
        return false;
    std::memcpy(out.data(), p, out.size());
    return true;
}

bool Bus::write_phys(uint32_t paddr, std::span<const uint8_t> in) {
    uint8_t* p = host_ptr(paddr, uint32_t(in.size()));
    if (!p)
        return false;
    std::memcpy(p, in.data(), in.size());
    return true;
}

bool Bus::read32(uint32_t paddr, uint32_t& value) const {
    uint8_t b[4];
    if (!read_phys(paddr, b))
        return false;
    std::memcpy(&value, b, 4);
    return true;
}

uint32_t Bus::mmio_read(uint32_t paddr, unsigned size) {
    if (const Mapping* m = find_device(paddr)) {
        uint32_t value = m->device->read(paddr - m->base, size);
        if (mmio_observer_)
            mmio_observer_->mmio(*m->device, paddr - m->base, size, value, false);
        return value;
    }
    note_unclaimed(paddr, false, size);
    return 0;
}

void Bus::mmio_write(uint32_t paddr, uint32_t value, unsigned size) {
    if (const Mapping* m = find_device(paddr)) {
        if (mmio_observer_)
            mmio_observer_->mmio(*m->device, paddr - m->base, size, value, true);
        return m->device->write(paddr - m->base, value, size);
    }
    note_unclaimed(paddr, true, size);
}

void Bus::note_unclaimed(uint32_t paddr, bool write, unsigned size) {
    switch (reported_unclaimed_.note(paddr)) {
    case ReportOnce::Verdict::First:
        spdlog::warn("guest error: {}-byte {} at 0x{:08x}: no device there ({})", size,
                     write ? "write" : "read", paddr, write ? "ignored" : "reads as 0");
        break;
    case ReportOnce::Verdict::Last:
        spdlog::warn("guest error: {} different addresses without a device reported; no more "
                     "are",
                     ReportOnce::kLimit);
        break;
    case ReportOnce::Verdict::Repeat:
        break;
    }
}

} // namespace piemu
