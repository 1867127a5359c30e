// Private interface between elf.cpp (headers, segments, entry) and elf_sections.cpp
// (section headers, symbols, notes).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "loader/elf32.hpp"
#include "piemu/error.hpp"
#include "piemu/loader.hpp"

namespace piemu::loader {

/// The file being loaded: its name for error messages and its bytes.
struct ElfBytes {
    const std::string& path;
    std::span<const uint8_t> data;

    bool contains(uint64_t offset, uint64_t size) const { return offset + size <= data.size(); }
    /// The structure at `offset`; the caller has checked contains().
    template <typename T>
    T read(uint64_t offset) const {
        T value;
        std::memcpy(&value, data.data() + offset, sizeof value);
        return value;
    }
};

/// The section header table (empty when the file has none). Errors on a truncated
/// table or an entry size other than 40.
ErrorOr<std::vector<elf32::Shdr>> read_section_headers(const ElfBytes& elf, const elf32::Ehdr& eh);

/// Symbols from every SHT_SYMTAB section: STT_FUNC, STT_OBJECT and STT_NOTYPE symbols
/// defined in a section, without mapping symbols ($a, $t, $d...). Sorted for
/// LoadedImage::symbol_at().
ErrorOr<std::vector<Symbol>> read_symbols(const ElfBytes& elf,
                                          const std::vector<elf32::Shdr>& sections);

/// True when a piemu kernel-model note is in a SHT_NOTE section or PT_NOTE segment.
/// Errors on malformed notes and on an unsupported kernel-model ABI version.
ErrorOr<bool> has_kernel_model_note(const ElfBytes& elf, const std::vector<elf32::Phdr>& segments,
                                    const std::vector<elf32::Shdr>& sections);

/// Orders symbols for LoadedImage::symbol_at(): by address; at one address zero-sized
/// labels first, then by name descending, so a backwards search meets sized symbols
/// first and names in ascending order.
void sort_symbols(std::vector<Symbol>& symbols);

} // namespace piemu::loader
