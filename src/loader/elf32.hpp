// ELF32 on-disk structures, as the System V gABI and the ARM ELF ABI (AAELF32) lay
// them out. Our own definitions, checked against the specification's offsets, so the
// parser does not depend on the host's <elf.h> (its constants are used freely).
//
// The loader copies these out of the file with memcpy; fields are little-endian,
// which is the host order on every machine piemu builds for.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace piemu::elf32 {

static_assert(std::endian::native == std::endian::little,
              "the ELF parser reads little-endian fields in host order");

struct Ehdr {
    uint8_t e_ident[16];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint32_t e_entry;
    uint32_t e_phoff;
    uint32_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
};
static_assert(sizeof(Ehdr) == 52);
static_assert(offsetof(Ehdr, e_type) == 16);
static_assert(offsetof(Ehdr, e_machine) == 18);
static_assert(offsetof(Ehdr, e_entry) == 24);
static_assert(offsetof(Ehdr, e_phoff) == 28);
static_assert(offsetof(Ehdr, e_shoff) == 32);
static_assert(offsetof(Ehdr, e_phentsize) == 42);
static_assert(offsetof(Ehdr, e_phnum) == 44);
static_assert(offsetof(Ehdr, e_shentsize) == 46);
static_assert(offsetof(Ehdr, e_shnum) == 48);
static_assert(offsetof(Ehdr, e_shstrndx) == 50);

struct Phdr {
    uint32_t p_type;
    uint32_t p_offset;
    uint32_t p_vaddr;
    uint32_t p_paddr;
    uint32_t p_filesz;
    uint32_t p_memsz;
    uint32_t p_flags;
    uint32_t p_align;
};
static_assert(sizeof(Phdr) == 32);
static_assert(offsetof(Phdr, p_paddr) == 12);
static_assert(offsetof(Phdr, p_memsz) == 20);
static_assert(offsetof(Phdr, p_flags) == 24);

struct Shdr {
    uint32_t sh_name;
    uint32_t sh_type;
    uint32_t sh_flags;
    uint32_t sh_addr;
    uint32_t sh_offset;
    uint32_t sh_size;
    uint32_t sh_link;
    uint32_t sh_info;
    uint32_t sh_addralign;
    uint32_t sh_entsize;
};
static_assert(sizeof(Shdr) == 40);
static_assert(offsetof(Shdr, sh_offset) == 16);
static_assert(offsetof(Shdr, sh_link) == 24);
static_assert(offsetof(Shdr, sh_entsize) == 36);

struct Sym {
    uint32_t st_name;
    uint32_t st_value;
    uint32_t st_size;
    uint8_t st_info; ///< binding << 4 | type
    uint8_t st_other;
    uint16_t st_shndx;
};
static_assert(sizeof(Sym) == 16);
static_assert(offsetof(Sym, st_value) == 4);
static_assert(offsetof(Sym, st_info) == 12);
static_assert(offsetof(Sym, st_shndx) == 14);

/// A note entry: this header, then the name (namesz bytes with its NUL, padded to 4),
/// then the descriptor (descsz bytes, padded to 4).
struct Nhdr {
    uint32_t n_namesz;
    uint32_t n_descsz;
    uint32_t n_type;
};
static_assert(sizeof(Nhdr) == 12);

} // namespace piemu::elf32
