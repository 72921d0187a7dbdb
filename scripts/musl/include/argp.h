/*
 * Declarations-only stand-in for <argp.h>, which musl does not have.
 * libbpf-sys builds elfutils' libeu.a along with libelf.a, and two of its
 * files (lib/color.c, lib/printversion.c) include argp.h. Only elfutils' own
 * tools use libeu.a: nothing from argp is ever linked into iotrace, and the
 * link would fail if it were. (elfutils' configure checks for argp, fts and
 * obstack too: .cargo/config.toml answers those from autoconf's cache.)
 */
#ifndef IOTRACE_ARGP_STUB_H
#define IOTRACE_ARGP_STUB_H
#include <stdio.h>
#include <errno.h>
typedef int error_t;
struct argp_state;
typedef error_t (*argp_parser_t)(int key, char *arg, struct argp_state *state);
struct argp_option { const char *name; int key; const char *arg; int flags; const char *doc; int group; };
struct argp_child;
struct argp {
  const struct argp_option *options; argp_parser_t parser; const char *args_doc; const char *doc;
  const struct argp_child *children; char *(*help_filter)(int, const char *, void *); const char *argp_domain;
};
struct argp_child { const struct argp *argp; int flags; const char *header; int group; };
struct argp_state {
  const struct argp *root_argp; int argc; char **argv; int next; unsigned flags; unsigned arg_num;
  int quoted; void *input; void **child_inputs; void *hook; char *name; FILE *err_stream; FILE *out_stream; void *pstate;
};
#define OPTION_ARG_OPTIONAL 0x1
#define OPTION_HIDDEN 0x2
#define ARGP_ERR_UNKNOWN E2BIG
#define ARGP_KEY_ARG 0
#define ARGP_KEY_END 0x1000001
#define ARGP_KEY_NO_ARGS 0x1000002
#define ARGP_KEY_INIT 0x1000003
#define ARGP_KEY_SUCCESS 0x1000004
#define ARGP_KEY_ERROR 0x1000005
#define ARGP_HELP_SEE 0x10
extern void argp_help(const struct argp *, FILE *, unsigned, char *);
extern void argp_error(const struct argp_state *, const char *, ...);
extern error_t argp_parse(const struct argp *, int, char **, unsigned, int *, void *);
#endif
