/* plugins/models/defaults.h — the default config.json of each architecture, as string
 * literals so the component tables can point at them. */
#ifndef MV_MODELS_DEFAULTS_H
#define MV_MODELS_DEFAULTS_H
#define MDL_LLAMA_DEFAULTS \
    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", " \
    "\"hidden_size\": 128, \"num_hidden_layers\": 4, \"num_attention_heads\": 4, " \
    "\"num_key_value_heads\": 2, \"intermediate_size\": 344, \"vocab_size\": 258, " \
    "\"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, " \
    "\"tie_word_embeddings\": false, \"bos_token_id\": 256, \"eos_token_id\": 257, " \
    "\"torch_dtype\": \"float32\"}"

#define MDL_TINYVLM_DEFAULTS \
    "{\"architectures\": [\"TinyVLM\"], \"model_type\": \"minicpmv\", " \
    "\"hidden_size\": 128, \"num_hidden_layers\": 4, \"num_attention_heads\": 4, " \
    "\"num_key_value_heads\": 2, \"intermediate_size\": 344, \"vocab_size\": 258, " \
    "\"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, " \
    "\"tie_word_embeddings\": false, \"bos_token_id\": 256, \"eos_token_id\": 257, " \
    "\"query_num\": 8, \"resampler_num_heads\": 4, \"image_size\": 32, \"patch_size\": 8, " \
    "\"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.5, 0.5, 0.5], " \
    "\"vision_config\": {\"model_type\": \"siglip_vision_model\", \"hidden_size\": 96, " \
    "\"intermediate_size\": 384, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, " \
    "\"image_size\": 32, \"patch_size\": 8, \"layer_norm_eps\": 1e-06}, " \
    "\"torch_dtype\": \"float32\"}"

#endif
