//! The real chat templates of the supported families (tests/fixtures/chat_templates)
//! rendered by saar, against strings rendered by HF transformers 5.23
//! (`render_jinja_template` with `add_generation_prompt=True, enable_thinking=False`).

use saar::prompt::{ChatOptions, ChatTemplate, Message, SpecialTokens};

fn template(name: &str, bos: Option<&str>, eos: &str) -> ChatTemplate {
    let path = format!(
        "{}/tests/fixtures/chat_templates/{name}.jinja",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).expect("chat template fixture");
    let special = SpecialTokens {
        bos: bos.map(String::from),
        eos: Some(eos.into()),
        ..SpecialTokens::default()
    };
    ChatTemplate::new(source, path, special).expect("real templates compile")
}

fn pinned_date() -> ChatOptions {
    let mut options = ChatOptions::default();
    options
        .extra
        .insert("date_string".into(), "26 Jul 2024".into());
    options
}

fn conversation() -> Vec<Message> {
    vec![
        Message::system("नियम।"),
        Message::user(" समाचार:\nनगर निगम। "),
    ]
}

#[test]
fn real_templates_render_like_transformers() {
    let cases = [
        ("qwen2", None, "<|im_end|>", "<|im_start|>system\nनियम।<|im_end|>\n<|im_start|>user\n समाचार:\nनगर निगम। <|im_end|>\n<|im_start|>assistant\n"),
        ("qwen3", None, "<|im_end|>", "<|im_start|>system\nनियम।<|im_end|>\n<|im_start|>user\n समाचार:\nनगर निगम। <|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"),
        ("llama", Some("<|begin_of_text|>"), "<|eot_id|>", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nनियम।<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nसमाचार:\nनगर निगम।<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
        ("gemma3", Some("<bos>"), "<eos>", "<bos><start_of_turn>user\nनियम।\n\nसमाचार:\nनगर निगम।<end_of_turn>\n<start_of_turn>model\n"),
    ];
    for (name, bos, eos, expected) in cases {
        let rendered = template(name, bos, eos)
            .render_with(&conversation(), &pinned_date())
            .unwrap();
        assert_eq!(rendered, expected, "{name}");
    }
}

#[test]
fn real_templates_without_a_system_message() {
    let user = [Message::user(" समाचार:\nनगर निगम। ")];
    let qwen2 = template("qwen2", None, "<|im_end|>").render(&user).unwrap();
    assert_eq!(qwen2, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n समाचार:\nनगर निगम। <|im_end|>\n<|im_start|>assistant\n");
    let qwen3 = template("qwen3", None, "<|im_end|>").render(&user).unwrap();
    assert_eq!(qwen3, "<|im_start|>user\n समाचार:\nनगर निगम। <|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    let gemma = template("gemma3", Some("<bos>"), "<eos>")
        .render(&user)
        .unwrap();
    assert_eq!(
        gemma,
        "<bos><start_of_turn>user\nसमाचार:\nनगर निगम।<end_of_turn>\n<start_of_turn>model\n"
    );
}

#[test]
fn llama_dates_its_system_header_with_strftime_now() {
    let rendered = template("llama", Some("<|begin_of_text|>"), "<|eot_id|>")
        .render(&conversation())
        .unwrap();
    let date = regex::Regex::new(
        r"\nToday Date: \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d{2}\n\n",
    )
    .unwrap();
    assert!(date.is_match(&rendered), "{rendered}");
}

#[test]
fn gemma_refuses_turns_that_do_not_alternate() {
    let turns = [Message::user("a"), Message::user("b")];
    let err = template("gemma3", Some("<bos>"), "<eos>")
        .render(&turns)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("alternate") && err.contains("gemma3.jinja"),
        "{err}"
    );
}
