/*
 * dwc_otg's FIQ stub, modelled on Raspbian 4.14's
 * drivers/usb/host/dwc_otg/dwc_otg_fiq_stub.S (written for piemu; the register roles
 * and the sequence are the driver's). The driver's hcd_init_fiq() copies it to the FIQ
 * vector at 0xffff001c with set_fiq_handler(), so it must be position independent,
 * and loads the FIQ mode's banked registers with set_fiq_regs():
 *   r8 = struct fiq_state *, r9 = the number of host channels,
 *   fp = the C FIQ function (dwc_otg_fiq_fsm), sp = the top of the FIQ stack.
 * It saves r0-r12 and lr on the FIQ stack, calls fn(state, num_channels) and returns
 * to the interrupted code (subs pc, lr, #4 restores its CPSR from SPSR_fiq).
 *
 * The section follows the gates (kernel.ld), so that adding it moved no earlier code.
 */
	.syntax	unified
	.arm

	.section .text.fiq, "ax"
	.align	2
	.globl	_dwc_otg_fiq_stub
	.type	_dwc_otg_fiq_stub, %function
_dwc_otg_fiq_stub:
	mov	ip, sp			@ sp_fiq, set up by set_fiq_regs()
	stmdb	sp!, {r0-r12, lr}	@ stash the unbanked registers (and r8-r12, lr_fiq)
	mov	r4, fp			@ r11 = fp = the C function
	sub	fp, ip, #512		@ an EABI frame below the saved registers
	mov	r0, r8			@ struct fiq_state *
	mov	r1, r9			@ num_channels
	blx	r4
	ldmia	sp!, {r0-r12, lr}
	subs	pc, lr, #4
	.globl	_dwc_otg_fiq_stub_end
_dwc_otg_fiq_stub_end:
	.size	_dwc_otg_fiq_stub, . - _dwc_otg_fiq_stub
