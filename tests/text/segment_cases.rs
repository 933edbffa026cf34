//! Sentence segmentation: every rule of `split_sentences` on passages written for the project.

use saar::text::{split_sentences, Boundary, Script};

use crate::support::{assert_tiles, sentences_of};

#[test]
fn hindi_ends_at_danda_question_and_exclamation() {
    assert_eq!(
        sentences_of("क्या बैठक आज होगी? हाँ! सभी सदस्य पहुँच चुके हैं। अध्यक्ष ने स्वागत किया॥ आगे चर्चा होगी।"),
        [
            "क्या बैठक आज होगी?",
            "हाँ!",
            "सभी सदस्य पहुँच चुके हैं।",
            "अध्यक्ष ने स्वागत किया॥",
            "आगे चर्चा होगी।"
        ]
    );
}

#[test]
fn danda_splits_even_without_a_following_space() {
    assert_eq!(
        sentences_of("बैठक खत्म हुई।अब फैसला होगा।"),
        ["बैठक खत्म हुई।", "अब फैसला होगा।"]
    );
}

#[test]
fn hindi_sentences_ending_in_a_period_are_split() {
    assert_eq!(
        sentences_of("सरकार ने नई नीति जारी की. इससे किसानों को लाभ होगा. विपक्ष ने सवाल उठाए।"),
        [
            "सरकार ने नई नीति जारी की.",
            "इससे किसानों को लाभ होगा.",
            "विपक्ष ने सवाल उठाए।"
        ]
    );
}

#[test]
fn closing_quotes_stay_with_their_sentence() {
    assert_eq!(
        sentences_of("मंत्री ने कहा, “काम जारी रहेगा।” विपक्ष ने कहा, \"हम तैयार हैं।\" बैठक शुरू हुई।"),
        [
            "मंत्री ने कहा, “काम जारी रहेगा।”",
            "विपक्ष ने कहा, \"हम तैयार हैं।\"",
            "बैठक शुरू हुई।"
        ]
    );
    assert_eq!(
        sentences_of("“Stop!” he shouted. Then he left."),
        ["“Stop!” he shouted.", "Then he left."]
    );
}

#[test]
fn abbreviations_and_initials_do_not_end_sentences() {
    assert_eq!(
        sentences_of("डॉ. मीना वर्मा ने जांच की। Mr. Rao and Dr. Sen met U.S. officials. एस. के. गुप्ता ने बयान दिया।"),
        ["डॉ. मीना वर्मा ने जांच की।", "Mr. Rao and Dr. Sen met U.S. officials.", "एस. के. गुप्ता ने बयान दिया।"]
    );
    assert_eq!(
        sentences_of("ए. पी. जे. अब्दुल कलाम को याद किया गया।"),
        ["ए. पी. जे. अब्दुल कलाम को याद किया गया।"]
    );
    assert_eq!(
        sentences_of("Donald J. Trump spoke. J. K. Das agreed."),
        ["Donald J. Trump spoke.", "J. K. Das agreed."]
    );
    assert_eq!(
        sentences_of("See page No. 5 of the report."),
        ["See page No. 5 of the report."]
    );
}

#[test]
fn letter_names_that_are_also_words_are_initials_next_to_other_initials() {
    assert_eq!(
        sentences_of("आई. के. गुजराल ने कहा। जी. एस. राव आए।"),
        ["आई. के. गुजराल ने कहा।", "जी. एस. राव आए।"]
    );
}

#[test]
fn a_hindi_word_that_is_also_a_letter_name_still_ends_a_sentence() {
    assert_eq!(
        sentences_of("वह कल घर आई. फिर सब खुश हुए."),
        ["वह कल घर आई.", "फिर सब खुश हुए."]
    );
}

