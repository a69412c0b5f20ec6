# plugins/evaluators/plugin.mk — the lm-eval importer reads gzip-compressed samples files
# (samples_<task>_<date>.jsonl.gz) through zlib (Debian zlib1g-dev, in DEPS_BUILD).
PLUGIN_LIBS_evaluators := -lz
