// Guest image loading: ELF32 executables, raw images, and the Linux boot protocol.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "piemu/error.hpp"

namespace piemu {

class Bus;

/// A symbol from the guest image, for symbolization (`symbol+0xoff/0xsize`).
struct Symbol {
    std::string name;
    uint32_t addr = 0; ///< without the Thumb bit
    uint32_t size = 0;
    bool thumb = false;
};

/// What the loader put into guest memory and where execution starts.
struct LoadedImage {
    std::string path;
    uint32_t entry = 0;       ///< without the Thumb bit
    bool entry_thumb = false; ///< start in Thumb state
    bool is_elf = false;
    std::vector<std::pair<uint32_t, uint32_t>> segments; ///< (paddr, memsz) loaded
    std::vector<std::pair<uint32_t, uint32_t>> text;     ///< the executable ones among them
    std::vector<Symbol> symbols;                         ///< sorted by addr
    /// The image declares it runs on piemu's kernel model (a later issue's ELF note).
    bool kernel_model = false;
    /// Initial r0-r2 when the image is entered through the boot stub (Linux protocol).
    uint32_t boot_r0 = 0, boot_r1 = 0, boot_r2 = 0;
    bool use_boot_stub = false;

    /// The symbol covering `addr`, or nullptr.
    const Symbol* symbol_at(uint32_t addr) const;
    /// The symbol with this name, or nullptr.
    const Symbol* find_symbol(const std::string& name) const;
    /// Adds symbols from another source (a System.map) and keeps the order.
    void add_symbols(const std::vector<Symbol>& more);
};

/// Symbols from a System.map: nm's output as a kernel build writes it, one symbol a
/// line, `c0301424 T bcm2836_arm_irqchip_handle_irq` (/proc/kallsyms, whose lines may
/// end with a `[module]`, has the same shape). Blank lines, undefined (`U name`),
/// absolute (A) and debugging (N) symbols are skipped; each other symbol's size is the
/// distance to the next higher address (the last one has none). Rejects, in one line
/// naming the file: unreadable or empty files, a line that is not ADDRESS TYPE NAME
/// ("line N: ..."), an address above 32 bits, a map without symbols.
ErrorOr<std::vector<Symbol>> load_system_map(const std::string& path);

/// The ELF note that marks an image for piemu's kernel model (LoadedImage::kernel_model),
/// found in any SHT_NOTE section or PT_NOTE segment:
///   n_namesz = 6, n_descsz = 4, n_type = kPiemuNoteKernelModel,
///   name "piemu\0" padded to 8 bytes, descriptor one little-endian 32-bit word: the
///   kernel-model ABI version the image was built for (kKernelModelAbiVersion).
/// In GNU as: .section .note.piemu,"a",%note; .word 6, 4, 1; .asciz "piemu";
///            .balign 4; .word 1
inline constexpr uint32_t kPiemuNoteKernelModel = 1;
inline constexpr uint32_t kKernelModelAbiVersion = 1;

/// True when `path` is an ELF file carrying the kernel-model note (false for anything
/// else, unreadable files included: loading reports those).
bool image_declares_kernel_model(const std::string& path);

/// Loads an ELF32 little-endian ARM executable's PT_LOAD segments into RAM.
/// Rejects (one-line Error naming `path`): unreadable, empty, not ELF, wrong
/// class/endianness/machine/type, truncated headers or segments, a segment outside
/// RAM, overlapping segments, entry outside the loaded segments.
///
/// As QEMU's load_elf() does for ARM: segments go to their physical address (p_paddr,
/// never p_vaddr); the entry point (a virtual address) is moved by p_paddr - p_vaddr
/// when it lies in an executable segment whose two addresses differ; a segment whose
/// zero-filled tail (p_memsz > p_filesz) would overlap another segment is loaded with
/// p_filesz bytes only (ROM-style images whose .data LMA sits right after .text).
/// ET_DYN is accepted and loaded at its link addresses without relocation.
/// Symbols keep their st_value (virtual) addresses.
ErrorOr<LoadedImage> load_elf(const std::string& path, Bus& bus);

/// Where the Pi firmware puts a 32-bit kernel (kernel7.img), raw images and zImages.
inline constexpr uint32_t kDefaultLoadAddr = 0x8000;

/// Loads a raw binary at `addr` (the Pi firmware loads kernel7.img at 0x8000).
ErrorOr<LoadedImage> load_raw(const std::string& path, uint32_t addr, Bus& bus);

/// ELF when the file starts with the ELF magic, raw at `load_addr` (default 0x8000)
/// otherwise. An explicit `load_addr` with an ELF file is an error: ELF segments carry
/// their own addresses.
ErrorOr<LoadedImage> load_image(const std::string& path, std::optional<uint32_t> load_addr,
                                Bus& bus);

/// The Linux boot protocol: zImage (or Image) at 0x8000, the DTB with /chosen
/// bootargs and linux,initrd-start/end patched in with libfdt, placed above the
/// kernel; initrd above that. Entered with r0 = 0, r1 = 0xffffffff, r2 = DTB address.
///
/// Placement follows QEMU's arm_setup_direct_kernel_boot() so that piemu and QEMU
/// hand a guest the same addresses: the initrd starts at min(RAM / 2, 128 MiB), moved
/// up to the kernel image's end if the image is larger, 4 KiB aligned; the DTB follows
/// the initrd (or takes its place when there is none) at the next 4 KiB boundary. See
/// linux_boot.cpp for the reasoning. LoadedImage::segments lists kernel, initrd (if
/// any) and DTB, in that order.
struct LinuxBootParams {
    std::string kernel;
    std::string dtb;
    std::optional<std::string> initrd;
    std::optional<std::string> append;
};
ErrorOr<LoadedImage> load_linux(const LinuxBootParams& params, Bus& bus);

} // namespace piemu
