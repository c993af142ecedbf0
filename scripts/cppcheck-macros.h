/* Definitions cppcheck needs for libbpf's macros (make lint passes this with --include). */
#define LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = { __VA_ARGS__ }
#define bpf_object__for_each_program(pos, obj) for ((pos) = NULL; (pos);)
