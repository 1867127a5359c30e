// ELF32 executables: header checks, PT_LOAD segments into RAM, the entry point.
//
// Every check runs before the first byte is written, so a rejected file leaves guest
// memory untouched. Segment numbers in messages are program header indices (what
// `readelf -l` lists).
#include <algorithm>
#include <cstring>
#include <elf.h>
#include <sys/stat.h>
#include <utility>

#include "loader/elf_internal.hpp"
#include "loader/internals.hpp"
#include "piemu/bus.hpp"
#include "piemu/loader.hpp"

namespace piemu {

using loader::ElfBytes;
using loader::file_error;

namespace {

/// A PT_LOAD segment that will be copied: `load_size` is p_memsz, or p_filesz when the
/// zero-filled tail would overlap another segment (QEMU's rule, see loader.hpp).
struct LoadSegment {
    unsigned index;
    elf32::Phdr ph;
    uint32_t load_size;
};

/// Names for the e_machine values a wrong file most likely has.
const char* machine_name(uint16_t machine) {
    static constexpr std::pair<uint16_t, const char*> kNames[] = {
        {EM_NONE, "none"},       {EM_386, "i386"},     {EM_MIPS, "MIPS"},   {EM_PPC, "PowerPC"},
        {EM_PPC64, "PowerPC64"}, {EM_SH, "SuperH"},    {EM_SPARC, "SPARC"}, {EM_X86_64, "x86-64"},
        {EM_AARCH64, "AArch64"}, {EM_RISCV, "RISC-V"},
    };
    for (const auto& [value, name] : kNames)
        if (value == machine)
            return name;
    return nullptr;
}

ErrorOr<elf32::Ehdr> check_header(const ElfBytes& elf) {
    const auto& d = elf.data;
    if (d.size() < SELFMAG || std::memcmp(d.data(), ELFMAG, SELFMAG) != 0)
        return file_error(elf.path, "not an ELF file (bad magic)");
    if (d.size() > EI_CLASS && d[EI_CLASS] == ELFCLASS64)
        return file_error(elf.path,
                          "ELF is 64-bit (ELFCLASS64); piemu needs 32-bit ARM (ELFCLASS32)");
    if (d.size() < sizeof(elf32::Ehdr))
        return file_error(elf.path, "truncated: ELF header needs {} bytes, file has {}",
                          sizeof(elf32::Ehdr), d.size());
    auto eh = elf.read<elf32::Ehdr>(0);
    if (eh.e_ident[EI_CLASS] != ELFCLASS32)
        return file_error(elf.path, "ELF class {} is invalid, expected ELFCLASS32 (1)",
                          eh.e_ident[EI_CLASS]);
    if (eh.e_ident[EI_DATA] == ELFDATA2MSB)
        return file_error(elf.path, "ELF is big-endian; piemu needs little-endian ARM");
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return file_error(elf.path, "ELF data encoding {} is invalid, expected little-endian (1)",
                          eh.e_ident[EI_DATA]);
    if (eh.e_machine != EM_ARM) {
        if (const char* name = machine_name(eh.e_machine))
            return file_error(elf.path, "ELF machine is {} ({}), expected ARM (40)", name,
                              eh.e_machine);
        return file_error(elf.path, "ELF machine is {}, expected ARM (40)", eh.e_machine);
    }
    if (eh.e_type == ET_REL)
        return file_error(elf.path, "ELF type is a relocatable object (ET_REL); piemu loads "
                                    "linked executables (ET_EXEC or ET_DYN)");
    if (eh.e_type == ET_CORE)
        return file_error(elf.path, "ELF type is a core dump (ET_CORE); piemu loads "
                                    "linked executables (ET_EXEC or ET_DYN)");
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return file_error(elf.path, "ELF type {} is not an executable (ET_EXEC or ET_DYN)",
                          eh.e_type);
    return eh;
}

ErrorOr<std::vector<elf32::Phdr>> read_program_headers(const ElfBytes& elf, const elf32::Ehdr& eh) {
    if (eh.e_phnum == 0)
        return file_error(elf.path, "no program headers (nothing to load)");
    if (eh.e_phentsize != sizeof(elf32::Phdr))
        return file_error(elf.path, "program header entry size is {}, expected {}", eh.e_phentsize,
                          sizeof(elf32::Phdr));
    std::vector<elf32::Phdr> phdrs;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        uint64_t off = uint64_t(eh.e_phoff) + uint64_t(i) * sizeof(elf32::Phdr);
        if (!elf.contains(off, sizeof(elf32::Phdr)))
            return file_error(elf.path,
                              "truncated: program header {} extends past end of file "
                              "(offset {:#x}, file size {:#x})",
                              i, off, elf.data.size());
        phdrs.push_back(elf.read<elf32::Phdr>(off));
    }
    return phdrs;
}

/// Checks each PT_LOAD segment against the file and RAM and applies the zero-fill rule.
ErrorOr<std::vector<LoadSegment>>
plan_segments(const ElfBytes& elf, const std::vector<elf32::Phdr>& phdrs, const Bus& bus) {
    std::vector<LoadSegment> segs;
    for (unsigned i = 0; i < phdrs.size(); ++i) {
        const auto& ph = phdrs[i];
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            return file_error(elf.path,
                              "segment {} has file size {:#x} larger than memory size {:#x}", i,
                              ph.p_filesz, ph.p_memsz);
        if (!elf.contains(ph.p_offset, ph.p_filesz))
            return file_error(elf.path,
                              "truncated: segment {} data extends past end of file "
                              "(offset {:#x}, size {:#x}, file size {:#x})",
                              i, ph.p_offset, ph.p_filesz, elf.data.size());
        // NOTE: empty segments load nothing and take part in no overlap check (as in QEMU).
        if (ph.p_memsz == 0)
            continue;
        segs.push_back({i, ph, ph.p_memsz});
    }
    if (segs.empty())
        return file_error(elf.path, "no loadable segments (no PT_LOAD with a nonzero size)");

    for (auto& s : segs) {
        uint64_t zero_start = uint64_t(s.ph.p_paddr) + s.ph.p_filesz;
        uint64_t zero_end = uint64_t(s.ph.p_paddr) + s.ph.p_memsz;
        for (const auto& o : segs) {
            uint64_t o_start = o.ph.p_paddr, o_end = o_start + o.ph.p_memsz;
            if (&o != &s && zero_start < zero_end && zero_start < o_end && o_start < zero_end) {
                s.load_size = s.ph.p_filesz;
                break;
            }
        }
    }

    for (const auto& s : segs) {
        uint64_t start = s.ph.p_paddr, end = start + s.load_size;
        if (!loader::fits_in_memory(bus, start, s.load_size))
            return file_error(elf.path, "segment {} at 0x{:08x}-0x{:08x} is outside RAM ({})",
                              s.index, start, end, loader::ram_range(bus));
    }
    return segs;
}

ErrorOr<void> check_overlaps(const ElfBytes& elf, const std::vector<LoadSegment>& segs) {
    for (size_t a = 0; a < segs.size(); ++a) {
        for (size_t b = a + 1; b < segs.size(); ++b) {
            uint64_t a0 = segs[a].ph.p_paddr, a1 = a0 + segs[a].load_size;
            uint64_t b0 = segs[b].ph.p_paddr, b1 = b0 + segs[b].load_size;
            if (a0 < b1 && b0 < a1)
                return file_error(elf.path, "segments {} and {} overlap at 0x{:08x}", segs[a].index,
                                  segs[b].index, std::max(a0, b0));
        }
    }
    return {};
}

/// The physical entry address (Thumb bit cleared). e_entry is virtual: like QEMU, move
/// it by p_paddr - p_vaddr of the executable segment whose file image holds it.
ErrorOr<uint32_t> entry_address(const ElfBytes& elf, const elf32::Ehdr& eh,
                                const std::vector<LoadSegment>& segs) {
    uint32_t entry = eh.e_entry & ~1u;
    for (const auto& s : segs) {
        const auto& ph = s.ph;
        if ((ph.p_flags & PF_X) && ph.p_vaddr != ph.p_paddr && entry >= ph.p_vaddr &&
            uint64_t(entry) < uint64_t(ph.p_vaddr) + ph.p_filesz) {
            entry = entry - ph.p_vaddr + ph.p_paddr;
            break;
        }
    }
    for (const auto& s : segs)
        if (entry >= s.ph.p_paddr && uint64_t(entry) < uint64_t(s.ph.p_paddr) + s.load_size)
            return entry;
    return file_error(elf.path, "entry point 0x{:08x} is outside the loaded segments", eh.e_entry);
}

void copy_segments(const ElfBytes& elf, const std::vector<LoadSegment>& segs, Bus& bus) {
    for (const auto& s : segs) {
        // plan_segments() checked that both ranges are guest memory.
        bus.write_phys(s.ph.p_paddr, elf.data.subspan(s.ph.p_offset, s.ph.p_filesz));
        if (s.load_size > s.ph.p_filesz) {
            std::vector<uint8_t> zeros(s.load_size - s.ph.p_filesz);
            bus.write_phys(s.ph.p_paddr + s.ph.p_filesz, zeros);
        }
    }
}

} // namespace

