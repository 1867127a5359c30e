// Device-tree address translation: `reg` and `ranges`. See dt_address.hpp.
#include "board/dt_address.hpp"

#include <fmt/format.h>

namespace piemu {

namespace {

/// A value of `n` cells (big-endian, most significant first); nullopt beyond 64 bits.
std::optional<uint64_t> read_cells(const fdt32_t* p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
        if (i + 2 < n && fdt32_to_cpu(p[i]) != 0)
            return std::nullopt;
        v = (v << 32) | fdt32_to_cpu(p[i]);
    }
    return v;
}

ErrorOr<unsigned> address_cells(const Fdt& f, int node) {
    int n = fdt_address_cells(f.blob, node);
    if (n < 0)
        return Error{fmt::format("{}: bad #address-cells", f.path(node))};
    return unsigned(n);
}

ErrorOr<unsigned> size_cells(const Fdt& f, int node) {
    int n = fdt_size_cells(f.blob, node);
    if (n < 0)
        return Error{fmt::format("{}: bad #size-cells", f.path(node))};
    return unsigned(n);
}

/// `addr` (of `size` bytes) in the address space of `bus`'s children, translated
/// through `bus`'s ranges into its parent's address space. `who` names the node for
/// errors.
ErrorOr<uint64_t> translate_through(const Fdt& f, int bus, uint64_t addr, uint64_t size,
                                    const std::string& who) {
    size_t n = 0;
    int len = 0;
    const fdt32_t* r = f.cells(bus, "ranges", n, len);
    if (!r)
        return Error{fmt::format("{}: not translatable: {} has no ranges", who, f.path(bus))};
    if (len == 0)
        return addr; // empty ranges: identity
    unsigned cac = TRY(address_cells(f, bus));
    unsigned pac = TRY(address_cells(f, f.parent(bus)));
    unsigned csc = TRY(size_cells(f, bus));
    size_t entry = cac + pac + csc;
    if (len % 4 || n % entry)
        return Error{fmt::format("{}: ranges is not a list of <child-address parent-address "
                                 "size> ({}+{}+{} cells)",
                                 f.path(bus), cac, pac, csc)};
    for (size_t i = 0; i < n; i += entry) {
        auto child = read_cells(r + i, cac);
        auto parent = read_cells(r + i + cac, pac);
        auto length = read_cells(r + i + cac + pac, csc);
        if (!child || !parent || !length)
            return Error{
                fmt::format("{}: ranges entry {} does not fit 64 bits", f.path(bus), i / entry)};
        if (addr >= *child && addr - *child < *length && size <= *length - (addr - *child))
            return *parent + (addr - *child);
    }
    return Error{fmt::format("{}: reg 0x{:x} (0x{:x} bytes) lies outside the ranges of {}", who,
                             addr, size, f.path(bus))};
}

} // namespace

std::string format_range(const AddressRange& r) {
    if (r.size == 0)
        return fmt::format("0x{:08x}", r.base);
    return fmt::format("0x{:08x}-0x{:08x}", r.base, r.base + r.size - 1);
}

namespace {

/// `reg` entry `index` of the node, translated up to the root.
ErrorOr<AddressRange> translate_reg_entry(const Fdt& f, int node, const std::string& path,
                                          size_t index) {
    int parent = f.parent(node);
    unsigned ac = TRY(address_cells(f, parent));
    unsigned sc = TRY(size_cells(f, parent));
    if (sc == 0)
        return Error{fmt::format("{}: reg is no address range (#size-cells of {} is 0)", path,
                                 f.path(parent))};
    size_t n = 0;
    int len = 0;
    const fdt32_t* reg = f.cells(node, "reg", n, len);
    if (len % 4 || n < ac + sc)
        return Error{fmt::format("{}: reg is shorter than one <address size> entry ({}+{} cells)",
                                 path, ac, sc)};
    if ((index + 1) * (ac + sc) > n)
        return Error{fmt::format("{}: reg has no entry {}", path, index)};
    reg += index * (ac + sc);
    auto addr = read_cells(reg, ac);
    auto size = read_cells(reg + ac, sc);
    if (!addr || !size)
        return Error{fmt::format("{}: reg does not fit 64 bits", path)};
    uint64_t a = *addr;
    for (int bus = parent; bus > 0; bus = f.parent(bus))
        a = TRY(translate_through(f, bus, a, *size, path));
    if (a > 0xffffffffull || *size > 0x100000000ull - a)
        return Error{fmt::format("{}: reg translates to 0x{:x} (0x{:x} bytes), beyond the 32-bit "
                                 "physical address space",
                                 path, a, *size)};
    return AddressRange{a, *size};
}

} // namespace

ErrorOr<AddressRange> translate_reg(const Fdt& f, int node, const std::string& path) {
    return translate_reg_entry(f, node, path, 0);
}

ErrorOr<std::vector<AddressRange>> translate_regs(const Fdt& f, int node, const std::string& path) {
    AddressRange first = TRY(translate_reg_entry(f, node, path, 0));
    std::vector<AddressRange> out{first};
    for (size_t i = 1;; ++i) {
        auto entry = translate_reg_entry(f, node, path, i);
        if (entry.is_error())
            return out;
        out.push_back(entry.value());
    }
}

ErrorOr<std::vector<std::string>> describe_ranges(const Fdt& f, int bus) {
    size_t n = 0;
    int len = 0;
    const fdt32_t* r = f.cells(bus, "ranges", n, len);
    if (!r)
        return std::vector<std::string>{"no ranges: children not translatable"};
    if (len == 0)
        return std::vector<std::string>{"ranges: identity"};
    unsigned cac = TRY(address_cells(f, bus));
    unsigned pac = TRY(address_cells(f, f.parent(bus)));
    unsigned csc = TRY(size_cells(f, bus));
    size_t entry = cac + pac + csc;
    std::vector<std::string> out;
    for (size_t i = 0; entry && i + entry <= n; i += entry) {
        auto c = read_cells(r + i, cac), p = read_cells(r + i + cac, pac),
             s = read_cells(r + i + cac + pac, csc);
        if (c && p && s)
            out.push_back(fmt::format("ranges {} -> 0x{:08x}", format_range({*c, *s}), *p));
    }
    return out;
}

} // namespace piemu
