# The datasets plugin's sources (and the image libraries its plugin.mk names), compiled into
# its harness: the loaders' internals are hidden in the .so.
FUZZ_SRCS_datasets := $(wildcard plugins/datasets/*.c)
FUZZ_LIBS_datasets = $(PLUGIN_LIBS_datasets)
