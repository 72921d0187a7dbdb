/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by probe.bpf.c and src/probe.rs (through bindgen). */
#ifndef IOTRACE_PROBE_H
#define IOTRACE_PROBE_H

/* Slots of the `hits` array: one per attach kind that doctor really attaches. */
enum probe_slot {
	PROBE_TRACEPOINT,
	PROBE_RAW_TP,
	PROBE_TP_BTF,
	PROBE_FENTRY,
	PROBE_KPROBE,
	PROBE_NR_SLOTS,
};

#endif
