//! The number check, one rule at a time: each rule is shown flagging an invented number
//! and accepting the same number when the Hindi source supports it. Plus robustness:
//! no input makes it panic, and every finding points at its own text.

use proptest::prelude::*;
use saar::score::{check_numbers, FindingKind, SourceQuantities};

fn flagged(source: &str, output: &str) -> Vec<String> {
    check_numbers(source, output)
        .into_iter()
        .map(|f| f.text)
        .collect()
}

#[track_caller]
fn traced(source: &str, output: &str) {
    let findings = check_numbers(source, output);
    assert!(
        findings.is_empty(),
        "{output:?} from {source:?} should be traced, got {findings:?}"
    );
}

#[track_caller]
fn flags(source: &str, output: &str, expected: &[&str]) {
    assert_eq!(
        flagged(source, output),
        expected,
        "findings for {output:?} from {source:?}"
    );
}

#[test]
fn devanagari_digits_are_read() {
    let source = "अगले साल ५०० बिस्तरों वाला अस्पताल खुलेगा।";
    traced(source, "A 500-bed hospital will open next year.");
    flags(source, "A 600-bed hospital will open next year.", &["600"]);
}

#[test]
fn indian_and_western_grouping_are_the_same_number() {
    let source = "इस वर्ष लगभग १,००,००० छात्रों ने परीक्षा दी।";
    for output in [
        "About 100,000 students",
        "About 1,00,000 students",
        "About 1 lakh students",
        "About 0.1 million students",
    ] {
        traced(source, output);
    }
    flags(source, "About 10,000 students took the exam.", &["10,000"]);
    traced("कुल 100,000 वोट पड़े।", "A total of one lakh votes were cast.");
}

#[test]
fn decimals_are_compared_at_the_written_precision() {
    let source = "विकास दर 7.2 प्रतिशत रही।";
    traced(source, "Growth was 7.2 per cent.");
    traced(source, "Growth was about 7%.");
    flags(source, "Growth was 7.5 per cent.", &["7.5"]);
    flags(
        "विकास दर 7 प्रतिशत रही।",
        "Growth was 7.2 per cent.",
        &["7.2"],
    );
}

#[test]
fn hindi_number_words_including_compounds() {
    traced(
        "समिति दो सप्ताह में रिपोर्ट देगी।",
        "The committee will report in two weeks.",
    );
    traced(
        "समिति दो सप्ताह में रिपोर्ट देगी।",
        "The committee will report in 2 weeks.",
    );
    flags(
        "समिति दो सप्ताह में रिपोर्ट देगी।",
        "The committee will report in three weeks.",
        &["three"],
    );
    traced("पच्चीस लोग घायल हुए।", "Twenty-five people were injured.");
    traced("पच्चीस लोग घायल हुए।", "25 people were injured.");
    flags(
        "पच्चीस लोग घायल हुए।",
        "Twenty-six people were injured.",
        &["Twenty-six"],
    );
    traced(
        "दो हजार पांच सौ पचास पेड़ लगाए गए।",
        "2,550 trees were planted.",
    );
}

#[test]
fn half_one_and_a_half_two_and_a_half_and_modifiers() {
    let source = "कोहरे के कारण ट्रेन ढाई घंटे देरी से पहुंची।";
    for output in [
        "2.5 hours late",
        "two and a half hours late",
        "2 1/2 hours late",
        "2½ hours late",
    ] {
        traced(source, output);
    }
    flags(source, "The train was 3.5 hours late.", &["3.5"]);
    traced("डेढ़ लाख लोग", "150,000 people");
    traced("डेढ़ लाख लोग", "1.5 lakh people");
    flags("डेढ़ लाख लोग", "1.5 million people", &["1.5 million"]);
    traced("साढ़े तीन हजार रुपये", "Rs 3,500");
    traced("सवा सौ साल पुराना", "125 years old");
    traced("पौने दो घंटे", "1.75 hours");
    traced("आधा किलो", "0.5 kg");
}

#[test]
fn hajar_is_thousand() {
    let source = "पुलिस ने बताया कि रैली में 58 हजार लोग शामिल हुए।";
    for output in [
        "58,000 people attended",
        "58 thousand people attended",
        "58000 people attended",
        "fifty-eight thousand people",
    ] {
        traced(source, output);
    }
    traced("रैली में 58 हज़ार लोग", "58,000 people");
    flags(source, "Police said 85,000 people attended.", &["85,000"]);
    flags(source, "Police said 58 lakh people attended.", &["58 lakh"]);
}

#[test]
fn lakh_converts_to_thousands_and_millions() {
    let source = "सरकार ने 2 लाख रुपये की सहायता दी।";
    for output in [
        "aid of Rs 200,000",
        "aid of 0.2 million rupees",
        "aid of Rs 2 lakh",
        "aid of ₹2,00,000",
    ] {
        traced(source, output);
    }
    flags(source, "aid of Rs 2 million", &["2 million"]);
    flags(source, "aid of Rs 20 lakh", &["20 lakh"]);
    traced("2 लाख 50 हजार", "250,000");
    traced("दो लाख पचास हजार", "2.5 lakh");
}

