# The datasets plugin's image decoding (header checks, libpng, libjpeg-turbo, stb), compiled
# into its harness with the libraries the plugin's plugin.mk names.
FUZZ_SRCS_image := $(wildcard plugins/datasets/image_*.c)
FUZZ_LIBS_image = $(PLUGIN_LIBS_datasets)
