/*
 * vectors.h - install an image's own exception vector table (see vectors.S).
 */
#ifndef PIEMU_FW_VECTORS_H
#define PIEMU_FW_VECTORS_H

#include <stdint.h>

/// Point VBAR at `table` (32-byte aligned: VBAR[4:0] are RES0) and clear SCTLR.V so
/// exceptions use VBAR instead of the high vectors at 0xFFFF0000. Call from PL1.
void vectors_install(const void *table);

/// Current VBAR.
uint32_t vectors_vbar(void);

#endif /* PIEMU_FW_VECTORS_H */
