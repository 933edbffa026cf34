//! Whole lines that the page, not the reporter, wrote: advertisement markers, "click
//! here to read more", copyright lines, disclaimers and tag lists. Each rule looks at a
//! folded line (see `fold`) and is limited by length or shape, so that an article
//! sentence that mentions an advertisement or a copyright stays.

use super::clean::RemovalReason;

/// Lines that are only an advertisement marker (folded, punctuation trimmed).
const AD_LINES: &[&str] = &[
    "advertisement",
    "advertisements",
    "advertise with us",
    "विज्ञापन",
    "विज्ञापन हटाएं",
    "sponsored",
    "sponsored content",
    "स्पॉन्सर्ड",
    "scroll to continue with content",
    "स्क्रॉल करें",
    "story continues below advertisement",
    "खबर जारी है",
];

/// Phrases of a "read the rest elsewhere" prompt.
const READ_MORE_PHRASES: &[&str] = &[
    "click here",
    "यहां क्लिक",
    "यहा क्लिक",
    "क्लिक करें",
    "क्लिक करे",
    "read full story",
    "read the full story",
    "read full article",
    "continue reading",
    "पूरी खबर पढ",
    "पूरा लेख पढ",
    "विस्तार से पढ",
    "download the app",
];

const COPYRIGHT_STARTS: &[&str] = &["©", "copyright", "(c) ", "कॉपीराइट", "कापीराइट"];
const COPYRIGHT_PHRASES: &[&str] = &["all rights reserved", "सर्वाधिकार सुरक्षित"];

const DISCLAIMER_LABELS: &[&str] = &["disclaimer", "डिस्क्लेमर", "अस्वीकरण", "अस्वीकरण"];
const NOTE_LABELS: &[&str] = &["नोट", "note", "ध्यान दें"];
/// Words that make a "नोट:" line a disclaimer rather than a note of the story.
const DISCLAIMER_WORDS: &[&str] = &[
    "जानकारी",
    "सलाह",
    "पुष्टि",
    "दावा",
    "मान्यता",
    "विशेषज्ञ",
    "advice",
    "information",
    "views",
    "opinion",
    "consult",
    "expert",
];
/// The line a site puts under wire copy it did not edit.
const FEED_PHRASES: &[&str] = &[
    "सिंडिकेट फीड",
    "सिंडिकेटेड फीड",
    "syndicated feed",
    "auto-generated",
    "ऑटो-जेनरेट",
    "has not been edited by",
    "एडिट नहीं किया गया",
];

const TAG_LABELS: &[&str] = &[
    "tags",
    "tag",
    "टैग",
    "टैग्स",
    "topics",
    "keywords",
    "कीवर्ड",
    "कीवर्ड्स",
    "related topics",
    "trending topics",
    "ट्रेंडिंग टॉपिक्स",
    "ट्रेंडिंग",
];

/// Longest line (in chars) of an ad marker, read-more prompt or copyright line.
const MAX_NOTICE_CHARS: usize = 200;
/// Disclaimers run longer than other notices, but not paragraph-long.
const MAX_DISCLAIMER_CHARS: usize = 700;

/// Why `folded` (a whole folded line) is page furniture, if it is.
pub(super) fn classify(folded: &str) -> Option<RemovalReason> {
    let chars = folded.chars().count();
    let bare = folded.trim_matches(|c: char| c.is_whitespace() || "-–—:|.*•#[]()".contains(c));
    if AD_LINES.contains(&bare) {
        return Some(RemovalReason::Advertisement);
    }
    if chars <= MAX_NOTICE_CHARS && is_read_more(folded) {
        return Some(RemovalReason::RelatedLink);
    }
    if chars <= MAX_NOTICE_CHARS
        && (COPYRIGHT_STARTS
            .iter()
            .any(|s| bare.starts_with(s) || folded.starts_with(s))
            || COPYRIGHT_PHRASES.iter().any(|p| folded.contains(p)))
    {
        return Some(RemovalReason::Copyright);
    }
    if chars <= MAX_DISCLAIMER_CHARS && is_disclaimer(bare) {
        return Some(RemovalReason::Disclaimer);
    }
    if chars <= MAX_DISCLAIMER_CHARS && is_tag_list(folded) {
        return Some(RemovalReason::TagList);
    }
    None
}

/// "Click here to read more", "पूरी खबर पढ़ने के लिए यहां क्लिक करें": an article
/// sentence that mentions an app or a link ends in a danda and names no click.
fn is_read_more(folded: &str) -> bool {
    let clicks = folded.contains("click") || folded.contains("क्लिक");
    READ_MORE_PHRASES.iter().any(|p| folded.contains(p)) && (clicks || !folded.ends_with('।'))
}

fn is_disclaimer(bare: &str) -> bool {
    let labelled = |labels: &[&str]| {
        labels.iter().any(|label| {
            bare.strip_prefix(label)
                .is_some_and(|rest| rest.trim_start().starts_with([':', '-', '–', '—']))
        })
    };
    labelled(DISCLAIMER_LABELS)
        || (labelled(NOTE_LABELS) && DISCLAIMER_WORDS.iter().any(|w| bare.contains(w)))
        || FEED_PHRASES.iter().any(|p| bare.contains(p))
}

/// "Tags: Russia, Ukraine, Trump" or a line of hashtags only.
fn is_tag_list(folded: &str) -> bool {
    let labelled = TAG_LABELS.iter().any(|label| {
        folded.strip_prefix(label).is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.starts_with([':', '|', '-', '–']) && !rest.contains('।')
        })
    });
    let words: Vec<&str> = folded.split_whitespace().collect();
    labelled || (words.len() >= 2 && words.iter().all(|w| w.starts_with('#') && w.len() > 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_go_and_sentences_about_them_stay() {
        assert_eq!(classify("विज्ञापन"), Some(RemovalReason::Advertisement));
        assert_eq!(classify("विज्ञापन पर सरकार ने 20 करोड़ खर्च किए।"), None);
        assert_eq!(classify("ऐप डाउनलोड करने वालों की संख्या बढ़ी।"), None);
        assert_eq!(classify("#russia #ukraine"), Some(RemovalReason::TagList));
        assert_eq!(classify("#watch | delhi: rain"), None);
    }
}