#[test]
fn crore_and_arab_convert_to_millions_and_billions() {
    let source = "परियोजना पर 5 करोड़ रुपये खर्च होंगे।";
    for output in ["Rs 50 million", "Rs 5 crore", "Rs 50,000,000", "Rs 5 cr"] {
        traced(source, output);
    }
    flags(
        source,
        "The project will cost Rs 5 million.",
        &["5 million"],
    );
    flags(
        source,
        "The project will cost Rs 500 million.",
        &["500 million"],
    );
    traced("10 अरब डॉलर", "$10 billion");
    traced("10 अरब डॉलर", "1,000 crore dollars");
    traced(
        "बजट 2.5 लाख करोड़ रुपये का है।",
        "The budget is Rs 2.5 lakh crore.",
    );
    traced(
        "बजट 2.5 लाख करोड़ रुपये का है।",
        "The budget is Rs 2.5 trillion.",
    );
    flags(
        "बजट 2.5 लाख करोड़ रुपये का है।",
        "The budget is Rs 2.5 billion.",
        &["2.5 billion"],
    );
    traced("करीब 2.47 लाख लोग", "about 2.5 lakh people");
    traced("1,200 करोड़ रुपये की परियोजना", "a Rs 1,200-crore project");
    flags(
        "1,200 करोड़ रुपये की परियोजना",
        "a Rs 1,300-crore project",
        &["1,300-crore"],
    );
}

#[test]
fn dates_in_either_order() {
    let source = "गर्मी के कारण स्कूल 15 अगस्त तक बंद रहेंगे।";
    for output in [
        "until August 15",
        "until 15th August",
        "until 15 August",
        "until Aug. 15",
        "until the 15th of August",
        "until the 15th",
    ] {
        traced(source, output);
    }
    flags(
        source,
        "Schools will stay shut until August 16.",
        &["August 16"],
    );
    flags(
        source,
        "Schools will stay shut until September 15.",
        &["September 15"],
    );
    traced("१५ अगस्त को", "on August 15");
    traced("15/08/2024 को", "on 15 August 2024");
    // The month and the day both appear, but not as one date.
    flags(
        "अगस्त में 2 लोग आए और 15 लौटे।",
        "They came on August 2.",
        &["August 2"],
    );
    traced("15-16 अगस्त को", "on August 15 and 16");
    traced("10 से 12 अगस्त तक", "from 10 to 12 August");
    flags("15-16 अगस्त को", "on August 14", &["August 14"]);
}

#[test]
fn numeric_dates_in_the_source_are_dates_in_words_in_the_output() {
    for source in [
        "बैठक 2025-03-11 को हुई।",
        "बैठक 11-03-2025 को हुई।",
        "बैठक ११-०३-२०२५ को हुई।",
    ] {
        for output in [
            "The meeting was held on March 11, 2025.",
            "The meeting was held on 11 March 2025.",
            "The meeting was held on 11th March.",
        ] {
            traced(source, output);
        }
        flags(source, "It was held on March 12.", &["March 12"]);
        flags(source, "It was held on November 3.", &["November 3"]);
    }
    // A range of years stays a range, not a date.
    traced("2019-2020 में", "in 2019 and 2020");
}

#[test]
fn years_months_weekdays_and_fiscal_years() {
    traced("वर्ष 2023 में", "in 2023");
    flags("वर्ष 2023 में", "in 2024", &["2024"]);
    traced("जनवरी में चुनाव होंगे।", "Elections will be held in January.");
    flags(
        "जनवरी में चुनाव होंगे।",
        "Elections will be held in February.",
        &["February"],
    );
    traced("सोमवार को बैठक हुई।", "The meeting was held on Monday.");
    let findings = check_numbers("सोमवार को बैठक हुई।", "The meeting was held on Tuesday.");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, FindingKind::Weekday { weekday: 2 });
    traced("वर्ष 2023-24 का बजट", "the 2023-24 budget");
    traced("वर्ष 2023-24 का बजट", "the budget for fiscal 2024");
    // "May" is also a verb: alone it is not read as a month.
    traced("कोई तारीख नहीं", "Officials may decide later.");
}

#[test]
fn fractions_and_percentages() {
    let source = "ट्रेन 2 1/2 घंटे देरी से पहुंची।";
    traced(source, "The train was 2.5 hours late.");
    traced(source, "The train was two and a half hours late.");
    flags(source, "The train was 4 hours late.", &["4"]);
    let source = "महिलाओं के लिए 25 प्रतिशत सीटें आरक्षित हैं।";
    for output in [
        "25% of seats",
        "25 per cent of seats",
        "twenty-five percent of seats",
    ] {
        traced(source, output);
    }
    flags(source, "35% of seats are reserved.", &["35"]);
    traced("आधा हिस्सा", "1/2 of the share");
}