bool image_declares_kernel_model(const std::string& path) {
    // Only a regular file is read twice (here and by the loader): a pipe's bytes would
    // be gone.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    auto data = loader::read_file(path);
    if (data.is_error())
        return false;
    ElfBytes elf{path, data.value()};
    auto eh = check_header(elf);
    if (eh.is_error())
        return false;
    auto phdrs = read_program_headers(elf, eh.value());
    auto sections = loader::read_section_headers(elf, eh.value());
    if (phdrs.is_error() || sections.is_error())
        return false;
    auto note = loader::has_kernel_model_note(elf, phdrs.value(), sections.value());
    return !note.is_error() && note.value();
}

ErrorOr<LoadedImage> load_elf(const std::string& path, Bus& bus) {
    auto data = TRY(loader::read_file(path));
    ElfBytes elf{path, data};
    auto eh = TRY(check_header(elf));
    auto phdrs = TRY(read_program_headers(elf, eh));
    auto segs = TRY(plan_segments(elf, phdrs, bus));
    TRY(check_overlaps(elf, segs));
    uint32_t entry = TRY(entry_address(elf, eh, segs));
    auto sections = TRY(loader::read_section_headers(elf, eh));
    auto symbols = TRY(loader::read_symbols(elf, sections));
    bool kernel_model = TRY(loader::has_kernel_model_note(elf, phdrs, sections));

    copy_segments(elf, segs, bus);

    LoadedImage image;
    image.path = path;
    image.entry = entry;
    image.entry_thumb = (eh.e_entry & 1) != 0;
    image.is_elf = true;
    for (const auto& s : segs) {
        image.segments.emplace_back(s.ph.p_paddr, s.load_size);
        if (s.ph.p_flags & PF_X)
            image.text.emplace_back(s.ph.p_paddr, s.load_size);
    }
    image.symbols = std::move(symbols);
    image.kernel_model = kernel_model;
    return image;
}

} // namespace piemu
