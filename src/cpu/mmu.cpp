// The VMSAv7 short-descriptor translation table walk (ARM ARM B3.5), done on the
// host so that every fault has its exact status code. Unicorn is put in
// UC_TLB_VIRTUAL mode and asks CoreHooks::tlb_fill, which calls translate().
//
// Modelled: TTBCR.N split between TTBR0/TTBR1 and PD0/PD1, sections, supersections
// (32-bit physical addresses only), coarse page tables with large and small pages,
// domains (DACR), AP[2:0] with and without SCTLR.AFE (access flag faults; the
// hardware access-flag management option is not implemented, as on Cortex-A7),
// XN and PXN. Not modelled: TEX remap attributes (memory types do not matter here),
// LPAE long descriptors, nG/ASID (Unicorn's TLB is flushed on ASID changes).
#include <algorithm>
#include <cstring>

#include <unicorn/unicorn.h>

#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"

namespace piemu {

namespace {

struct Perm {
    bool read, write;
};

// AP[2:0] decoding (ARM ARM B3.7.1, tables B3-8 and B3-9).
Perm ap_perms(unsigned ap, bool afe, bool privileged) {
    if (afe) {
        // AP[0] is the access flag; AP[2:1] give the permissions.
        switch ((ap >> 1) & 3) {
        case 0:
            return privileged ? Perm{true, true} : Perm{false, false};
        case 1:
            return {true, true};
        case 2:
            return privileged ? Perm{true, false} : Perm{false, false};
        default:
            return {true, false};
        }
    }
    switch (ap & 7) {
    case 0:
        return {false, false};
    case 1:
        return privileged ? Perm{true, true} : Perm{false, false};
    case 2:
        return privileged ? Perm{true, true} : Perm{true, false};
    case 3:
        return {true, true};
    case 5:
        return privileged ? Perm{true, false} : Perm{false, false};
    case 6:
    case 7:
        return {true, false};
    default:
        return {false, false}; // 0b100 is reserved
    }
}

} // namespace

Translation ArmCore::translate(uint32_t va, Access access, bool privileged) const {
    Translation t;
    const MmuRegs& regs = mmu_regs();
    uint32_t sctlr_v = regs.sctlr;
    if (!(sctlr_v & 1)) { // MMU off: flat, everything allowed
        t.ok = true;
        t.pa = va;
        t.perms = UC_PROT_ALL;
        return t;
    }
    const bool afe = sctlr_v & (1u << 29);
    uint32_t ttbcr = regs.ttbcr;
    unsigned n = ttbcr & 7;
    uint32_t table;
    uint32_t index;
    bool use_ttbr1 = n != 0 && (va >> (32 - n)) != 0;
    if (!use_ttbr1) {
        if (ttbcr & (1u << 4)) { // PD0: walks through TTBR0 disabled
            t.fsr = fsc::TranslationSection;
            return t;
        }
        table = regs.ttbr0 & ~((1u << (14 - n)) - 1);
        index = (va << n) >> (n + 20);
    } else {
        if (ttbcr & (1u << 5)) {
            t.fsr = fsc::TranslationSection;
            return t;
        }
        table = regs.ttbr1 & ~0x3fffu;
        index = va >> 20;
    }

    uint32_t l1;
    if (!bus_.read32(table + index * 4, l1)) {
        // A walk outside RAM is a synchronous external abort on translation walk.
        t.fsr = 0x0c; // first level
        return t;
    }
    unsigned type = l1 & 3;
    if (type == 0) {
        t.fsr = fsc::TranslationSection;
        return t;
    }
    uint32_t dacr = regs.dacr;
    bool supersection = type >= 2 && (l1 & (1u << 18));
    unsigned domain = supersection ? 0 : (l1 >> 5) & 0xf;
    unsigned dom = (dacr >> (domain * 2)) & 3;
    bool page = type == 1;
    if (dom == 0 || dom == 2) {
        t.fsr = (page ? fsc::DomainPage : fsc::DomainSection) | (domain << 4);
        return t;
    }

    uint32_t pa;
    unsigned ap;
    bool xn, pxn;
    if (!page) {
        pa = supersection ? ((l1 & 0xff000000u) | (va & 0x00ffffffu))
                          : ((l1 & 0xfff00000u) | (va & 0x000fffffu));
        ap = ((l1 >> 10) & 3) | (((l1 >> 15) & 1) << 2);
        xn = l1 & (1u << 4);
        pxn = l1 & 1;
        if (afe && !(ap & 1)) {
            t.fsr = fsc::AccessFlagSection | (domain << 4);
            return t;
        }
    } else {
        pxn = l1 & (1u << 2);
        uint32_t l2addr = (l1 & 0xfffffc00u) | (((va >> 12) & 0xff) << 2);
        uint32_t l2;
        if (!bus_.read32(l2addr, l2)) {
            t.fsr = 0x0e | (domain << 4); // external abort on second-level walk
            return t;
        }
        if ((l2 & 3) == 0) {
            t.fsr = fsc::TranslationPage | (domain << 4);
            return t;
        }
        ap = ((l2 >> 4) & 3) | (((l2 >> 9) & 1) << 2);
        if (l2 & 2) { // small page (4 KiB); XN in bit 0
            pa = (l2 & 0xfffff000u) | (va & 0xfffu);
            xn = l2 & 1;
        } else { // large page (64 KiB); XN in bit 15
            pa = (l2 & 0xffff0000u) | (va & 0xffffu);
            xn = l2 & (1u << 15);
        }
        if (afe && !(ap & 1)) {
            t.fsr = fsc::AccessFlagPage | (domain << 4);
            return t;
        }
    }

    Perm p = dom == 3 ? Perm{true, true} : ap_perms(ap, afe, privileged);
    bool exec = p.read && (dom == 3 || !xn) && !(privileged && pxn && dom != 3);
    bool allowed = access == Access::Read ? p.read : access == Access::Write ? p.write : exec;
    if (!allowed) {
        t.fsr = (page ? fsc::PermissionPage : fsc::PermissionSection) | (domain << 4);
        return t;
    }
    t.ok = true;
    t.pa = pa;
    t.perms =
        (p.read ? UC_PROT_READ : 0) | (p.write ? UC_PROT_WRITE : 0) | (exec ? UC_PROT_EXEC : 0);
    return t;
}

bool ArmCore::read_virt(uint32_t va, std::span<uint8_t> out) const {
    // Host accesses are privileged: a debugger sees what the kernel would.
    for (size_t i = 0; i < out.size();) {
        Translation t = translate(uint32_t(va + i), Access::Read, true);
        if (!t.ok)
            return false;
        size_t chunk = std::min<size_t>(out.size() - i, 0x400 - ((va + i) & 0x3ff));
        if (!bus_.read_phys(t.pa, out.subspan(i, chunk)))
            return false;
        i += chunk;
    }
    return true;
}

bool ArmCore::write_virt(uint32_t va, std::span<const uint8_t> in) {
    for (size_t i = 0; i < in.size();) {
        Translation t = translate(uint32_t(va + i), Access::Write, true);
        if (!t.ok)
            return false;
        size_t chunk = std::min<size_t>(in.size() - i, 0x400 - ((va + i) & 0x3ff));
        if (!bus_.write_phys(t.pa, in.subspan(i, chunk)))
            return false;
        i += chunk;
    }
    return true;
}

} // namespace piemu
