// Test helper: builds small ELF32 files byte by byte, from the gABI's field offsets,
// independently of the loader's own structure definitions (src/loader/elf32.hpp), so a
// layout mistake there cannot hide in both.
//
// Layout of a built file:
//   ELF header (52) | program headers (32 each) | PT_LOAD data | PT_NOTE data |
//   .symtab | .strtab | .note | .shstrtab | section headers (40 each)
// Sections: 0 null, 1..n one SHT_PROGBITS per PT_LOAD segment (".seg<i>"), then
// .symtab, .strtab, .note (only when note_section is not empty), .shstrtab.
#pragma once

#include <cstdint>
#include <cstring>
#include <elf.h>
#include <string>
#include <vector>

namespace loader_test {

struct SegmentSpec {
    uint32_t paddr = 0;
    std::vector<uint8_t> data; ///< p_filesz bytes
    uint32_t memsz = 0;        ///< 0: same as data.size()
    uint32_t flags = PF_R | PF_X;
    uint32_t vaddr = 0xffffffff; ///< 0xffffffff: same as paddr
    uint32_t type = PT_LOAD;
};

struct SymbolSpec {
    std::string name;
    uint32_t value = 0;
    uint32_t size = 0;
    uint8_t type = STT_FUNC;
    uint8_t bind = STB_GLOBAL;
    uint16_t shndx = 1; ///< section index; 1 is the first segment's section
};

struct NoteSpec {
    std::string name; ///< written with its NUL; n_namesz counts it
    uint32_t type = 0;
    std::vector<uint8_t> desc;
};

/// The piemu kernel-model note (loader.hpp) with the given ABI version.
inline NoteSpec piemu_note(uint32_t abi_version) {
    NoteSpec n{"piemu", 1, {}};
    for (int i = 0; i < 4; ++i)
        n.desc.push_back(uint8_t(abi_version >> (8 * i)));
    return n;
}

class ElfBuilder {
public:
    uint8_t ei_class = ELFCLASS32;
    uint8_t ei_data = ELFDATA2LSB;
    uint16_t type = ET_EXEC;
    uint16_t machine = EM_ARM;
    uint32_t entry = 0;
    std::vector<SegmentSpec> segments;
    std::vector<SymbolSpec> symbols;
    std::vector<NoteSpec> note_section; ///< notes in a SHT_NOTE section (no segment)
    std::vector<NoteSpec> note_segment; ///< notes in a PT_NOTE segment (appended last)

    static constexpr uint32_t kEhdrSize = 52;
    static constexpr uint32_t kPhdrSize = 32;
    static constexpr uint32_t kShdrSize = 40;
    static constexpr uint32_t kSymSize = 16;

