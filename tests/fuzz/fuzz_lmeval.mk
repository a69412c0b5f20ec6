# The lm-eval importer's parsing core, compiled into its harness (the plugin hides it in the
# .so); it needs no zlib: files are read by lmeval_files.c, which the harness bypasses.
FUZZ_SRCS_lmeval := plugins/evaluators/lmeval_import.c
