# tests/fuzz/fuzz_trainer_log.mk — the exec trainer's log reader is plugin-internal: compile it in.
FUZZ_SRCS_trainer_log := plugins/exectrain/loss.c plugins/exectrain/output.c
