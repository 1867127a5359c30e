// Raw binary images (kernel7.img style) and format detection.
#include <cstdio>
#include <cstring>
#include <elf.h>

#include "loader/internals.hpp"
#include "piemu/bus.hpp"
#include "piemu/loader.hpp"

namespace piemu {

using loader::file_error;

namespace {

/// True when the file starts with the ELF magic. Unreadable or short files are not
/// ELF; the raw loader then reports why it cannot use them.
bool starts_with_elf_magic(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return false;
    char magic[SELFMAG] = {};
    size_t n = std::fread(magic, 1, SELFMAG, f);
    std::fclose(f);
    return n == SELFMAG && std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

} // namespace

ErrorOr<LoadedImage> load_raw(const std::string& path, uint32_t addr, Bus& bus) {
    auto data = TRY(loader::read_file(path));
    TRY(loader::check_fits(path, "image", addr, data.size(), bus));
    bus.write_phys(addr, data);

    LoadedImage image;
    image.path = path;
    image.entry = addr;
    image.segments.emplace_back(addr, uint32_t(data.size()));
    return image;
}

ErrorOr<LoadedImage> load_image(const std::string& path, std::optional<uint32_t> load_addr,
                                Bus& bus) {
    if (starts_with_elf_magic(path)) {
        if (load_addr)
            return file_error(path,
                              "a load address (0x{:08x}) applies only to raw images; "
                              "this is an ELF file, whose segments carry their own addresses",
                              *load_addr);
        return load_elf(path, bus);
    }
    return load_raw(path, load_addr.value_or(kDefaultLoadAddr), bus);
}

} // namespace piemu
