// ELF32 sections: the section header table, symbols from .symtab/.strtab, and the
// piemu kernel-model note (format in loader.hpp).
#include <algorithm>
#include <elf.h>

#include "loader/elf_internal.hpp"
#include "loader/internals.hpp"

namespace piemu::loader {

namespace {

uint64_t align4(uint64_t n) {
    return (n + 3) & ~uint64_t(3);
}

ErrorOr<std::span<const uint8_t>> section_data(const ElfBytes& elf, const elf32::Shdr& sh,
                                               unsigned index, const char* what) {
    if (!elf.contains(sh.sh_offset, sh.sh_size))
        return file_error(elf.path,
                          "truncated: section {} ({}) extends past end of file "
                          "(offset {:#x}, size {:#x}, file size {:#x})",
                          index, what, sh.sh_offset, sh.sh_size, elf.data.size());
    return elf.data.subspan(sh.sh_offset, sh.sh_size);
}

/// Appends the wanted symbols of symbol table section `index`.
ErrorOr<void> read_symtab(const ElfBytes& elf, const std::vector<elf32::Shdr>& sections,
                          unsigned index, std::vector<Symbol>& out) {
    const auto& sh = sections[index];
    if (sh.sh_entsize != sizeof(elf32::Sym))
        return file_error(elf.path, "symbol table section {} has entry size {}, expected {}", index,
                          sh.sh_entsize, sizeof(elf32::Sym));
    auto table = TRY(section_data(elf, sh, index, "symbol table"));
    if (sh.sh_link >= sections.size() || sections[sh.sh_link].sh_type != SHT_STRTAB)
        return file_error(elf.path,
                          "symbol table section {} links to section {}, which is not a "
                          "string table",
                          index, sh.sh_link);
    auto strtab = TRY(section_data(elf, sections[sh.sh_link], sh.sh_link, "string table"));

    // Entry 0 is the reserved undefined symbol.
    for (size_t i = 1; i < table.size() / sizeof(elf32::Sym); ++i) {
        elf32::Sym sym;
        std::memcpy(&sym, table.data() + i * sizeof sym, sizeof sym);
        unsigned type = ELF32_ST_TYPE(sym.st_info);
        if (type != STT_NOTYPE && type != STT_OBJECT && type != STT_FUNC)
            continue;
        // Undefined, absolute and common symbols label nothing in the image.
        if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
            continue;
        auto name_end = std::find(strtab.begin() + std::min<size_t>(sym.st_name, strtab.size()),
                                  strtab.end(), uint8_t(0));
        if (sym.st_name >= strtab.size() || name_end == strtab.end())
            return file_error(elf.path,
                              "symbol {} of section {} has a name outside its string "
                              "table (offset {:#x}, table size {:#x})",
                              i, index, sym.st_name, strtab.size());
        std::string name(strtab.begin() + sym.st_name, name_end);
        // Mapping symbols ($a, $t, $d, $x...) mark code/data boundaries, not functions.
        if (name.empty() || name[0] == '$')
            continue;
        // AAELF32: bit 0 of an STT_FUNC value selects Thumb; the address is the rest.
        bool thumb = type == STT_FUNC && (sym.st_value & 1);
        out.push_back(
            {std::move(name), thumb ? sym.st_value & ~1u : sym.st_value, sym.st_size, thumb});
    }
    return {};
}

/// Scans one note area; `where` names it in errors ("section 3", "segment 2").
ErrorOr<bool> scan_notes(const ElfBytes& elf, std::span<const uint8_t> notes,
                         const std::string& where) {
    static constexpr uint8_t kName[] = {'p', 'i', 'e', 'm', 'u', 0};
    bool found = false;
    for (uint64_t pos = 0; pos < notes.size();) {
        if (notes.size() - pos < sizeof(elf32::Nhdr))
            return file_error(elf.path, "malformed note in {}: header at offset {:#x} is cut off",
                              where, pos);
        elf32::Nhdr nh;
        std::memcpy(&nh, notes.data() + pos, sizeof nh);
        uint64_t name_off = pos + sizeof nh;
        uint64_t desc_off = name_off + align4(nh.n_namesz);
        uint64_t next = desc_off + align4(nh.n_descsz);
        if (next > notes.size())
            return file_error(elf.path,
                              "malformed note in {}: note at offset {:#x} extends past "
                              "its end",
                              where, pos);
        if (nh.n_type == kPiemuNoteKernelModel && nh.n_namesz == sizeof kName &&
            std::memcmp(notes.data() + name_off, kName, sizeof kName) == 0) {
            if (nh.n_descsz != 4)
                return file_error(elf.path,
                                  "piemu note in {} has a {}-byte descriptor, expected "
                                  "4 (the kernel-model ABI version)",
                                  where, nh.n_descsz);
            uint32_t version;
            std::memcpy(&version, notes.data() + desc_off, 4);
            if (version != kKernelModelAbiVersion)
                return file_error(elf.path,
                                  "piemu note asks for kernel-model ABI version {}; "
                                  "this piemu implements version {}",
                                  version, kKernelModelAbiVersion);
            found = true;
        }
        pos = next;
    }
    return found;
}

} // namespace

ErrorOr<std::vector<elf32::Shdr>> read_section_headers(const ElfBytes& elf, const elf32::Ehdr& eh) {
    std::vector<elf32::Shdr> sections;
    // NOTE: e_shnum == 0 with e_shoff set is extended numbering (>= 0xff00 sections),
    // which no guest image needs; such a file is loaded without symbols.
    if (eh.e_shoff == 0 || eh.e_shnum == 0)
        return sections;
    if (eh.e_shentsize != sizeof(elf32::Shdr))
        return file_error(elf.path, "section header entry size is {}, expected {}", eh.e_shentsize,
                          sizeof(elf32::Shdr));
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
        uint64_t off = uint64_t(eh.e_shoff) + uint64_t(i) * sizeof(elf32::Shdr);
        if (!elf.contains(off, sizeof(elf32::Shdr)))
            return file_error(elf.path,
                              "truncated: section header {} extends past end of file "
                              "(offset {:#x}, file size {:#x})",
                              i, off, elf.data.size());
        sections.push_back(elf.read<elf32::Shdr>(off));
    }
    return sections;
}

