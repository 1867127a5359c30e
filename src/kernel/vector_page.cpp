#include "kernel/vector_page.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "piemu/guest_abi.h"

namespace piemu {

uint32_t vector_page_symbol(std::string_view name) {
    for (const auto& s : vector_page_symbols())
        if (name == s.name)
            return s.addr;
    std::abort();
}

const char* vector_page_symbol_name(uint32_t addr) {
    // The function tracer asks this for the same return address on every interrupt:
    // remember the last answer (the symbol table is constant).
    thread_local uint32_t last_addr = 0;
    thread_local const char* last_name = nullptr;
    if (last_name && addr == last_addr)
        return last_name;
    const char* best = "";
    uint32_t best_addr = 0;
    for (const auto& s : vector_page_symbols())
        if (s.size && s.addr <= addr && addr - s.addr < s.size && s.addr >= best_addr) {
            best = s.name;
            best_addr = s.addr;
        }
    last_addr = addr;
    last_name = best;
    return best;
}

std::optional<SymbolHit> vector_page_symbol_at(uint32_t addr) {
    auto syms = vector_page_symbols();
    const uint32_t end = PIEMU_KM_VECTORS + PIEMU_KM_VECTORS_SIZE;
    if (addr < PIEMU_KM_VECTORS || addr >= end)
        return std::nullopt;
    // Each symbol's extent: its size, or for a label up to the next higher address.
    static const std::vector<uint32_t> extents = [&] {
        std::vector<uint32_t> v(syms.size());
        for (size_t i = 0, j = 0; i < syms.size(); ++i) {
            j = std::max(j, i + 1);
            while (j < syms.size() && syms[j].addr == syms[i].addr)
                ++j;
            v[i] =
                syms[i].size ? syms[i].size : (j < syms.size() ? syms[j].addr : end) - syms[i].addr;
        }
        return v;
    }();
    // The covering symbol with the highest address (backtraces ask for many: from the
    // last symbol at or below `addr`, down); at one address a sized symbol (a function)
    // wins over a label (__gates_start), and the first in the table over the others.
    auto above = std::upper_bound(syms.begin(), syms.end(), addr,
                                  [](uint32_t a, const VectorPageSymbol& s) { return a < s.addr; });
    const VectorPageSymbol* best = nullptr;
    uint32_t best_extent = 0;
    for (size_t i = size_t(above - syms.begin()); i-- > 0;) {
        const auto& s = syms[i];
        if (best && s.addr < best->addr)
            break;
        if (addr - s.addr >= extents[i])
            continue;
        if (!best || s.size || !best->size) {
            best = &s;
            best_extent = extents[i];
        }
    }
    if (best)
        return SymbolHit{best->name, addr - best->addr, best_extent};
    return std::nullopt;
}

std::optional<std::string> vector_page_symbolize(uint32_t addr) {
    if (auto s = vector_page_symbol_at(addr))
        return fmt::format("{}+0x{:x}/0x{:x}", s->name, s->offset, s->size);
    return std::nullopt;
}

} // namespace piemu
