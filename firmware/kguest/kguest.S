/*
 * The runtime every tiny guest links: the ELF note that asks piemu for its kernel
 * model (include/piemu/loader.hpp) and printk's variadic entry.
 */
#include "piemu/guest_abi.h"

	.syntax	unified
	.arm

	.section .note.piemu, "a", %note
	.word	6, 4, 1			@ namesz, descsz, type kPiemuNoteKernelModel
	.asciz	"piemu"
	.balign	4
	.word	PIEMU_KM_ABI_VERSION

/* int printk(const char *fmt, ...): the format in r0, the first three words in r1-r3,
 * and in r4 the address of the rest (the caller's stacked arguments, AAPCS). */
	.text
	.globl	printk
	.type	printk, %function
printk:
	push	{r4, r5, r7, lr}
	add	r4, sp, #16
	mov	r7, #__NR_printk
	svc	#0
	pop	{r4, r5, r7, pc}
	.size	printk, . - printk