ErrorOr<std::vector<Symbol>> read_symbols(const ElfBytes& elf,
                                          const std::vector<elf32::Shdr>& sections) {
    std::vector<Symbol> symbols;
    for (unsigned i = 0; i < sections.size(); ++i)
        if (sections[i].sh_type == SHT_SYMTAB)
            TRY(read_symtab(elf, sections, i, symbols));
    sort_symbols(symbols);
    return symbols;
}

ErrorOr<bool> has_kernel_model_note(const ElfBytes& elf, const std::vector<elf32::Phdr>& segments,
                                    const std::vector<elf32::Shdr>& sections) {
    bool found = false;
    for (unsigned i = 0; i < sections.size(); ++i) {
        if (sections[i].sh_type != SHT_NOTE)
            continue;
        auto notes = TRY(section_data(elf, sections[i], i, "notes"));
        found |= TRY(scan_notes(elf, notes, fmt::format("section {}", i)));
    }
    for (unsigned i = 0; i < segments.size(); ++i) {
        const auto& ph = segments[i];
        if (ph.p_type != PT_NOTE)
            continue;
        if (!elf.contains(ph.p_offset, ph.p_filesz))
            return file_error(elf.path,
                              "truncated: segment {} data extends past end of file "
                              "(offset {:#x}, size {:#x}, file size {:#x})",
                              i, ph.p_offset, ph.p_filesz, elf.data.size());
        found |= TRY(scan_notes(elf, elf.data.subspan(ph.p_offset, ph.p_filesz),
                                fmt::format("segment {}", i)));
    }
    return found;
}

void sort_symbols(std::vector<Symbol>& symbols) {
    std::stable_sort(symbols.begin(), symbols.end(), [](const Symbol& a, const Symbol& b) {
        if (a.addr != b.addr)
            return a.addr < b.addr;
        if ((a.size != 0) != (b.size != 0))
            return a.size == 0;
        return a.name > b.name;
    });
}

} // namespace piemu::loader
