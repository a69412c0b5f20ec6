# The safetensors plugin's sources, compiled into its harness (they are hidden in the .so).
FUZZ_SRCS_safetensors := $(wildcard plugins/safetensors/*.c)
