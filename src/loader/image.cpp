// LoadedImage: symbol lookup for symbolization (`symbol+0xoff/0xsize`).
#include <algorithm>

#include "piemu/loader.hpp"

namespace piemu {

namespace {

bool addr_less(uint32_t addr, const Symbol& s) {
    return addr < s.addr;
}

/// Where a zero-sized label stops covering: the next symbol's address; for the last
/// label, the end of the loaded segment holding it (symbols are compared with segment
/// addresses as if identity-mapped, which is how piemu's bare images run).
uint64_t label_end(const LoadedImage& image, std::vector<Symbol>::const_iterator label) {
    const auto& syms = image.symbols;
    auto next = std::upper_bound(label, syms.end(), label->addr, addr_less);
    if (next != syms.end())
        return next->addr;
    for (const auto& [base, size] : image.segments)
        if (label->addr >= base && uint64_t(label->addr) < uint64_t(base) + size)
            return uint64_t(base) + size;
    return uint64_t(label->addr) + 1;
}

} // namespace

const Symbol* LoadedImage::symbol_at(uint32_t addr) const {
    // Walk back from the last symbol at or below addr: the first one covering addr is
    // the innermost (highest-addressed) match; sort order breaks ties (sized first).
    auto it = std::upper_bound(symbols.begin(), symbols.end(), addr, addr_less);
    while (it != symbols.begin()) {
        --it;
        uint64_t end = it->size ? uint64_t(it->addr) + it->size : label_end(*this, it);
        if (addr < end)
            return &*it;
    }
    return nullptr;
}

const Symbol* LoadedImage::find_symbol(const std::string& name) const {
    auto it = std::find_if(symbols.begin(), symbols.end(),
                           [&](const Symbol& s) { return s.name == name; });
    return it == symbols.end() ? nullptr : &*it;
}

} // namespace piemu
