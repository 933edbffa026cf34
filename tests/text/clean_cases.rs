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

/// The removed texts and reasons of `text`, in order.
fn removals(text: &str) -> Vec<(String, RemovalReason, bool)> {
    clean(text)
        .removed
        .into_iter()
        .map(|r| (r.text, r.reason, r.whole_line))
        .collect()
}

#[test]
fn a_desk_credit_glued_to_the_first_sentence_goes_and_the_sentence_stays() {
    let text = "City Live Desk : नगर निगम ने नई योजना शुरू की। काम मार्च तक चलेगा।\n";
    let cleaned = clean(text);
    assert_eq!(
        cleaned.text,
        "नगर निगम ने नई योजना शुरू की। काम मार्च तक चलेगा।\n"
    );
    assert_eq!(
        removals(text),
        [("City Live Desk :".to_string(), RemovalReason::Byline, false)]
    );
    assert_eq!(&text[cleaned.removed[0].range.clone()], "City Live Desk : ");
}

#[test]
fn bylines_edited_by_and_updated_lines_go() {
    let text = "चीन ने वार्ता टाली\nBy Pratidin Samachar - 14-10-2025\nEdited By: Neha Tiwari | Updated: 12 Nov 2025, 08:45 AM IST\nअपडेटेड: 28 जनवरी 2026, 10:05 बजे\nचीन ने बातचीत टाल दी।";
    assert_eq!(clean(text).text, "चीन ने वार्ता टाली\nचीन ने बातचीत टाल दी।");
    assert!(removals(text)
        .iter()
        .all(|(_, reason, whole)| *reason == RemovalReason::Byline && *whole));
}

#[test]
fn datelines_before_the_first_sentence_go() {
    let cases = [
        "नई दिल्ली, 5 मई (भाषा)। सरकार ने नई नीति जारी की।",
        "टोक्यो, 9 दिसंबर (एपी) — जापान में भूकंप आया।",
        "सीकर (एजेंसी)। जिले में हादसा हुआ।",
        "पटना, जागरण संवाददाता। गंगा का जलस्तर बढ़ा।",
    ];
    for line in cases {
        let text = format!("शीर्षक यहां है\n{line}\n");
        let cleaned = clean(&text);
        let (_, body) = line.split_once(['।', '—']).expect("a dateline");
        assert_eq!(
            cleaned.text,
            format!("शीर्षक यहां है\n{}\n", body.trim()),
            "{line}"
        );
        assert_eq!(cleaned.removed[0].reason, RemovalReason::Dateline, "{line}");
    }
}

#[test]
fn a_photo_caption_and_its_credit_line_go_but_the_headline_stays() {
    let text = "दिल्ली में प्रदूषण बढ़ा\nइंडिया गेट के पास धुंध में ढकी सड़क\n(फोटो: पीटीआई)\nराजधानी में हवा खराब हुई।\nगांधी घाट पर बढ़ा पानी।\nफोटो- जागरण\nPhoto: Reuters/File\nअंत।";
    assert_eq!(
        clean(text).text,
        "दिल्ली में प्रदूषण बढ़ा\nराजधानी में हवा खराब हुई।\nअंत।"
    );
    assert!(removals(text)
        .iter()
        .all(|(_, reason, _)| *reason == RemovalReason::PhotoCredit));
    // A headline over a credit line is the article's first line, not a caption.
    assert_eq!(
        clean("बैठक टली\n(फोटो: ANI)\nबैठक अगले हफ्ते होगी।").text,
        "बैठक टली\nबैठक अगले हफ्ते होगी।"
    );
}

#[test]
fn image_source_tags_leave_the_headline() {
    let text = "मियामी में होगी अहम बैठक (सोर्स- सोशल मीडिया)\nसड़क हादसे में तीन की मौत (फोटो: ANI)\n";
    assert_eq!(
        clean(text).text,
        "मियामी में होगी अहम बैठक\nसड़क हादसे में तीन की मौत\n"
    );
    assert_eq!(
        removals(text)[0],
        (
            "(सोर्स- सोशल मीडिया)".to_string(),
            RemovalReason::PhotoCredit,
            false
        )
    );
}

