// Loader tests: ELF32 images (segments, entry, symbols, the piemu note, every rejection
// message), raw images, format detection, and the Linux boot protocol with a DTB made
// by libfdt. Input files are built in memory and written to a private temp directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <libfdt.h>

#include "loader/linux_boot.hpp"
#include "loader_elf_builder.hpp"
#include "loader_fdt_helpers.hpp"
#include "loader_temp_dir.hpp"
#include "piemu/bus.hpp"
#include "piemu/loader.hpp"

using namespace piemu;
using loader_test::boot;
using loader_test::chosen_string;
using loader_test::chosen_u32;
using loader_test::ElfBuilder;
using loader_test::guest_dtb;
using loader_test::make_dtb;
using loader_test::SegmentSpec;
using loader_test::SymbolSpec;
using loader_test::TempDir;

namespace {

constexpr uint32_t kRam = 64u << 20; // RAM 0x00000000-0x03ffffff

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = uint8_t(seed + i * 7);
    return v;
}

std::vector<uint8_t> read_mem(const Bus& bus, uint32_t addr, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(bus.read_phys(addr, v));
    return v;
}

/// The error message of a load that must fail.
template <typename T>
std::string error_of(const ErrorOr<T>& r) {
    EXPECT_TRUE(r.is_error());
    return r.is_error() ? r.error().message : std::string("(no error)");
}

/// Code at 0x8000 (16 bytes) and data at 0x10000 (8 bytes + 0x18 bytes of bss).
ElfBuilder two_segment_elf() {
    ElfBuilder b;
    b.entry = 0x8000;
    b.segments.push_back({.paddr = 0x8000, .data = pattern(16, 1)});
    b.segments.push_back(
        {.paddr = 0x10000, .data = pattern(8, 100), .memsz = 0x20, .flags = PF_R | PF_W});
    return b;
}

} // namespace

// ---- ELF: loading ------------------------------------------------------------------

