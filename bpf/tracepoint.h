/* SPDX-License-Identifier: GPL-2.0 */
/* Perf-event tracepoint records, as the legacy objects read them (bindgen). */
#ifndef IOTRACE_TRACEPOINT_H
#define IOTRACE_TRACEPOINT_H

#include <linux/types.h>

/* Where one field of a tracepoint record is, from its tracefs format file
 * (src/tracefs.rs: Tracefs::tp_field): without BTF nothing else knows the
 * records' layout, which changes between kernels. */
struct tp_field {
	__u16 offset;
	__u16 size; /* 0: the field is absent on this kernel */
};

#endif