#[test]
fn decimals_fractions_and_times_are_not_split() {
    assert_eq!(
        sentences_of("दर 2.5 प्रतिशत रही। महंगाई २.५ प्रतिशत रही. कीमत 2 1/2 गुना बढ़ी. बैठक 10.30 बजे और मतदान १०.४५ बजे हुआ."),
        [
            "दर 2.5 प्रतिशत रही।",
            "महंगाई २.५ प्रतिशत रही.",
            "कीमत 2 1/2 गुना बढ़ी.",
            "बैठक 10.30 बजे और मतदान १०.४५ बजे हुआ.",
        ]
    );
}

#[test]
fn a_year_at_the_end_of_a_sentence_still_ends_it() {
    assert_eq!(
        sentences_of("चुनाव 2029. अगला चरण २०३०. तब तक इंतजार।"),
        ["चुनाव 2029.", "अगला चरण २०३०.", "तब तक इंतजार।"]
    );
}

#[test]
fn urls_emails_and_handles_are_not_split() {
    assert_eq!(
        sentences_of("पूरी जानकारी https://example.org/news/a.b?id=1&x=2 पर है. आवेदन www.example.gov.in पर करें। शिकायत info@example.org पर भेजें. यह जानकारी @ANI_news ने दी. आगे जांच जारी है।"),
        [
            "पूरी जानकारी https://example.org/news/a.b?id=1&x=2 पर है.",
            "आवेदन www.example.gov.in पर करें।",
            "शिकायत info@example.org पर भेजें.",
            "यह जानकारी @ANI_news ने दी.",
            "आगे जांच जारी है।",
        ]
    );
    assert_eq!(
        sentences_of("Visit example.com. Then reply."),
        ["Visit example.com.", "Then reply."]
    );
}

#[test]
fn tweet_footers_stay_whole() {
    let text = "Source: City Office/ YouTube pic.twitter.com/AbC1x2Yz\n— City News (@citynews_in) March 3, 2024\n";
    assert_eq!(
        sentences_of(text),
        [
            "Source: City Office/ YouTube pic.twitter.com/AbC1x2Yz",
            "— City News (@citynews_in) March 3, 2024"
        ]
    );
}

#[test]
fn ellipses_end_a_sentence_only_before_a_new_one() {
    assert_eq!(
        sentences_of("He paused… then spoke. Wait... The results came."),
        ["He paused… then spoke.", "Wait...", "The results came."]
    );
    assert_eq!(
        sentences_of("“… we will see,” the minister said."),
        ["“… we will see,” the minister said."]
    );
    assert_eq!(
        sentences_of("वह रुका... फिर बोला।"),
        ["वह रुका...", "फिर बोला।"]
    );
}

#[test]
fn a_lowercase_word_after_a_period_continues_the_sentence() {
    assert_eq!(
        sentences_of("Prices rose 5 pc. in March. Then they fell."),
        ["Prices rose 5 pc. in March.", "Then they fell."]
    );
}

#[test]
fn line_breaks_end_sentences_and_blank_lines_end_paragraphs() {
    let text = "शीर्षक बिना विराम\nपहला वाक्य। दूसरा वाक्य।\n\nनया अनुच्छेद।\n";
    let sentences = split_sentences(text);
    assert_tiles(text, &sentences);
    let boundaries: Vec<Boundary> = sentences.iter().map(|s| s.boundary).collect();
    assert_eq!(
        boundaries,
        [
            Boundary::LineBreak,
            Boundary::Inline,
            Boundary::Paragraph,
            Boundary::EndOfText
        ]
    );
    assert!(sentences[2].boundary.ends_paragraph() && !sentences[1].boundary.ends_paragraph());
}

#[test]
fn each_sentence_carries_its_trailing_whitespace_and_leading_space_goes_first() {
    let text = "\n  पहला वाक्य।   दूसरा।\n\n";
    let sentences = split_sentences(text);
    assert_tiles(text, &sentences);
    assert_eq!(sentences[0].text(text), "\n  पहला वाक्य।   ");
    assert_eq!(sentences[1].text(text), "दूसरा।\n\n");
}