TEST(LoaderElf, CopiesSegmentsAndZeroFillsBss) {
    TempDir dir;
    Bus bus(kRam);
    std::vector<uint8_t> junk(0x40, 0xaa); // must become zero where bss lies
    ASSERT_TRUE(bus.write_phys(0x10000, junk));
    auto r = load_elf(dir.write("good.elf", two_segment_elf().build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    const LoadedImage& img = r.value();

    EXPECT_EQ(read_mem(bus, 0x8000, 16), pattern(16, 1));
    EXPECT_EQ(read_mem(bus, 0x10000, 8), pattern(8, 100));
    EXPECT_EQ(read_mem(bus, 0x10008, 0x18), std::vector<uint8_t>(0x18, 0)); // bss zeroed
    EXPECT_EQ(read_mem(bus, 0x10020, 0x20),
              std::vector<uint8_t>(0x20, 0xaa)); // past memsz: untouched
    EXPECT_EQ(img.entry, 0x8000u);
    EXPECT_FALSE(img.entry_thumb);
    EXPECT_TRUE(img.is_elf);
    EXPECT_FALSE(img.kernel_model);
    EXPECT_FALSE(img.use_boot_stub);
    using Seg = std::pair<uint32_t, uint32_t>;
    EXPECT_EQ(img.segments, (std::vector<Seg>{{0x8000, 16}, {0x10000, 0x20}}));
}

TEST(LoaderElf, ThumbEntryClearsBitAndSetsThumbState) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.entry = 0x8009;
    auto r = load_elf(dir.write("thumb.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(r.value().entry, 0x8008u);
    EXPECT_TRUE(r.value().entry_thumb);
}

TEST(LoaderElf, LoadsAtPhysicalAddressAndTranslatesEntryLikeQemu) {
    // Linked at 0xc0008000 (virtual), loaded at 0x8000 (physical): the bytes go to
    // p_paddr, and e_entry moves by p_paddr - p_vaddr (QEMU's load_elf rule).
    TempDir dir;
    Bus bus(kRam);
    ElfBuilder b;
    b.entry = 0xc0008004;
    b.segments.push_back({.paddr = 0x8000, .data = pattern(32, 9), .vaddr = 0xc0008000});
    auto r = load_elf(dir.write("high.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(read_mem(bus, 0x8000, 32), pattern(32, 9));
    EXPECT_EQ(r.value().entry, 0x8004u);
}

TEST(LoaderElf, ZeroFillOverlappingAnotherSegmentIsDropped) {
    // Segment 0's bss (0x8010-0x8100) would cover segment 1's data at 0x8010: like
    // QEMU, segment 0 is then loaded with its file bytes only.
    TempDir dir;
    Bus bus(kRam);
    ElfBuilder b;
    b.entry = 0x8000;
    b.segments.push_back({.paddr = 0x8000, .data = pattern(0x10, 3), .memsz = 0x100});
    b.segments.push_back({.paddr = 0x8010, .data = pattern(0x10, 50)});
    auto r = load_elf(dir.write("rom.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(read_mem(bus, 0x8010, 0x10), pattern(0x10, 50));
    using Seg = std::pair<uint32_t, uint32_t>;
    EXPECT_EQ(r.value().segments, (std::vector<Seg>{{0x8000, 0x10}, {0x8010, 0x10}}));
}

TEST(LoaderElf, AcceptsEtDynAtItsLinkAddresses) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.type = ET_DYN;
    auto r = load_elf(dir.write("pie.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(read_mem(bus, 0x8000, 16), pattern(16, 1));
}

// ---- ELF: symbols ------------------------------------------------------------------

TEST(LoaderElf, SymbolsAreFilteredSortedAndLookedUp) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.symbols = {
        {.name = "data_obj", .value = 0x10000, .size = 8, .type = STT_OBJECT, .shndx = 2},
        {.name = "thumb_fn", .value = 0x8009, .size = 6}, // Thumb: bit 0 set
        {.name = "_start", .value = 0x8000, .size = 8},
        {.name = "reset", .value = 0x8000, .type = STT_NOTYPE},             // label at _start
        {.name = "loop", .value = 0x800e, .type = STT_NOTYPE},              // label, size 0
        {.name = "tail", .value = 0x10010, .type = STT_NOTYPE, .shndx = 2}, // last label
        {.name = "$a", .value = 0x8000, .type = STT_NOTYPE, .bind = STB_LOCAL},
        {.name = "$d", .value = 0x10000, .type = STT_NOTYPE, .bind = STB_LOCAL, .shndx = 2},
        {.name = "crt0.s", .type = STT_FILE, .bind = STB_LOCAL, .shndx = SHN_ABS},
        {.name = "sect", .value = 0x8000, .type = STT_SECTION, .bind = STB_LOCAL},
        {.name = "ext_fn", .type = STT_FUNC, .shndx = SHN_UNDEF},
        {.name = "abs_val", .value = 0x1234, .type = STT_NOTYPE, .shndx = SHN_ABS},
    };
    auto r = load_elf(dir.write("syms.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    const LoadedImage& img = r.value();

    std::vector<std::string> names;
    for (const auto& s : img.symbols)
        names.push_back(s.name);
    // At one address, zero-size labels sort before sized symbols.
    EXPECT_EQ(names, (std::vector<std::string>{"reset", "_start", "thumb_fn", "loop", "data_obj",
                                               "tail"}));

    const Symbol* t = img.find_symbol("thumb_fn");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->addr, 0x8008u);
    EXPECT_EQ(t->size, 6u);
    EXPECT_TRUE(t->thumb);
    EXPECT_FALSE(img.find_symbol("_start")->thumb);
    EXPECT_EQ(img.find_symbol("data_obj")->addr, 0x10000u);
    EXPECT_EQ(img.find_symbol("$a"), nullptr);
    EXPECT_EQ(img.find_symbol("ext_fn"), nullptr);
    EXPECT_EQ(img.find_symbol("abs_val"), nullptr);
    EXPECT_EQ(img.find_symbol("crt0.s"), nullptr);
    EXPECT_EQ(img.find_symbol("nonexistent"), nullptr);

    auto name_at = [&](uint32_t a) {
        const Symbol* s = img.symbol_at(a);
        return s ? s->name : std::string("(none)");
    };
    EXPECT_EQ(name_at(0x7fff), "(none)"); // below every symbol
    EXPECT_EQ(name_at(0x8000), "_start"); // the sized symbol, not "reset" or "$a"
    EXPECT_EQ(name_at(0x8007), "_start");
    EXPECT_EQ(name_at(0x8008), "thumb_fn");
    EXPECT_EQ(name_at(0x800d), "thumb_fn");
    EXPECT_EQ(name_at(0x800e), "loop"); // zero-size label ...
    EXPECT_EQ(name_at(0x9000), "loop"); // ... covers up to the next symbol
    EXPECT_EQ(name_at(0x10007), "data_obj");
    EXPECT_EQ(name_at(0x10008), "(none)"); // past data_obj, before tail
    EXPECT_EQ(name_at(0x10010), "tail");
    EXPECT_EQ(name_at(0x1001f), "tail"); // last label: up to its segment's end
    EXPECT_EQ(name_at(0x10020), "(none)");
}

// ---- ELF: the piemu note -----------------------------------------------------------

TEST(LoaderElf, PiemuNoteInSectionSetsKernelModel) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.note_section = {{"GNU", NT_GNU_BUILD_ID, pattern(20, 0)}, loader_test::piemu_note(1)};
    auto r = load_elf(dir.write("km.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_TRUE(r.value().kernel_model);
}

TEST(LoaderElf, PiemuNoteInSegmentSetsKernelModel) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.note_segment = {loader_test::piemu_note(1)};
    auto r = load_elf(dir.write("km.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_TRUE(r.value().kernel_model);
}

TEST(LoaderElf, OtherNotesDoNotSetKernelModel) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    auto wrong_type = loader_test::piemu_note(1);
    wrong_type.type = 2;
    b.note_section = {
        {"GNU", NT_GNU_BUILD_ID, pattern(20, 0)}, wrong_type, {"piemux", 1, {1, 0, 0, 0}}};
    auto r = load_elf(dir.write("plain.elf", b.build()), bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_FALSE(r.value().kernel_model);
}

TEST(LoaderElf, PiemuNoteWithUnknownAbiVersionIsRejected) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.note_section = {loader_test::piemu_note(2)};
    auto path = dir.write("km2.elf", b.build());
    EXPECT_EQ(error_of(load_elf(path, bus)),
              path + ": piemu note asks for kernel-model ABI version 2; this piemu implements "
                     "version 1");
}

// ---- ELF: rejections ---------------------------------------------------------------

TEST(LoaderElfErrors, HeaderProblems) {
    TempDir dir;
    Bus bus(kRam);
    auto with = [&](const char* name, auto edit) {
        auto b = two_segment_elf();
        edit(b);
        return dir.write(name, b.build());
    };
    std::string p;

    p = dir.write("hello.elf", std::string("#!/bin/sh\necho hello\n"));
    EXPECT_EQ(error_of(load_elf(p, bus)), p + ": not an ELF file (bad magic)");

    p = with("be.elf", [](ElfBuilder& b) { b.ei_data = ELFDATA2MSB; });
    EXPECT_EQ(error_of(load_elf(p, bus)), p + ": ELF is big-endian; piemu needs little-endian ARM");

    p = with("64.elf", [](ElfBuilder& b) { b.ei_class = ELFCLASS64; });
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": ELF is 64-bit (ELFCLASS64); piemu needs 32-bit ARM (ELFCLASS32)");

    p = with("x86.elf", [](ElfBuilder& b) { b.machine = EM_X86_64; });
    EXPECT_EQ(error_of(load_elf(p, bus)), p + ": ELF machine is x86-64 (62), expected ARM (40)");

    p = with("odd.elf", [](ElfBuilder& b) { b.machine = 0x1234; });
    EXPECT_EQ(error_of(load_elf(p, bus)), p + ": ELF machine is 4660, expected ARM (40)");

    p = with("obj.o", [](ElfBuilder& b) { b.type = ET_REL; });
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": ELF type is a relocatable object (ET_REL); piemu loads linked executables "
                  "(ET_EXEC or ET_DYN)");

    auto short_file = two_segment_elf().build();
    short_file.resize(20);
    p = dir.write("short.elf", short_file);
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": truncated: ELF header needs 52 bytes, file has 20");

    p = with("nophdr.elf", [](ElfBuilder& b) { b.segments.clear(); });
    EXPECT_EQ(error_of(load_elf(p, bus)), p + ": no program headers (nothing to load)");

    p = with("noload.elf", [](ElfBuilder& b) {
        b.segments.clear();
        b.note_segment = {loader_test::piemu_note(1)};
    });
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": no loadable segments (no PT_LOAD with a nonzero size)");
}

TEST(LoaderElfErrors, FileProblems) {
    TempDir dir;
    Bus bus(kRam);
    std::string missing = dir.path("x.img");
    EXPECT_EQ(error_of(load_elf(missing, bus)),
              missing + ": cannot open: No such file or directory");
    std::string empty = dir.write("empty.elf", std::vector<uint8_t>{});
    EXPECT_EQ(error_of(load_elf(empty, bus)), empty + ": empty file");
    EXPECT_EQ(error_of(load_elf(dir.path(""), bus)),
              dir.path("") + ": cannot read: Is a directory");
}

TEST(LoaderElfErrors, TruncatedProgramHeaderAndSegmentData) {
    TempDir dir;
    Bus bus(kRam);
    ElfBuilder b = two_segment_elf();
    b.segments.push_back({.paddr = 0x20000, .data = pattern(4, 0)});
    auto bytes = b.build();
    // Program headers at 0x34: header 2 spans 0x74-0x94; keep 0x80 bytes.
    bytes.resize(0x80);
    auto p = dir.write("cut.elf", bytes);
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": truncated: program header 2 extends past end of file (offset 0x74, file size "
                  "0x80)");

    // Two segments: headers end at 0x74, segment 0's 16 bytes at 0x74, segment 1 at 0x84.
    bytes = two_segment_elf().build();
    bytes.resize(0x88);
    p = dir.write("cutdata.elf", bytes);
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": truncated: segment 1 data extends past end of file (offset 0x84, size 0x8, "
                  "file size 0x88)");
}

TEST(LoaderElfErrors, SegmentProblems) {
    TempDir dir;
    Bus bus(kRam);
    auto with_seg1 = [&](const char* name, SegmentSpec s) {
        auto b = two_segment_elf();
        b.segments[1] = s;
        return dir.write(name, b.build());
    };
    std::string p;

    p = with_seg1("far.elf", {.paddr = 0x50000000, .data = pattern(0x1000, 0)});
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": segment 1 at 0x50000000-0x50001000 is outside RAM (0x00000000-0x03ffffff)");

    p = with_seg1("edge.elf", {.paddr = 0x03fff000, .data = pattern(0x10, 0), .memsz = 0x2000});
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": segment 1 at 0x03fff000-0x04001000 is outside RAM (0x00000000-0x03ffffff)");

    p = with_seg1("wrap.elf", {.paddr = 0xfffff000, .data = pattern(0x10, 0), .memsz = 0x2000});
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": segment 1 at 0xfffff000-0x100001000 is outside RAM (0x00000000-0x03ffffff)");

    p = with_seg1("overlap.elf", {.paddr = 0x8008, .data = pattern(0x10, 0)});
    EXPECT_EQ(error_of(load_elf(p, bus)), p + ": segments 0 and 1 overlap at 0x00008008");

    auto b = two_segment_elf();
    b.segments[1].memsz = 4; // smaller than its 8 file bytes
    p = dir.write("filesz.elf", b.build());
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": segment 1 has file size 0x8 larger than memory size 0x4");
}

