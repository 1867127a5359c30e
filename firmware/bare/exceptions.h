/*
 * exceptions.h - constants shared by exceptions.c and exceptions_asm.S.
 */
#ifndef PIEMU_FW_EXCEPTIONS_H
#define PIEMU_FW_EXCEPTIONS_H

/* Exception kinds = vector index (offset / 4). */
#define KIND_RESET 0
#define KIND_UND   1
#define KIND_SVC   2
#define KIND_PABT  3
#define KIND_DABT  4
#define KIND_HYP   5
#define KIND_IRQ   6
#define KIND_FIQ   7

/* `svc #SVC_TO_KERNEL` (ARM, from USR) ends a call_user(); never recorded. */
#define SVC_TO_KERNEL 0xfe
/* SVC immediates used by the tests. Not 0x123456 (ARM) / 0xab (Thumb): QEMU and
 * piemu treat those as semihosting calls. */
#define SVC_IMM_ARM   0x42
#define SVC_IMM_THUMB 0x24
#define SVC_IMM_IT    0x33

/* Address used for the alignment fault (MMU off, SCTLR.A = 1). */
#define ALIGN_ADDR       0x00100001
/* 1 MiB section left unmapped (descriptor 0) once the MMU is on. */
#define UNMAPPED_BASE    0x10000000
#define XLAT_READ_ADDR   0x10000044
#define XLAT_WRITE_ADDR  0x10000048
#define XLAT_IT_ADDR     0x1000004c
#define PABT_ARM_ADDR    0x10000100
#define PABT_THUMB_ADDR  0x10000180
/* 1 MiB section mapped AP = 0b01: privileged read/write, no user access. */
#define PRIV_BASE        0x00200000
#define PERM_READ_ADDR   0x00200010
#define PERM_WRITE_ADDR  0x00200014

#endif /* PIEMU_FW_EXCEPTIONS_H */