#[test]
fn list_numbers_and_stray_dandas_do_not_make_sentences_of_their_own() {
    assert_eq!(
        sentences_of("1. पहला बिंदु। 2. दूसरा बिंदु।"),
        ["1. पहला बिंदु।", "2. दूसरा बिंदु।"]
    );
    assert_eq!(
        sentences_of("। बैठक आज होगी। फिर चर्चा।"),
        ["। बैठक आज होगी।", "फिर चर्चा।"]
    );
}

#[test]
fn sentences_are_tagged_with_their_script() {
    let text = "नई योजना शुरू हुई। The plan starts today. मोदी ने G20 पर बात की।\n2025\nПривет.";
    let scripts: Vec<Script> = split_sentences(text).iter().map(|s| s.script).collect();
    assert_eq!(
        scripts,
        [
            Script::Devanagari,
            Script::Latin,
            Script::Mixed,
            Script::NoLetters,
            Script::Other
        ]
    );
}

#[test]
fn boundaries_never_fall_inside_a_grapheme_cluster() {
    // A vowel sign after a space or a danda joins the preceding cluster.
    for text in [
        "बात हुई। \u{093E}गे बढ़े।",
        "बात हुई।\u{093C}अब।",
        "ठीक है।\r\nअगला।",
        "Fine. \u{0301}Next one.",
    ] {
        assert_tiles(text, &split_sentences(text));
    }
}

#[test]
fn empty_and_blank_inputs() {
    assert!(split_sentences("").is_empty());
    let blank = split_sentences(" \n\n ");
    assert_eq!(blank.len(), 1);
    assert_eq!(blank[0].script, Script::NoLetters);
}

#[test]
fn an_ascii_pipe_between_devanagari_sentences_is_a_danda() {
    assert_eq!(
        sentences_of("बैठक खत्म हुई | अब फैसला होगा|सब खुश हैं।"),
        ["बैठक खत्म हुई |", "अब फैसला होगा|", "सब खुश हैं।"]
    );
    assert_eq!(
        sentences_of("#WATCH | Delhi: Rain lashes the city | Traffic slows"),
        ["#WATCH | Delhi: Rain lashes the city | Traffic slows"]
    );
    assert_eq!(
        sentences_of("शेयर बाजार | Markets close higher"),
        ["शेयर बाजार | Markets close higher"]
    );
}

#[test]
fn a_quotation_the_sentence_carries_on_after_does_not_end_it() {
    assert_eq!(
        sentences_of("उसने कहा, 'नहीं!' और चले गए। फिर बैठक हुई।"),
        ["उसने कहा, 'नहीं!' और चले गए।", "फिर बैठक हुई।"]
    );
    assert_eq!(
        sentences_of("नेता ने कहा, \"हम लड़ेंगे... और जीतेंगे।\" सभा खत्म हुई।"),
        ["नेता ने कहा, \"हम लड़ेंगे... और जीतेंगे।\"", "सभा खत्म हुई।"]
    );
    // Outside a quotation an ellipsis before a new sentence still ends one.
    assert_eq!(
        sentences_of("वह रुका... फिर चला गया।"),
        ["वह रुका...", "फिर चला गया।"]
    );
}

#[test]
fn e_is_an_initial_before_a_name_and_an_era_after_a_year() {
    assert_eq!(
        sentences_of("ई. श्रीधरन ने मेट्रो का निरीक्षण किया। मेट्रोमैन ई. श्रीधरन खुश थे।"),
        [
            "ई. श्रीधरन ने मेट्रो का निरीक्षण किया।",
            "मेट्रोमैन ई. श्रीधरन खुश थे।"
        ]
    );
    assert_eq!(
        sentences_of("पानीपत का युद्ध 1526 ई. में हुआ। बाबर जीता।"),
        ["पानीपत का युद्ध 1526 ई. में हुआ।", "बाबर जीता।"]
    );
}