TEST(LoaderElfErrors, EntryOutsideSegmentsAndNothingWritten) {
    TempDir dir;
    Bus bus(kRam);
    auto b = two_segment_elf();
    b.entry = 0x20000;
    auto p = dir.write("entry.elf", b.build());
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": entry point 0x00020000 is outside the loaded segments");
    // All checks run before copying: the rejected image left RAM as it was.
    EXPECT_EQ(read_mem(bus, 0x8000, 16), std::vector<uint8_t>(16, 0));
}

TEST(LoaderElfErrors, SectionProblems) {
    TempDir dir;
    Bus bus(kRam);
    auto bytes = two_segment_elf().build();
    uint32_t shoff = bytes[32] | bytes[33] << 8 | bytes[34] << 16 | uint32_t(bytes[35]) << 24;
    bytes.resize(shoff + 40 * 2 + 8); // section header 2 is cut
    auto p = dir.write("sh.elf", bytes);
    EXPECT_EQ(error_of(load_elf(p, bus)),
              fmt::format("{}: truncated: section header 2 extends past end of file (offset {:#x}, "
                          "file size {:#x})",
                          p, shoff + 80, shoff + 88));

    auto b = two_segment_elf();
    b.note_section = {loader_test::piemu_note(1)};
    bytes = b.build();
    // The note is the last thing before .shstrtab; make its n_descsz absurd.
    auto notes_at = std::search(bytes.begin(), bytes.end(), std::begin("piemu"), std::end("piemu"));
    ASSERT_NE(notes_at, bytes.end());
    size_t hdr = size_t(notes_at - bytes.begin()) - 12;
    ElfBuilder::put32(bytes, hdr + 4, 0x1000);
    p = dir.write("note.elf", bytes);
    EXPECT_EQ(error_of(load_elf(p, bus)),
              p + ": malformed note in section 5: note at offset 0x0 extends past its end");
}

