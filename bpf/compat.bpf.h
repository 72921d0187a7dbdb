/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version shims shared by every iotrace BPF object.
 *
 * Objects named X_legacy.bpf.c, and the legacy flavour of the block tools,
 * are compiled with -DIOTRACE_LEGACY by build.rs: they must load on 4.14
 * (and are what --strategy legacy uses everywhere).
 * The macros below are what differs between the two kinds.
 */
#ifndef IOTRACE_COMPAT_BPF_H
#define IOTRACE_COMPAT_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <stdbool.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;

#ifdef IOTRACE_LEGACY
/*
 * Global data (.rodata/.bss maps referenced by BPF_PSEUDO_MAP_VALUE) arrived in
 * 5.2 (d8eca5bbb2be "bpf: implement lookup-free direct value access for maps"):
 * the configuration lives in a one-slot array instead, filled after load.
 */
#define DECLARE_CONFIG(cfg_type)                                                   \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY);                              \
		__uint(max_entries, 1);                                        \
		__type(key, u32);                                              \
		__type(value, cfg_type);                                           \
	} config_map SEC(".maps");                                             \
	static __always_inline const volatile cfg_type *get_config(void)          \
	{                                                                      \
		u32 zero = 0;                                                  \
		return bpf_map_lookup_elem(&config_map, &zero);                \
	}
/* bpf_probe_read_{kernel,user} arrived in 5.5 (6ae08ae3dea2); before it one
 * helper served both address spaces on x86. */
#define probe_read_kernel bpf_probe_read
#define probe_read_user bpf_probe_read
#define probe_read_user_str bpf_probe_read_str
/* BPF-to-BPF calls arrived in 4.16 (cc8b0b92a169 "bpf: introduce function
 * calls"): before it everything is inlined. */
#define SUBPROG static __always_inline
#define GLOBAL_FN static __always_inline
#else
/* The user-space loader writes the section before load (src/bpf.rs:
 * Object::configure), so the verifier sees constants and prunes dead filters. */
#define DECLARE_CONFIG(cfg_type)                                                   \
	const volatile cfg_type config SEC(".rodata.cfg");                        \
	/* volatile kept: else clang folds the all-zero initializer */        \
	static __always_inline const volatile cfg_type *get_config(void)          \
	{                                                                      \
		return &config;                                                \
	}
#define probe_read_kernel bpf_probe_read_kernel
#define probe_read_user bpf_probe_read_user
#define probe_read_user_str bpf_probe_read_user_str
/* A real call: verified once per call site instead of inlined everywhere. */
#define SUBPROG static __noinline
/* A global function: verified once, on its own, whatever its callers (5.6+,
 * 51c39bb1d5d1 "bpf: Introduce function-by-function verification"). Its
 * arguments must be scalars: pointers to memory are 5.12+ (e5069b9c23b3). */
#define GLOBAL_FN __noinline
/* Open-coded number iterators (6.4, 06accc8779c1 "bpf: add support for
 * open-coded iterator loops"): the verifier checks a loop body until its
 * states converge, not once per iteration as for a bounded loop. No
 * callback, unlike bpf_loop, whose callbacks kernels before 5.13 cannot load
 * even as dead code. Declared here in a flavour (libbpf matches kernel names
 * up to the ___ suffix): the uapi headers iotrace is built with may predate
 * the struct, and libbpf does not resolve a kfunc whose argument is only a
 * forward declaration. Asked of the kernel's BTF by CO-RE, which the
 * verifier sees as a constant; it does not prune a branch on
 * bpf_ksym_exists() of a kfunc, an address. */
struct bpf_iter_num___iotrace {
	u64 __opaque[1];
} __attribute__((aligned(8)));
extern int bpf_iter_num_new___iotrace(struct bpf_iter_num___iotrace *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next___iotrace(struct bpf_iter_num___iotrace *it) __weak __ksym;
extern void bpf_iter_num_destroy___iotrace(struct bpf_iter_num___iotrace *it) __weak __ksym;
#define HAVE_NUM_ITER bpf_core_type_exists(struct bpf_iter_num___iotrace)
#define num_iter bpf_iter_num___iotrace
#define num_iter_new bpf_iter_num_new___iotrace
#define num_iter_next bpf_iter_num_next___iotrace
#define num_iter_destroy bpf_iter_num_destroy___iotrace
#endif

#endif /* IOTRACE_COMPAT_BPF_H */
