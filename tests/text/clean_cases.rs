//! Boilerplate cleaning: each rule removes what it should and keeps article lines that
//! merely look similar.

use saar::text::{clean, RemovalReason};

fn removed_lines(text: &str) -> Vec<(usize, RemovalReason)> {
    clean(text)
        .removed
        .iter()
        .map(|r| (r.line, r.reason))
        .collect()
}

fn assert_kept(line: &str) {
    let cleaned = clean(line);
    assert!(
        cleaned.removed.is_empty(),
        "{line:?} was removed: {:?}",
        cleaned.removed
    );
    assert_eq!(cleaned.text, line);
}

#[test]
fn browser_notices_go_and_blank_lines_around_them_merge() {
    let text = "Your browser is out of date and may not show this page.\n\nPlease update to continue reading.\n\nUpdate Mozilla Firefox\n\nबाढ़ से कई गांव प्रभावित हुए।\nराहत कार्य जारी है।";
    let cleaned = clean(text);
    assert_eq!(cleaned.text, "बाढ़ से कई गांव प्रभावित हुए।\nराहत कार्य जारी है।");
    let lines: Vec<usize> = cleaned.removed.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 3, 5]);
    assert!(cleaned
        .removed
        .iter()
        .all(|r| r.reason == RemovalReason::BrowserNotice && r.whole_line));
}

#[test]
fn articles_about_browsers_are_kept() {
    assert_kept("गूगल ने क्रोम ब्राउज़र का नया संस्करण जारी किया और यूज़र्स से इसे जल्द इंस्टॉल करने को कहा।");
    let long = format!("Security researchers told readers to update your browser at once, {}", "because the flaw lets attackers run code on unpatched machines across several operating systems and versions. ".repeat(2));
    assert_kept(&long);
}

#[test]
fn related_news_lines_go_in_all_their_spellings() {
    let text = "पहला वाक्य।\nयह भी पढ़ें: नगर निगम चुनाव की तारीख घोषित\nये भी पढ़े - बारिश से फसलें खराब\nAlso Read | Markets close higher\nALSO READ: Monsoon reaches Kerala\nअन्य संबंधित ख़बरें\nइसे भी पढ़ें\nआखिरी वाक्य।";
    let cleaned = clean(text);
    assert_eq!(cleaned.text, "पहला वाक्य।\nआखिरी वाक्य।");
    assert_eq!(
        removed_lines(text),
        (2..=7)
            .map(|line| (line, RemovalReason::RelatedLink))
            .collect::<Vec<_>>()
    );
}

#[test]
fn sentences_that_begin_like_related_links_are_kept() {
    assert_kept("यह भी पढ़ें कि सरकार ने नई नीति में क्या कहा है।");
    assert_kept("संबंधित खबरों के अनुसार, बैठक अगले सप्ताह तक टल गई है।");
    assert_kept("Related to the budget, the minister promised more funds.");
    assert_kept("और पढ़ाई के लिए छात्र विदेश जाते हैं।");
}

#[test]
fn tweet_embed_footers_go_but_the_tweet_text_stays() {
    let text = "#WATCH | Delhi: Heavy rain lashes the city\nSource: City Office/ YouTube pic.twitter.com/AbC1x2Yz\n— City News (@citynews_in) March 3, 2024\nशहर में भारी बारिश हुई।";
    let cleaned = clean(text);
    assert_eq!(
        cleaned.text,
        "#WATCH | Delhi: Heavy rain lashes the city\nशहर में भारी बारिश हुई।"
    );
    assert_eq!(
        removed_lines(text),
        [
            (2, RemovalReason::SocialEmbed),
            (3, RemovalReason::SocialEmbed)
        ]
    );
}

#[test]
fn footers_at_the_end_of_a_tweet_line_are_cut_off_the_line() {
    let text = "Rain lashes Mumbai pic.twitter.com/Xy12Ab — Mumbai Desk (@mumbaidesk) July 9, 2024\nTraffic slowed near the port — Port Watch (@portwatch) 9 July 2024\n";
    let cleaned = clean(text);
    assert_eq!(
        cleaned.text,
        "Rain lashes Mumbai\nTraffic slowed near the port\n"
    );
    assert!(cleaned
        .removed
        .iter()
        .all(|r| !r.whole_line && r.reason == RemovalReason::SocialEmbed));
    assert_eq!(
        cleaned.removed[0].text,
        "pic.twitter.com/Xy12Ab — Mumbai Desk (@mumbaidesk) July 9, 2024"
    );
}

#[test]
fn follow_and_instagram_prompts_go() {
    let text = "खबर का पहला वाक्य।\nहमें फेसबुक और ट्विटर पर फॉलो करें\nFollow us on Instagram for more updates\nA post shared by City Desk (@citydesk)\nताज़ा खबरों के लिए हमारे व्हाट्सएप चैनल से जुड़ें";
    let cleaned = clean(text);
    assert_eq!(cleaned.text, "खबर का पहला वाक्य।\n");
    assert_eq!(cleaned.removed.len(), 4);
    assert!(cleaned
        .removed
        .iter()
        .all(|r| r.reason == RemovalReason::SocialEmbed));
}

#[test]
fn article_lines_mentioning_social_media_are_kept() {
    assert_kept("प्रधानमंत्री ने ट्विटर पर लिखा कि विकास कार्य जारी रहेगा।");
    assert_kept("पुलिस ने लोगों से यातायात नियमों को फॉलो करने की अपील की।");
    assert_kept("शिकायत के लिए info@example.org पर लिखें।");
    assert_kept("— यह बात उन्होंने 15 अगस्त को कही थी।");
}

#[test]
fn share_prompts_go() {
    let text = "पहला वाक्य।\nShare this:\nशेयर करें\nFacebook | Twitter | WhatsApp\nShare on WhatsApp\nदूसरा वाक्य।";
    assert_eq!(clean(text).text, "पहला वाक्य।\nदूसरा वाक्य।");
    assert_eq!(
        removed_lines(text),
        (2..=5)
            .map(|line| (line, RemovalReason::SharePrompt))
            .collect::<Vec<_>>()
    );
}

#[test]
fn share_market_news_is_kept() {
    assert_kept("शेयर बाजार में आज तेजी रही।");
    assert_kept("कंपनी के शेयर 5 प्रतिशत चढ़े।");
}

#[test]
fn a_clean_article_comes_back_byte_for_byte() {
    let text = "  पहला अनुच्छेद।\r\n\r\n\r\nदूसरा अनुच्छेद, जिसमें Twitter का ज़िक्र है।  \n";
    assert_kept(text);
}

#[test]
fn paragraph_breaks_survive_a_removal_between_paragraphs() {
    assert_eq!(
        clean("पहला।\n\nयह भी पढ़ें: कुछ और\n\nदूसरा।").text,
        "पहला।\n\nदूसरा।"
    );
    assert_eq!(
        clean("पहला।\nयह भी पढ़ें: कुछ और\n\nदूसरा।").text,
        "पहला।\n\nदूसरा।"
    );
    assert_eq!(clean("पहला।\n\nअन्य संबंधित खबरें\n").text, "पहला।\n");
}

#[test]
fn removal_reasons_read_well() {
    assert_eq!(RemovalReason::RelatedLink.to_string(), "related-news link");
}