// ---- raw images and detection ------------------------------------------------------

TEST(LoaderRaw, PlacesBytesAtAddress) {
    TempDir dir;
    Bus bus(kRam);
    auto p = dir.write("kernel7.img", pattern(0x300, 5));
    auto r = load_raw(p, 0x100000, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(read_mem(bus, 0x100000, 0x300), pattern(0x300, 5));
    EXPECT_EQ(r.value().entry, 0x100000u);
    EXPECT_FALSE(r.value().entry_thumb);
    EXPECT_FALSE(r.value().is_elf);
    using Seg = std::pair<uint32_t, uint32_t>;
    EXPECT_EQ(r.value().segments, (std::vector<Seg>{{0x100000, 0x300}}));
}

TEST(LoaderRaw, MustFitInRam) {
    TempDir dir;
    Bus bus(kRam);
    auto p = dir.write("big.img", pattern(0x2000, 5));
    EXPECT_EQ(
        error_of(load_raw(p, 0x03fff000, bus)),
        p + ": image of 0x2000 bytes at 0x03fff000 does not fit in RAM (0x00000000-0x03ffffff)");
    auto fits = dir.write("fits.img", pattern(0x1000, 5)); // ends exactly at the RAM end
    EXPECT_FALSE(load_raw(fits, 0x03fff000, bus).is_error());
    auto empty = dir.write("empty.img", std::vector<uint8_t>{});
    EXPECT_EQ(error_of(load_raw(empty, 0x8000, bus)), empty + ": empty file");
}

TEST(LoaderImage, DetectsElfByMagicAndRawOtherwise) {
    TempDir dir;
    Bus bus(kRam);
    auto elf = dir.write("a.elf", two_segment_elf().build());
    auto r = load_image(elf, std::nullopt, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_TRUE(r.value().is_elf);
    EXPECT_EQ(read_mem(bus, 0x10000, 8), pattern(8, 100));

    auto raw = dir.write("a.img", pattern(64, 77));
    r = load_image(raw, std::nullopt, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_FALSE(r.value().is_elf);
    EXPECT_EQ(r.value().entry, 0x8000u); // the default load address
    EXPECT_EQ(read_mem(bus, 0x8000, 64), pattern(64, 77));

    r = load_image(raw, 0x200000, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(r.value().entry, 0x200000u);
    EXPECT_EQ(read_mem(bus, 0x200000, 64), pattern(64, 77));

    EXPECT_EQ(error_of(load_image(elf, 0x200000, bus)),
              elf + ": a load address (0x00200000) applies only to raw images; this is an ELF "
                    "file, whose segments carry their own addresses");
    auto missing = dir.path("x.img");
    EXPECT_EQ(error_of(load_image(missing, std::nullopt, bus)),
              missing + ": cannot open: No such file or directory");
}

// ---- Linux boot --------------------------------------------------------------------

TEST(LoaderLinux, KernelInitrdAndDtbWithBootargs) {
    TempDir dir;
    Bus bus(kRam);
    LinuxBootParams p{.kernel = dir.write("zImage", pattern(0x3000, 11)),
                      .dtb = dir.write("board.dtb", make_dtb(false)),
                      .initrd = dir.write("initrd.img", pattern(0x1234, 22)),
                      .append = "console=ttyAMA0 root=/dev/ram"};
    auto r = load_linux(p, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    const LoadedImage& img = r.value();

    // 64 MiB RAM: initrd at RAM / 2 = 0x02000000; DTB at the next 4 KiB after it.
    EXPECT_EQ(img.entry, 0x8000u);
    EXPECT_FALSE(img.entry_thumb);
    EXPECT_TRUE(img.use_boot_stub);
    EXPECT_EQ(img.boot_r0, 0u);
    EXPECT_EQ(img.boot_r1, 0xffffffffu);
    EXPECT_EQ(img.boot_r2, 0x02002000u);
    EXPECT_EQ(read_mem(bus, 0x8000, 0x3000), pattern(0x3000, 11));
    EXPECT_EQ(read_mem(bus, 0x02000000, 0x1234), pattern(0x1234, 22));

    auto dtb = guest_dtb(bus, img.boot_r2);
    EXPECT_EQ(chosen_string(dtb, "bootargs"), "console=ttyAMA0 root=/dev/ram");
    EXPECT_EQ(chosen_u32(dtb, "linux,initrd-start"), 0x02000000u);
    EXPECT_EQ(chosen_u32(dtb, "linux,initrd-end"), 0x02001234u);
    EXPECT_GE(fdt_path_offset(dtb.data(), "/soc"), 0); // the board's nodes survive
    ASSERT_EQ(img.segments.size(), 3u);
    EXPECT_EQ(img.segments[0], (std::pair<uint32_t, uint32_t>{0x8000, 0x3000}));
    EXPECT_EQ(img.segments[1], (std::pair<uint32_t, uint32_t>{0x02000000, 0x1234}));
    EXPECT_EQ(img.segments[2], (std::pair<uint32_t, uint32_t>{0x02002000, uint32_t(dtb.size())}));
}

TEST(LoaderLinux, WithoutInitrdOrAppendKeepsBootargsAndDropsStaleInitrd) {
    TempDir dir;
    Bus bus(kRam);
    auto p = boot(dir.write("zImage", pattern(0x3000, 11)), dir.write("board.dtb", make_dtb(true)));
    auto r = load_linux(p, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    EXPECT_EQ(r.value().boot_r2, 0x02000000u); // where the initrd would have gone
    auto dtb = guest_dtb(bus, r.value().boot_r2);
    EXPECT_EQ(chosen_string(dtb, "bootargs"), "from the dtb");
    EXPECT_EQ(chosen_u32(dtb, "linux,initrd-start"), std::nullopt);
    EXPECT_EQ(chosen_u32(dtb, "linux,initrd-end"), std::nullopt);
    EXPECT_EQ(r.value().segments.size(), 2u);
}

TEST(LoaderLinux, CreatesChosenWhenMissing) {
    TempDir dir;
    Bus bus(kRam);
    auto p = boot(dir.write("zImage", pattern(0x100, 1)), dir.write("board.dtb", make_dtb(false)),
                  std::nullopt, "quiet");
    auto r = load_linux(p, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    auto dtb = guest_dtb(bus, r.value().boot_r2);
    EXPECT_GE(fdt_path_offset(dtb.data(), "/chosen"), 0);
    EXPECT_EQ(chosen_string(dtb, "bootargs"), "quiet");
}

namespace {
/// The words of the memory node's `reg` (found by device_type, as Linux does).
std::vector<uint32_t> memory_reg(const std::vector<uint8_t>& dtb) {
    int node = fdt_node_offset_by_prop_value(dtb.data(), -1, "device_type", "memory", 7);
    if (node < 0)
        return {};
    int len = 0;
    auto* p = static_cast<const fdt32_t*>(fdt_getprop(dtb.data(), node, "reg", &len));
    std::vector<uint32_t> out;
    for (int i = 0; p && i < len / 4; ++i)
        out.push_back(fdt32_to_cpu(p[i]));
    return out;
}
} // namespace

// The Pi firmware writes the ARM's memory into /memory: the Debian DTBs say 1 GiB,
// which would make the peripherals at 0x3f000000 System RAM.
TEST(LoaderLinux, MemoryNodeSetToTheGivenArmMemory) {
    TempDir dir;
    Bus bus(kRam);
    auto kernel = dir.write("zImage", pattern(0x100, 1));
    // No memory node: /memory@0 is created, in the root's cells (1 address, 1 size).
    auto p = boot(kernel, dir.write("a.dtb", make_dtb(false)));
    auto r = load_linux(p, bus, {0, 0x03000000});
    ASSERT_FALSE(r.is_error()) << r.error().message;
    auto dtb = guest_dtb(bus, r.value().boot_r2);
    EXPECT_GE(fdt_path_offset(dtb.data(), "/memory@0"), 0);
    EXPECT_EQ(memory_reg(dtb), (std::vector<uint32_t>{0, 0x03000000}));

    // An existing node keeps its name and gets the new range; 2 address + 2 size cells.
    std::vector<uint8_t> buf(4096);
    void* fdt = buf.data();
    ASSERT_EQ(fdt_create_empty_tree(fdt, int(buf.size())), 0);
    ASSERT_EQ(fdt_setprop_u32(fdt, 0, "#address-cells", 2), 0);
    ASSERT_EQ(fdt_setprop_u32(fdt, 0, "#size-cells", 2), 0);
    int mem = fdt_add_subnode(fdt, 0, "memory@0");
    ASSERT_GE(mem, 0);
    ASSERT_EQ(fdt_setprop_string(fdt, mem, "device_type", "memory"), 0);
    const fdt32_t gib[4] = {0, 0, 0, cpu_to_fdt32(0x40000000)};
    ASSERT_EQ(fdt_setprop(fdt, mem, "reg", gib, sizeof gib), 0);
    ASSERT_EQ(fdt_pack(fdt), 0);
    buf.resize(fdt_totalsize(fdt));
    p = boot(kernel, dir.write("b.dtb", buf));
    r = load_linux(p, bus, {0, 0x3b400000});
    ASSERT_FALSE(r.is_error()) << r.error().message;
    dtb = guest_dtb(bus, r.value().boot_r2);
    EXPECT_EQ(memory_reg(dtb), (std::vector<uint32_t>{0, 0, 0, 0x3b400000}));

    // Without a memory range the DTB's own node is left alone.
    r = load_linux(p, bus);
    ASSERT_FALSE(r.is_error()) << r.error().message;
    dtb = guest_dtb(bus, r.value().boot_r2);
    EXPECT_EQ(memory_reg(dtb), (std::vector<uint32_t>{0, 0, 0, 0x40000000}));
}

TEST(LoaderLinux, InitrdAt128MiBOnLargeRamAndAboveABigKernel) {
    TempDir dir;
    {
        Bus bus(512u << 20);
        auto p =
            boot(dir.write("zImage", pattern(0x100, 1)), dir.write("board.dtb", make_dtb(false)),
                 dir.write("initrd.img", pattern(0x10, 2)));
        auto r = load_linux(p, bus);
        ASSERT_FALSE(r.is_error()) << r.error().message;
        EXPECT_EQ(r.value().segments[1].first, 0x08000000u);
        EXPECT_EQ(r.value().boot_r2, 0x08001000u);
    }
    {
        // 16 MiB RAM: RAM / 2 = 8 MiB lies inside a 9 MiB kernel, so the initrd moves
        // to the kernel's end (0x8000 + 0x900000), 4 KiB aligned.
        Bus bus(16u << 20);
        auto p = boot(dir.write("big", pattern(0x900000 + 5, 1)),
                      dir.write("board.dtb", make_dtb(false)),
                      dir.write("initrd.img", pattern(0x10, 2)));
        auto r = load_linux(p, bus);
        ASSERT_FALSE(r.is_error()) << r.error().message;
        EXPECT_EQ(r.value().segments[1].first, 0x00909000u);
        EXPECT_EQ(read_mem(bus, 0x00909000, 0x10), pattern(0x10, 2));
    }
}

TEST(LoaderLinux, Rejections) {
    TempDir dir;
    Bus bus(16u << 20);
    auto kernel = dir.write("zImage", pattern(0x100, 1));
    auto good_dtb = dir.write("board.dtb", make_dtb(false));

    auto bad = dir.write("bad.dtb", std::string("this is not a device tree, honest"));
    EXPECT_EQ(error_of(load_linux(boot(kernel, bad), bus)),
              bad + ": not a device tree blob (FDT_ERR_BADMAGIC)");

    auto dtb = make_dtb(false);
    size_t full = dtb.size();
    dtb.resize(full / 2);
    auto cut = dir.write("cut.dtb", dtb);
    EXPECT_EQ(error_of(load_linux(boot(kernel, cut), bus)),
              fmt::format("{}: truncated: device tree header says {:#x} bytes, file has {:#x}", cut,
                          full, full / 2));

    dtb = make_dtb(false);
    uint32_t off_struct = fdt_off_dt_struct(dtb.data());
    ElfBuilder::put32(dtb, off_struct, 0x77777777); // not FDT_BEGIN_NODE
    auto broken = dir.write("broken.dtb", dtb);
    EXPECT_EQ(error_of(load_linux(boot(kernel, broken), bus)),
              broken + ": malformed device tree (FDT_ERR_BADSTRUCTURE)");

    auto missing = dir.path("none.dtb");
    EXPECT_EQ(error_of(load_linux(boot(kernel, missing), bus)),
              missing + ": cannot open: No such file or directory");

    auto initrd = dir.write("big.cpio", pattern(0x900000, 3));
    EXPECT_EQ(error_of(load_linux(boot(kernel, good_dtb, initrd), bus)),
              initrd + ": initrd of 0x900000 bytes at 0x00800000 does not fit in RAM "
                       "(0x00000000-0x00ffffff)");

    auto huge = dir.write("huge", pattern(0x1000000, 3));
    EXPECT_EQ(error_of(load_linux(boot(huge, good_dtb), bus)),
              huge + ": kernel of 0x1000000 bytes at 0x00008000 does not fit in RAM "
                     "(0x00000000-0x00ffffff)");

    auto vmlinux = dir.write("vmlinux", two_segment_elf().build());
    EXPECT_EQ(error_of(load_linux(boot(vmlinux, good_dtb), bus)),
              vmlinux + ": is an ELF file (vmlinux?); Linux boot needs the zImage or Image from "
                        "arch/arm/boot/");
    // Nothing was written by the rejected loads.
    EXPECT_EQ(read_mem(bus, 0x8000, 16), std::vector<uint8_t>(16, 0));
}

// ---- System.map (--symbols) ----------------------------------------------------------

TEST(LoaderSystemMap, SymbolsSizedToTheNextAddressAndLookedUp) {
    TempDir dir;
    // As nm and /proc/kallsyms print them, unsorted, with what a map may also hold.
    auto map = dir.write("System.map", "c0300b60 t __irq_svc\n"
                                       "c0300000 T _stext\n"
                                       "c0300000 T __turn_mmu_on\n"
                                       "\n"
                                       "c0301424 t bcm2836_arm_irqchip_handle_irq\n"
                                       "         U undefined_here\n"
                                       "00000400 A an_absolute_value\n"
                                       "c0301490 T bcm2835_handle_irq\t[some_module]\r\n"
                                       "c0300c00 W weak_fn\n"
                                       "C0301500 D LAST_ONE");
    auto loaded = load_system_map(map);
    ASSERT_FALSE(loaded.is_error()) << loaded.error().message;
    const std::vector<Symbol>& syms = loaded.value();
    ASSERT_EQ(syms.size(), 7u);
    auto size_of = [&](const std::string& name) {
        for (const Symbol& s : syms)
            if (s.name == name)
                return s.size;
        return ~0u;
    };
    EXPECT_EQ(size_of("_stext"), 0xb60u); // both symbols at c0300000: up to __irq_svc
    EXPECT_EQ(size_of("__turn_mmu_on"), 0xb60u);
    EXPECT_EQ(size_of("__irq_svc"), 0xa0u); // up to weak_fn at c0300c00
    EXPECT_EQ(size_of("weak_fn"), 0x824u);
    EXPECT_EQ(size_of("bcm2836_arm_irqchip_handle_irq"), 0x6cu);
    EXPECT_EQ(size_of("bcm2835_handle_irq"), 0x70u);
    EXPECT_EQ(size_of("LAST_ONE"), 0u); // nothing after it
    EXPECT_EQ(size_of("an_absolute_value"), ~0u);
    EXPECT_EQ(size_of("undefined_here"), ~0u);

    // Added to an image (none of its own, as a zImage), they symbolize its addresses.
    LoadedImage img;
    img.add_symbols(syms);
    auto name_at = [&](uint32_t a) {
        const Symbol* s = img.symbol_at(a);
        return s ? fmt::format("{}+0x{:x}/0x{:x}", s->name, a - s->addr, s->size)
                 : std::string("(none)");
    };
    EXPECT_EQ(name_at(0xc02fffff), "(none)");
    EXPECT_EQ(name_at(0xc0300000), "__turn_mmu_on+0x0/0xb60"); // names ascending at one address
    EXPECT_EQ(name_at(0xc0300b64), "__irq_svc+0x4/0xa0");
    EXPECT_EQ(name_at(0xc0301424), "bcm2836_arm_irqchip_handle_irq+0x0/0x6c");
    EXPECT_EQ(name_at(0xc030148f), "bcm2836_arm_irqchip_handle_irq+0x6b/0x6c");
    EXPECT_EQ(name_at(0xc0301500), "LAST_ONE+0x0/0x0");
    EXPECT_EQ(name_at(0xc0301501), "(none)");
    ASSERT_NE(img.find_symbol("__irq_svc"), nullptr);
    EXPECT_EQ(img.find_symbol("__irq_svc")->addr, 0xc0300b60u);
}

TEST(LoaderSystemMap, BadInputIsOneLineNamingTheFileAndTheLine) {
    TempDir dir;
    auto missing = dir.path("none.map");
    EXPECT_EQ(error_of(load_system_map(missing)),
              missing + ": cannot open: No such file or directory");
    auto empty = dir.write("empty.map", std::string());
    EXPECT_EQ(error_of(load_system_map(empty)), empty + ": empty file");
    auto blank = dir.write("blank.map", "\n\n         U only_undefined\n");
    EXPECT_EQ(error_of(load_system_map(blank)),
              blank + ": no symbols (expected lines such as \"c0301424 T "
                      "bcm2836_arm_irqchip_handle_irq\")");
    const char* expected = ": expected ADDRESS TYPE NAME (nm's format): ";
    struct Case {
        std::string text, error;
    };
    const Case cases[] = {
        {"c0300000 T ok\nc03g0000 T bad_hex\n",
         std::string("line 2") + expected + "\"c03g0000 T bad_hex\""},
        {"c0300000 T\n", std::string("line 1") + expected + "\"c0300000 T\""},
        {"c0300000 TT name\n", std::string("line 1") + expected + "\"c0300000 TT name\""},
        {"c0300000 T name extra\n", std::string("line 1") + expected + "\"c0300000 T name extra\""},
        {"\n\nU\n", std::string("line 3") + expected + "\"U\""},
        {"\x7f"
         "ELF\x01\x01\n",
         std::string("line 1") + expected + "\"?ELF??\""},
        {"ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
         "line 1: the address does not fit in 32 bits (a 64-bit kernel's map, or Debian's "
         "placeholder System.map?): \"ffffffffffffffff B The real System.map is in the "
         "linux-image...\""},
    };
    for (const Case& c : cases) {
        auto p = dir.write("bad.map", c.text);
        EXPECT_EQ(error_of(load_system_map(p)), p + ": " + c.error) << c.text;
    }
}
