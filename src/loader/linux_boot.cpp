// The 32-bit ARM Linux boot protocol (Documentation/arch/arm/booting.rst): kernel image,
// optional initrd and a device tree, entered with r0 = 0, r1 = machine type (~0: DT
// only), r2 = physical address of the DTB. As the Pi firmware does, /memory's `reg` is
// set to the ARM's memory when the caller gives it (linux_boot.hpp).
//
// Placement, the same as QEMU's arm_setup_direct_kernel_boot() for a 32-bit guest:
//   kernel  0x8000 (where the Pi firmware puts kernel7.img; QEMU uses 0x10000)
//   initrd  min(RAM / 2, 128 MiB), or the kernel image's end if that is higher, 4 KiB
//           aligned. A zImage decompresses itself to 0x8000 and the kernel then uses the
//           memory behind it; 128 MiB keeps the initrd clear of both for any real
//           kernel while staying inside lowmem, and booting.rst names "just above
//           128 MiB" as the safe area for DTB and initrd.
//   DTB     the next 4 KiB boundary after the initrd (in its place without one): some
//           32-bit kernels trash the rest of the 4 KiB page the initrd ends in.
// Everything must lie in RAM, or loading fails with one line naming the file.
#include <algorithm>
#include <cstring>
#include <elf.h>
#include <libfdt.h>

#include "board/fdt_view.hpp"
#include "loader/internals.hpp"
#include "loader/linux_boot.hpp"
#include "piemu/bus.hpp"
#include "piemu/loader.hpp"

namespace piemu {

using loader::file_error;

namespace {

constexpr uint32_t kAlign = 4096;
constexpr uint64_t kInitrdCeiling = 128u << 20;
/// Room left in the DTB after patching, for the guest's own fixups.
constexpr uint32_t kDtbHeadroom = 4096;
constexpr uint32_t kMachineTypeDtOnly = 0xffffffff;

uint64_t align_up(uint64_t v, uint64_t a) {
    return (v + a - 1) / a * a;
}

/// Reads the DTB and checks that it is a complete, well-formed flattened tree.
ErrorOr<std::vector<uint8_t>> read_dtb(const std::string& path) {
    auto data = TRY(loader::read_file(path));
    if (data.size() < sizeof(uint32_t) || fdt_magic(data.data()) != FDT_MAGIC)
        return file_error(path, "not a device tree blob (FDT_ERR_BADMAGIC)");
    if (data.size() < sizeof(fdt_header))
        return file_error(path, "truncated: device tree header needs {} bytes, file has {}",
                          sizeof(fdt_header), data.size());
    if (int err = fdt_check_header(data.data()))
        return file_error(path, "not a device tree blob ({})", fdt_strerror(err));
    if (fdt_totalsize(data.data()) > data.size())
        return file_error(path, "truncated: device tree header says {:#x} bytes, file has {:#x}",
                          fdt_totalsize(data.data()), data.size());
    if (int err = fdt_check_full_bounded(data.data(), data.size()))
        return file_error(path, "malformed device tree ({})", fdt_strerror(err));
    return data;
}

/// Offset of /chosen, created when missing. Looked up afresh for each edit because
/// adding nodes and properties moves offsets.
ErrorOr<int> chosen_node(const std::string& path, void* fdt) {
    int node = fdt_path_offset(fdt, "/chosen");
    if (node == -FDT_ERR_NOTFOUND)
        node = fdt_add_subnode(fdt, 0, "chosen");
    if (node < 0)
        return file_error(path, "cannot create /chosen ({})", fdt_strerror(node));
    return node;
}

ErrorOr<void> check_fdt(const std::string& path, int err, const char* what) {
    if (err < 0 && err != -FDT_ERR_NOTFOUND)
        return file_error(path, "cannot {} ({})", what, fdt_strerror(err));
    return {};
}

/// Sets the `reg` of the DTB's memory node (device_type "memory", created as /memory@0
/// when there is none) to one range, in the root's #address-cells/#size-cells.
ErrorOr<void> set_memory(const std::string& path, void* fdt, std::pair<uint32_t, uint32_t> mem) {
    int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof "memory");
    if (node == -FDT_ERR_NOTFOUND) {
        node = fdt_add_subnode(fdt, 0, "memory@0");
        if (node >= 0)
            TRY(check_fdt(path, fdt_setprop_string(fdt, node, "device_type", "memory"),
                          "set /memory@0/device_type"));
        node = fdt_path_offset(fdt, "/memory@0");
    }
    if (node < 0)
        return file_error(path, "cannot find or create the memory node ({})", fdt_strerror(node));
    // Devicetree specification 2.3.5: without the properties, 2 address and 1 size cell.
    int ac = fdt_address_cells(fdt, 0);
    int sc = fdt_size_cells(fdt, 0);
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
        return file_error(path, "unsupported #address-cells {} / #size-cells {} at the root", ac,
                          sc);
    std::vector<fdt32_t> reg;
    if (ac == 2)
        reg.push_back(cpu_to_fdt32(0));
    reg.push_back(cpu_to_fdt32(mem.first));
    if (sc == 2)
        reg.push_back(cpu_to_fdt32(0));
    reg.push_back(cpu_to_fdt32(mem.second));
    return check_fdt(path,
                     fdt_setprop(fdt, node, "reg", reg.data(), int(reg.size() * sizeof(fdt32_t))),
                     "set the memory node's reg");
}

/// A copy of `dtb` with /chosen bootargs and the initrd range set. Without an initrd,
/// linux,initrd-start/end are removed: a stale range would point at whatever lies there.
ErrorOr<std::vector<uint8_t>> patch_dtb(const std::string& path, const std::vector<uint8_t>& dtb,
                                        const std::optional<std::string>& append,
                                        std::optional<std::pair<uint32_t, uint32_t>> initrd,
                                        std::optional<std::pair<uint32_t, uint32_t>> memory) {
    uint64_t size =
        uint64_t(fdt_totalsize(dtb.data())) + kDtbHeadroom + (append ? append->size() + 1 : 0);
    if (size > INT32_MAX)
        return file_error(path, "device tree too large ({:#x} bytes)", size);
    std::vector<uint8_t> out(size);
    TRY(check_fdt(path, fdt_open_into(dtb.data(), out.data(), int(size)),
                  "open the device tree for editing"));
    void* fdt = out.data();
    if (append) {
        int node = TRY(chosen_node(path, fdt));
        TRY(check_fdt(path, fdt_setprop_string(fdt, node, "bootargs", append->c_str()),
                      "set /chosen/bootargs"));
    }
    int node = TRY(chosen_node(path, fdt));
    if (initrd) {
        TRY(check_fdt(path, fdt_setprop_u32(fdt, node, "linux,initrd-start", initrd->first),
                      "set /chosen/linux,initrd-start"));
        node = TRY(chosen_node(path, fdt));
        TRY(check_fdt(path, fdt_setprop_u32(fdt, node, "linux,initrd-end", initrd->second),
                      "set /chosen/linux,initrd-end"));
    } else {
        TRY(check_fdt(path, fdt_delprop(fdt, node, "linux,initrd-start"),
                      "remove /chosen/linux,initrd-start"));
        node = TRY(chosen_node(path, fdt));
        TRY(check_fdt(path, fdt_delprop(fdt, node, "linux,initrd-end"),
                      "remove /chosen/linux,initrd-end"));
    }
    if (memory)
        TRY(set_memory(path, fdt, *memory));
    out.resize(fdt_totalsize(fdt));
    return out;
}

} // namespace

