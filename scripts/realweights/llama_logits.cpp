// The full logits libllama computes along a token path, one f32 vector of the
// vocabulary per step, written raw to OUT; each step's argmax is printed on stdout,
// comma-separated. Built and run by compare_logits.py, beside saar's
// `examples/step_logits.rs`, which takes the same arguments.
//
//   llama_logits MODEL OUT PROMPT_IDS FORCED_IDS STEPS FLASH_ATTN(0|1)
//
// PROMPT_IDS are comma-separated ids decoded in one batch; after step i the i-th
// FORCED_IDS id is fed (`-` for none: past their end the argmax is fed). CPU only,
// 2 threads, llama.cpp's default f16 KV cache.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static std::vector<llama_token> parse_ids(const char * list) {
    std::vector<llama_token> ids;
    if (std::strcmp(list, "-") == 0) {
        return ids;
    }
    std::string text(list);
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        ids.push_back(std::atoi(text.substr(start, end - start).c_str()));
        start = end + 1;
    }
    return ids;
}

static void fill(llama_batch_ext * batch, const llama_token * ids, size_t n, llama_pos first) {
    llama_batch_ext_clear(batch);
    for (size_t i = 0; i < n; i++) {
        const int32_t slot = llama_batch_ext_add_token(batch, 0, ids[i]);
        const llama_pos pos = first + (llama_pos) i;
        llama_batch_ext_set_pos(batch, slot, &pos);
    }
    llama_batch_ext_set_output_logits(batch, (int32_t) n - 1, true);
}

int main(int argc, char ** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s MODEL OUT PROMPT_IDS FORCED_IDS STEPS FLASH_ATTN\n", argv[0]);
        return 2;
    }
    const std::vector<llama_token> prompt = parse_ids(argv[3]);
    const std::vector<llama_token> forced = parse_ids(argv[4]);
    const int steps = std::atoi(argv[5]);
    if (prompt.empty() || steps < 1) {
        std::fprintf(stderr, "need prompt ids and at least one step\n");
        return 2;
    }
    llama_backend_init();
    llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], model_params);
    if (model == nullptr) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_context_params ctx_params = llama_context_default_params();
    ctx_params.n_ctx = (uint32_t) (prompt.size() + steps + 8);
    ctx_params.n_batch = (uint32_t) prompt.size();
    ctx_params.n_ubatch = (uint32_t) prompt.size();
    ctx_params.n_threads = 2;
    ctx_params.n_threads_batch = 2;
    ctx_params.flash_attn_type =
        std::atoi(argv[6]) ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context * ctx = llama_init_from_model(model, ctx_params);
    llama_batch_ext * batch = llama_batch_ext_init(ctx);
    FILE * out = std::fopen(argv[2], "wb");
    if (ctx == nullptr || batch == nullptr || out == nullptr) {
        std::fprintf(stderr, "cannot set up the context or open %s\n", argv[2]);
        return 1;
    }
    fill(batch, prompt.data(), prompt.size(), 0);
    llama_pos pos = (llama_pos) prompt.size();
    for (int step = 0; step < steps; step++) {
        if (llama_process(ctx, LLAMA_PROCESS_TYPE_DECODE, batch) != 0) {
            std::fprintf(stderr, "decode failed at step %d\n", step);
            return 1;
        }
        const float * logits = llama_get_logits_ith(ctx, -1);
        std::fwrite(logits, sizeof(float), (size_t) vocab, out);
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        std::printf("%d%c", best, step + 1 < steps ? ',' : '\n');
        const llama_token next = step < (int) forced.size() ? forced[step] : best;
        fill(batch, &next, 1, pos++);
    }
    std::fclose(out);
    llama_batch_ext_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
