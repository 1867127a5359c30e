// The kernel model's vector page (firmware/kernel/*.S): the assembled image that piemu
// maps read-only at 0xffff0000 and its symbol table, both generated at build time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace piemu {

struct VectorPageSymbol {
    const char* name;
    uint32_t addr;
    uint32_t size; ///< 0 for labels without .size
};

/// The image, starting at PIEMU_KM_VECTORS.
std::span<const uint8_t> vector_page_image();
/// Its symbols, sorted by address.
std::span<const VectorPageSymbol> vector_page_symbols();

/// The address of a vector-page symbol; aborts for a name the page lacks (a piemu
/// build inconsistency, not guest input).
uint32_t vector_page_symbol(std::string_view name);
/// The name of the page's function containing `addr` ("" outside the page); the
/// string is static.
const char* vector_page_symbol_name(uint32_t addr);
/// A symbol that covers an address: %pS prints "name+0xoffset/0xsize".
struct SymbolHit {
    std::string_view name;
    uint32_t offset;
    uint32_t size;
};
/// The page's symbol covering `addr` (a label without a size extends to the next
/// symbol); nothing outside the page.
std::optional<SymbolHit> vector_page_symbol_at(uint32_t addr);
/// "name+0xoff/0xsize" for an address inside the page, as %pS prints it.
std::optional<std::string> vector_page_symbolize(uint32_t addr);

} // namespace piemu