namespace {
ErrorOr<LoadedImage> load(const LinuxBootParams& params, Bus& bus,
                          std::optional<std::pair<uint32_t, uint32_t>> memory) {
    auto kernel = TRY(loader::read_file(params.kernel));
    if (kernel.size() >= SELFMAG && std::memcmp(kernel.data(), ELFMAG, SELFMAG) == 0)
        return file_error(params.kernel, "is an ELF file (vmlinux?); Linux boot needs the zImage "
                                         "or Image from arch/arm/boot/");
    TRY(loader::check_fits(params.kernel, "kernel", kDefaultLoadAddr, kernel.size(), bus));
    std::vector<uint8_t> initrd;
    if (params.initrd)
        initrd = TRY(loader::read_file(*params.initrd));
    auto dtb = TRY(read_dtb(params.dtb));

    uint64_t kernel_end = uint64_t(kDefaultLoadAddr) + kernel.size();
    uint64_t initrd_start = align_up(
        std::max(std::min<uint64_t>(bus.ram_size() / 2, kInitrdCeiling), kernel_end), kAlign);
    uint64_t initrd_end = initrd_start + initrd.size();
    if (params.initrd)
        TRY(loader::check_fits(*params.initrd, "initrd", initrd_start, initrd.size(), bus));
    uint64_t dtb_addr = align_up(initrd_end, kAlign);

    std::optional<std::pair<uint32_t, uint32_t>> initrd_range;
    if (params.initrd)
        initrd_range = {{uint32_t(initrd_start), uint32_t(initrd_end)}};
    auto fdt = TRY(patch_dtb(params.dtb, dtb, params.append, initrd_range, memory));
    TRY(loader::check_fits(params.dtb, "device tree", dtb_addr, fdt.size(), bus));

    bus.write_phys(kDefaultLoadAddr, kernel);
    if (params.initrd)
        bus.write_phys(uint32_t(initrd_start), initrd);
    bus.write_phys(uint32_t(dtb_addr), fdt);

    LoadedImage image;
    image.path = params.kernel;
    image.entry = kDefaultLoadAddr;
    image.segments.emplace_back(kDefaultLoadAddr, uint32_t(kernel.size()));
    if (params.initrd)
        image.segments.emplace_back(uint32_t(initrd_start), uint32_t(initrd.size()));
    image.segments.emplace_back(uint32_t(dtb_addr), uint32_t(fdt.size()));
    image.boot_r0 = 0;
    image.boot_r1 = kMachineTypeDtOnly;
    image.boot_r2 = uint32_t(dtb_addr);
    image.use_boot_stub = true;
    return image;
}

} // namespace

ErrorOr<LoadedImage> load_linux(const LinuxBootParams& params, Bus& bus) {
    return load(params, bus, std::nullopt);
}

ErrorOr<LoadedImage> load_linux(const LinuxBootParams& params, Bus& bus,
                                std::pair<uint32_t, uint32_t> memory) {
    return load(params, bus, memory);
}

} // namespace piemu