#[test]
fn agency_inputs_and_reporter_credits_go() {
    let text = "बैठक खत्म हुई। (इनपुट: एजेंसी)\n(इनपुट- भाषा)\n(With inputs from PTI)\n(पटना से अमित कुमार की रिपोर्ट)\nरिपोर्ट: भंवरलाल जाट, बाड़मेर\n(साथ में अजमेर से विनोद शर्मा)\n(भाषा)";
    assert_eq!(clean(text).text, "बैठक खत्म हुई।\n");
    assert!(removals(text)
        .iter()
        .all(|(_, reason, _)| *reason == RemovalReason::Credit));
}

#[test]
fn ads_disclaimers_tags_read_more_and_copyright_lines_go() {
    let text = "पहला वाक्य।\nAdvertisement\nविज्ञापन\nDisclaimer: यह लेख सामान्य जानकारी के लिए है।\nTags: Delhi, AQI\n#INDvSA #TeamIndia\nClick here to read more\nपूरी खबर पढ़ने के लिए यहां क्लिक करें\n© 2025 Khel Samachar. All rights reserved.\nआखिरी वाक्य।";
    assert_eq!(clean(text).text, "पहला वाक्य।\nआखिरी वाक्य।");
    let reasons: Vec<RemovalReason> = removals(text).into_iter().map(|r| r.1).collect();
    use RemovalReason::*;
    assert_eq!(
        reasons,
        [
            Advertisement,
            Advertisement,
            Disclaimer,
            TagList,
            TagList,
            RelatedLink,
            RelatedLink,
            Copyright
        ]
    );
}

#[test]
fn a_tweet_footer_inside_a_paragraph_goes_and_the_text_after_it_stays() {
    let text = "PM chairs a meeting of ministers. — PTI (@PTI_News) May 5, 2025 इसके बाद मंत्रियों ने प्रस्तुतियां दीं।\n";
    let cleaned = clean(text);
    assert_eq!(
        cleaned.text,
        "PM chairs a meeting of ministers. इसके बाद मंत्रियों ने प्रस्तुतियां दीं।\n"
    );
    assert_eq!(
        removals(text),
        [(
            "— PTI (@PTI_News) May 5, 2025".to_string(),
            RemovalReason::SocialEmbed,
            false
        )]
    );
}

#[test]
fn a_stray_danda_before_the_first_sentence_goes() {
    assert_eq!(
        clean("शीर्षक\n\n। रूस ने बयान दिया।\n").text,
        "शीर्षक\n\nरूस ने बयान दिया।\n"
    );
    assert_eq!(clean("।शिमला में बर्फ गिरी।").text, "शिमला में बर्फ गिरी।");
}

#[test]
fn content_that_looks_like_furniture_stays() {
    assert_kept("#WATCH | Alaska, USA | “Next time in Moscow,” says the Russian President.");
    assert_kept("By 2030, demand for fresh water will exceed supply by 40 percent.");
    assert_kept("सरकार ने विज्ञापन पर 480 करोड़ रुपये खर्च किए।");
    assert_kept("वेतन पर क्या असर होगा");
    assert_kept("Updated figures released on Monday show 23 lakh members.");
    assert_kept("फायर विभाग की रिपोर्ट में सुरक्षा की कमी बताई गई।");
    assert_kept("रिपोर्ट में कहा गया कि हालात सुधरे हैं।");
    assert_kept("पुलिस ने आरोपी की फोटो जारी की।");
    assert_kept("विभाग की हेल्प डेस्क पर 20 हजार सवाल आए।");
    assert_kept("लेखक ने कहा कि किताब अगले साल आएगी");
    assert_kept("कंपनी के ऐप से बुकिंग करने पर छूट मिलेगी।");
    assert_kept("शीर्षक\nसवाल: फसल बीमा के दावों के भुगतान में इतनी देरी क्यों होती है, जबकि सरकार हर साल नए नियम बनाती है और किसान इंतजार करते रहते हैं?");
}

#[test]
fn removals_describe_themselves_exactly() {
    let cleaned = clean("City Live Desk : खबर यहां है।\nयह भी पढ़ें: कुछ और");
    let described: Vec<String> = cleaned.removed.iter().map(ToString::to_string).collect();
    assert_eq!(
        described,
        [
            "\"City Live Desk :\" from line 1 (byline)",
            "line 2 (related-news link): यह भी पढ़ें: कुछ और"
        ]
    );
}
