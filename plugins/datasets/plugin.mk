# plugins/datasets/plugin.mk — PNG through libpng and JPEG through libjpeg-turbo (both fuzzed
# upstream; Debian's stb_image snapshot writes out of bounds on crafted JPEGs); stb_image
# (-lstb, in LDLIBS_BASE) only for GIF/BMP/TGA, after header checks.
PLUGIN_LIBS_datasets := $(shell pkg-config --libs libpng libjpeg 2>/dev/null || echo -lpng16 -ljpeg)
