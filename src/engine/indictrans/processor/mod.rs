//! IndicTrans2's pre- and post-processing, as AI4Bharat's `IndicProcessor`
//! (`indictranstoolkit`) runs it around the model: the model was trained on text
//! that went through it, and numbers, URLs, e-mail addresses and handles survive
//! translation only because it swaps them for placeholders (`<ID1>`) and puts them
//! back afterwards. Parity with the reference is checked on the strings in
//! `tests/fixtures/indictrans/processor.json`, quirks included: the model expects
//! what the reference gives, not what it meant to give.
//!
//! Before the model: punctuation normalization ([`punct`]), Indic digits to ASCII,
//! placeholders ([`placeholders`]), then for an Indic source the Devanagari-style
//! normalizer and the punctuation tokenizer ([`indic`]). After the model: the
//! placeholders restored (with the forms models mangle them into), then Moses-style
//! detokenization for English ([`moses`]) or the Indic detokenizer.
//!
//! An English source (the en→indic models) gets the same normalization and
//! placeholders but a plain punctuation tokenizer instead of Moses's, which has
//! per-language non-breaking prefix lists; see [`preprocess`].

mod indic;
mod moses;
mod placeholders;
mod punct;

pub use placeholders::Entities;

/// A source sentence as the model should see it (language tags not included), and
/// the entities its placeholders stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preprocessed {
    pub text: String,
    pub entities: Entities,
}

/// Prepares `sentence` (in `source_lang`, a FLORES-200 tag) for the model, as the
/// reference's `preprocess_batch` does, without the two language tags in front.
pub fn preprocess(sentence: &str, source_lang: &str) -> Preprocessed {
    let text = punct::normalize(sentence);
    let text = punct::ascii_digits(&text);
    let (text, entities) = placeholders::wrap(&text);
    let text = if is_english(source_lang) {
        indic::tokenize(text.trim())
    } else {
        indic::tokenize(&indic::normalize(text.trim())).replace(" ् ", "्")
    };
    Preprocessed {
        text: text.trim().to_string(),
        entities,
    }
}

/// Turns the model's output for one sentence into text in `target_lang`: the
/// placeholders back to their entities, then detokenized, as the reference's
/// `postprocess_batch` does.
pub fn postprocess(output: &str, target_lang: &str, entities: &Entities) -> String {
    let restored = placeholders::restore(output, entities);
    if target_lang == "eng_Latn" {
        moses::detokenize_english(&restored)
    } else {
        indic::detokenize(&restored)
    }
}

/// The reference takes the English path for every language its table maps to
/// English (`eng_Latn`, and the Latin-script `kha_Latn` and `lus_Latn`).
fn is_english(lang: &str) -> bool {
    matches!(lang, "eng_Latn" | "kha_Latn" | "lus_Latn")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_survive_a_round_trip_through_an_echoing_model() {
        let pre = preprocess(
            "रिपोर्ट https://example.org/a-b?id=7 पर 2024-25 में।",
            "hin_Deva",
        );
        assert_eq!(pre.entities.len(), 2, "{pre:?}");
        let echoed = pre.text.replace("< ID", "<ID").replace(" >", ">");
        let back = postprocess(&echoed, "eng_Latn", &pre.entities);
        assert!(back.contains("https://example.org/a-b?id=7"), "{back}");
        assert!(back.contains("2024-25"), "{back}");
    }
}