    std::vector<uint8_t> build() const {
        std::vector<uint8_t> f(kEhdrSize);
        unsigned phnum = unsigned(segments.size()) + (note_segment.empty() ? 0 : 1);
        f.resize(kEhdrSize + phnum * kPhdrSize);

        // Segment contents.
        std::vector<uint32_t> seg_off;
        for (const auto& s : segments) {
            align(f, 4);
            seg_off.push_back(uint32_t(f.size()));
            f.insert(f.end(), s.data.begin(), s.data.end());
        }
        uint32_t note_seg_off = 0, note_seg_size = 0;
        if (!note_segment.empty()) {
            align(f, 4);
            note_seg_off = uint32_t(f.size());
            auto n = notes(note_segment);
            f.insert(f.end(), n.begin(), n.end());
            note_seg_size = uint32_t(n.size());
        }
        for (unsigned i = 0; i < segments.size(); ++i) {
            const auto& s = segments[i];
            uint32_t ph = kEhdrSize + i * kPhdrSize;
            put32(f, ph + 0, s.type);
            put32(f, ph + 4, seg_off[i]);
            put32(f, ph + 8, s.vaddr == 0xffffffff ? s.paddr : s.vaddr);
            put32(f, ph + 12, s.paddr);
            put32(f, ph + 16, uint32_t(s.data.size()));
            put32(f, ph + 20, s.memsz ? s.memsz : uint32_t(s.data.size()));
            put32(f, ph + 24, s.flags);
            put32(f, ph + 28, 4);
        }
        if (!note_segment.empty()) {
            uint32_t ph = kEhdrSize + unsigned(segments.size()) * kPhdrSize;
            put32(f, ph + 0, PT_NOTE);
            put32(f, ph + 4, note_seg_off);
            put32(f, ph + 16, note_seg_size);
            put32(f, ph + 24, PF_R);
            put32(f, ph + 28, 4);
        }

        // String and symbol tables.
        std::vector<uint8_t> strtab{0}, symtab(kSymSize, 0), shstrtab{0};
        for (const auto& sym : symbols) {
            uint32_t name = uint32_t(strtab.size());
            strtab.insert(strtab.end(), sym.name.begin(), sym.name.end());
            strtab.push_back(0);
            size_t at = symtab.size();
            symtab.resize(at + kSymSize);
            put32(symtab, at + 0, name);
            put32(symtab, at + 4, sym.value);
            put32(symtab, at + 8, sym.size);
            symtab[at + 12] = uint8_t((sym.bind << 4) | sym.type);
            put16(symtab, at + 14, sym.shndx);
        }

        struct Section {
            std::string name;
            uint32_t type, offset, size, link, entsize, addr;
        };
        std::vector<Section> sections{{"", SHT_NULL, 0, 0, 0, 0, 0}};
        for (unsigned i = 0; i < segments.size(); ++i)
            sections.push_back({".seg" + std::to_string(i), SHT_PROGBITS, seg_off[i],
                                uint32_t(segments[i].data.size()), 0, 0, segments[i].paddr});
        unsigned symtab_index = unsigned(sections.size());
        auto place = [&](const std::vector<uint8_t>& bytes) {
            align(f, 4);
            uint32_t off = uint32_t(f.size());
            f.insert(f.end(), bytes.begin(), bytes.end());
            return off;
        };
        sections.push_back({".symtab", SHT_SYMTAB, place(symtab), uint32_t(symtab.size()),
                            symtab_index + 1, kSymSize, 0});
        sections.push_back(
            {".strtab", SHT_STRTAB, place(strtab), uint32_t(strtab.size()), 0, 0, 0});
        if (!note_section.empty()) {
            auto n = notes(note_section);
            sections.push_back({".note.piemu", SHT_NOTE, place(n), uint32_t(n.size()), 0, 0, 0});
        }
        std::vector<uint32_t> name_off;
        for (auto& s : sections) {
            name_off.push_back(uint32_t(shstrtab.size()));
            shstrtab.insert(shstrtab.end(), s.name.begin(), s.name.end());
            shstrtab.push_back(0);
        }
        name_off.push_back(uint32_t(shstrtab.size()));
        const char kShstrtab[] = ".shstrtab";
        shstrtab.insert(shstrtab.end(), kShstrtab, kShstrtab + sizeof kShstrtab);
        sections.push_back({".shstrtab", SHT_STRTAB, 0, uint32_t(shstrtab.size()), 0, 0, 0});
        sections.back().offset = place(shstrtab);

        align(f, 4);
        uint32_t shoff = uint32_t(f.size());
        f.resize(shoff + sections.size() * kShdrSize);
        for (unsigned i = 0; i < sections.size(); ++i) {
            uint32_t sh = shoff + i * kShdrSize;
            put32(f, sh + 0, name_off[i]);
            put32(f, sh + 4, sections[i].type);
            put32(f, sh + 12, sections[i].addr);
            put32(f, sh + 16, sections[i].offset);
            put32(f, sh + 20, sections[i].size);
            put32(f, sh + 24, sections[i].link);
            put32(f, sh + 28, sections[i].type == SHT_SYMTAB ? 1 : 0); // first global: simplified
            put32(f, sh + 32, 4);
            put32(f, sh + 36, sections[i].entsize);
        }

        // ELF header.
        const uint8_t ident[] = {0x7f, 'E', 'L', 'F', ei_class, ei_data, EV_CURRENT};
        std::memcpy(f.data(), ident, sizeof ident);
        put16(f, 16, type);
        put16(f, 18, machine);
        put32(f, 20, EV_CURRENT);
        put32(f, 24, entry);
        put32(f, 28, kEhdrSize);
        put32(f, 32, shoff);
        put32(f, 36, 0x05000200); // EF_ARM_EABI_VER5 | EF_ARM_ABI_FLOAT_SOFT
        put16(f, 40, kEhdrSize);
        put16(f, 42, kPhdrSize);
        put16(f, 44, uint16_t(phnum));
        put16(f, 46, kShdrSize);
        put16(f, 48, uint16_t(sections.size()));
        put16(f, 50, uint16_t(sections.size() - 1));
        return f;
    }

    static void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
        f[at] = uint8_t(v);
        f[at + 1] = uint8_t(v >> 8);
    }
    static void put32(std::vector<uint8_t>& f, size_t at, uint32_t v) {
        for (int i = 0; i < 4; ++i)
            f[at + i] = uint8_t(v >> (8 * i));
    }

private:
    static void align(std::vector<uint8_t>& f, size_t a) { f.resize((f.size() + a - 1) / a * a); }

    static std::vector<uint8_t> notes(const std::vector<NoteSpec>& list) {
        std::vector<uint8_t> out;
        for (const auto& n : list) {
            size_t at = out.size();
            out.resize(at + 12);
            put32(out, at + 0, uint32_t(n.name.size() + 1));
            put32(out, at + 4, uint32_t(n.desc.size()));
            put32(out, at + 8, n.type);
            out.insert(out.end(), n.name.begin(), n.name.end());
            out.push_back(0);
            align(out, 4);
            out.insert(out.end(), n.desc.begin(), n.desc.end());
            align(out, 4);
        }
        return out;
    }
};

} // namespace loader_test