#[test]
fn english_number_words_in_the_output() {
    traced(
        "तीन गांवों को जोड़ने वाली सड़क",
        "a road connecting three villages",
    );
    flags(
        "तीन गांवों को जोड़ने वाली सड़क",
        "a road connecting four villages",
        &["four"],
    );
    flags(
        "तीन गांवों को जोड़ने वाली सड़क",
        "a road connecting a dozen villages",
        &["a dozen"],
    );
    traced("12 गांव", "a dozen villages");
    traced("1,20,000 लोग", "one hundred and twenty thousand people");
    flags(
        "कोई भी नहीं",
        "A million people were affected.",
        &["A million"],
    );
}

#[test]
fn one_alone_is_not_flagged_but_one_with_a_scale_is() {
    traced("कोई घायल नहीं हुआ।", "No one was hurt; one of them fled.");
    flags(
        "कोई घायल नहीं हुआ।",
        "One million people were hurt.",
        &["One million"],
    );
    flags("कोई घायल नहीं हुआ।", "1 person was hurt.", &["1"]);
}

#[test]
fn clock_times() {
    let source = "अदालत ने सुनवाई सुबह 10:30 बजे तक स्थगित की।";
    traced(source, "adjourned to 10:30 a.m.");
    traced(source, "adjourned to 10.30 am");
    flags(source, "adjourned to 11:30 a.m.", &["11:30"]);
    traced("साढ़े दस बजे", "at 10:30");
    traced("शाम 7 बजे", "at 19:00");
}

#[test]
fn ranges_share_their_scale() {
    let source = "10 से 15 हजार लोग पहुंचे।";
    traced(source, "Between 10,000 and 15,000 people came.");
    traced(source, "10,000 to 15,000 people came.");
    flags(source, "10,000 to 20,000 people came.", &["20,000"]);
    traced("10-12 लाख", "1 million to 1.2 million");
}

#[test]
fn findings_say_where_and_why() {
    let output = "Police said 85,000 people came on 16 August.";
    let findings = check_numbers("58 हजार लोग 15 अगस्त को आए।", output);
    assert_eq!(findings.len(), 2, "{findings:?}");
    for finding in &findings {
        assert_eq!(&output[finding.span.clone()], finding.text);
        assert!(!finding.reason.is_empty());
    }
    assert_eq!(findings[0].kind, FindingKind::Number { value: 85_000.0 });
    assert_eq!(findings[1].kind, FindingKind::Date { month: 8, day: 16 });
    assert!(
        findings[0].reason.contains("85000"),
        "{}",
        findings[0].reason
    );
    let facts = SourceQuantities::from_source("58 हजार लोग 15 अगस्त को आए।");
    assert_eq!(facts.check(output), findings);
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("58".to_owned()),
        Just("१,००,०००".to_owned()),
        Just("2.5".to_owned()),
        Just("10:30".to_owned()),
        Just("1/2".to_owned()),
        Just("½".to_owned()),
        Just("15th".to_owned()),
        Just("हजार".to_owned()),
        Just("लाख".to_owned()),
        Just("करोड़".to_owned()),
        Just("साढ़े".to_owned()),
        Just("सवा".to_owned()),
        Just("अगस्त".to_owned()),
        Just("August".to_owned()),
        Just("May".to_owned()),
        Just("and".to_owned()),
        Just("a".to_owned()),
        Just("half".to_owned()),
        Just("twenty".to_owned()),
        Just("million".to_owned()),
        Just("-".to_owned()),
        Just("/".to_owned()),
        Just(".".to_owned()),
        Just(",".to_owned()),
        Just("से".to_owned()),
        Just("99999999999999999999999999999999999999".to_owned()),
        "[0-9०-९,./:-]{1,8}",
        any::<String>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (fragment(), prop_oneof![Just(""), Just(" "), Just("\u{a0}")]),
        0..24,
    )
    .prop_map(|parts| parts.into_iter().map(|(f, sep)| f + sep).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_and_spans_point_at_the_text(source in text(), output in text()) {
        for finding in check_numbers(&source, &output) {
            prop_assert_eq!(output.get(finding.span.clone()), Some(finding.text.as_str()));
            prop_assert!(!finding.reason.is_empty());
        }
    }

    #[test]
    fn an_output_equal_to_its_source_has_no_number_findings(text in text()) {
        let findings: Vec<_> = check_numbers(&text, &text)
            .into_iter()
            .filter(|f| matches!(f.kind, FindingKind::Number { .. }))
            .collect();
        prop_assert!(findings.is_empty(), "{:?}", findings);
    }
}
