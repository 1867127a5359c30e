# A write watchpoint on the handler's counter, a monitor command, then the run to
# its end without breakpoints.
watch g_irqs
continue
print g_irqs
monitor help
delete
continue
