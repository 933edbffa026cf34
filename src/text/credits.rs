//! Who wrote it, where, when and with whose pictures: bylines and desk credits, datelines
//! before the first sentence, agency and reporter credits, photo credits and image-source
//! tags. News sites glue these to article lines, so besides whole lines the rules here
//! name a leading fragment (a desk credit, a dateline) or a trailing tag of a line. All
//! patterns read folded text (see `fold`): lowercase ASCII, no nukta.

use std::sync::LazyLock;

use regex::Regex;

use super::clean::RemovalReason;
use super::fold::Folded;

/// Longest line (in chars) that a credit or byline rule removes whole: article
/// paragraphs that merely mention a photo or an update are longer.
const MAX_CREDIT_CHARS: usize = 160;

/// News agencies as Hindi sites name them (folded).
const AGENCIES: &str = r"भाषा|एजेंसी|एजेंसियां|एजेंसियों|आईएएनएस|पीटीआई|एएनआई|वार्ता|यूएनआई|रॉयटर्स|रायटर्स|एपी|एएफपी|डीपीए|सिन्हुआ|शिन्हुआ|हिंस|हि\.स\.|हिन्दुस्थान समाचार|pti|ani|ians|uni|reuters|ap|afp|dpa|xinhua|agencies|agency";

/// Month names, English and Hindi (folded: फ़रवरी is फरवरी).
const MONTHS: &str = r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|जनवरी|फरवरी|मार्च|अप्रैल|अप्रेल|मई|जून|जुलाई|अगस्त|सितंबर|सितम्बर|अक्टूबर|अक्तूबर|नवंबर|नवम्बर|दिसंबर|दिसम्बर";

/// Words that introduce a picture's source.
const PICTURE_WORDS: &str = r"फाइल फोटो|फोटो साभार|फोटो क्रेडिट|फोटो सोर्स|इमेज सोर्स|इमेज क्रेडिट|फोटोज|फोटो|तस्वीरें|तस्वीर|चित्र|इमेज|सोर्स|स्रोत|साभार|क्रेडिट|प्रतीकात्मक तस्वीर|प्रतीकात्मक फोटो|प्रतीकात्मक चित्र|प्रतीकात्मक|सांकेतिक तस्वीर|सांकेतिक फोटो|सांकेतिक चित्र|सांकेतिक|वीडियो ग्रैब|स्क्रीनशॉट|file photo|file image|photo credit|photo courtesy|image credit|image courtesy|image source|photos|photo|pictures|picture|pics|pic|images|image|source|credits|credit|courtesy|representative image|representational image|representative photo|symbolic image|video grab|screengrab|screenshot|getty images";

/// Labels of a credit for the reporting that say what they are on their own:
/// "With inputs from PTI".
const CREDIT_PHRASES: &str = r"with inputs from|with input from|with agency inputs|inputs from|additional reporting by|reporting by|editing by|writing by|compiled by";

/// Labels of a credit that need a separator after them ("इनपुट: भाषा"), since "रिपोर्ट में
/// कहा गया" begins an article sentence.
const CREDIT_LABELS: &str = r"एजेंसी इनपुट|इनपुट|अतिरिक्त रिपोर्टिंग|रिपोर्टिंग|रिपोर्ट|संपादन|साभार|additional reporting|reporting|inputs|input";

/// Endings that make a short note a credit: "(पटना से अमित की रिपोर्ट)".
const CREDIT_ENDINGS: &str =
    r"के इनपुट के साथ|इनपुट के साथ|के इनपुट सहित|का इनपुट|की रिपोर्ट|से इनपुट|से साभार";

/// What a credit may say: a label and a short name, an agency, or a note with a credit
/// ending.
static CREDIT_BODY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"(?:(?:{CREDIT_PHRASES})\s+[^()।]{{1,60}}|(?:{CREDIT_LABELS})\s*[:\-–—]\s*[^()।]{{1,60}}|(?:{AGENCIES})(?:\s*(?:इनपुट|के इनपुट के साथ|inputs?))?|[^()।]{{1,50}}(?:{CREDIT_ENDINGS}))"
    )
});

/// Credits that only brackets make credits: "(साथ में अजमेर से विनोद शर्मा)".
const BRACKETED_CREDIT: &str = r"साथ में\s+[^()।]{1,60}";

static TRAILING_CREDIT: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"\s*[\(\[]\s*(?:{body}|{BRACKETED_CREDIT})\s*[\)\]]\s*[।.]?$",
        body = *CREDIT_BODY
    ))
});

static CREDIT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"^(?:[\(\[]\s*(?:{body}|{BRACKETED_CREDIT})\s*[\)\]]|[—–-]?\s*{body})\s*[।.]?$",
        body = *CREDIT_BODY
    ))
});

/// "(सोर्स- सोशल मीडिया)", "(फोटो: ANI)", "(फाइल फोटो)" at the end of a line.
static TRAILING_PICTURE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"\s*[\(\[]\s*(?:{PICTURE_WORDS})(?:\s*[:\-–—/|]\s*[^()\[\]]{{0,60}}|\s+[^()\[\]]{{0,40}})?\s*[\)\]]\s*$"
    ))
});

/// A line that is only a picture credit: "फोटो: एएनआई", "Image: Getty Images", "Reuters".
static PICTURE_CREDIT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"^[\(\[]?\s*(?:(?:{PICTURE_WORDS})(?:\s*[:\-–—/|]\s*[^।]{{0,80}})?|(?:{AGENCIES}|getty images|ap photo)\s*(?:/|via\s)\s*[^।]{{0,60}}|ap photo)\s*[\)\]]?$"
    ))
});

/// "Johar Live Desk : ", "एबीपी न्यूज डेस्क | ", "ऑनलाइन डेस्क, नई दिल्ली। ".
static DESK_CREDIT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^(?:[\p{L}\p{M}\p{N}.&']+ ){0,4}(?:desk|डेस्क|bureau|ब्यूरो)\s*(?:[:|\-–—]|,\s*[\p{L}\p{M}]+(?: [\p{L}\p{M}]+){0,2}\s*[।:|\-–—])\s*",
    )
});

/// "नई दिल्ली, 5 मई (भाषा)। ", "NEW DELHI, May 5 (Reuters) - ", "मुंबई (एजेंसी)। ",
/// "पटना, जागरण संवाददाता। ": a place with a date and/or an agency before the first
/// sentence. A bare "place: " is handled by [`bare_dateline`].
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    let digit = "[0-9०-९]";
    let date = format!(
        r"(?:{digit}{{1,2}}\s+(?:{MONTHS})\.?(?:,?\s*{digit}{{4}})?|(?:{MONTHS})\.?\s+{digit}{{1,2}}(?:,?\s*{digit}{{4}})?|{digit}{{1,2}}[-/.]{digit}{{1,2}}[-/.]{digit}{{2,4}})"
    );
    compile(&format!(
        r"^[\p{{L}}\p{{M}}]+(?:[ \-][\p{{L}}\p{{M}}]+){{0,2}}\s*(?:(?:,\s*{date}\s*)?\(\s*(?:{AGENCIES})\s*\)\s*(?:[।:|\-–—.]\s*)?|,\s*{date}\s*[।:|\-–—]\s*|,\s*(?:[\p{{L}}\p{{M}}]+\s+){{0,2}}(?:संवाददाता|प्रतिनिधि|ब्यूरो)\s*[।:|\-–—]\s*)"
    ))
});

/// "जयपुर। ", "NEW DELHI: " — one or two words and a separator.
static BARE_DATELINE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^([\p{L}\p{M}]+(?: [\p{L}\p{M}]+)?)\s*[।:]\s+"));

/// Words that end a line's first clause with a colon but are no place: Q&A labels and
/// kickers.
const NOT_PLACES: &[&str] = &[
    "सवाल",
    "जवाब",
    "प्रश्न",
    "उत्तर",
    "नोट",
    "प्र",
    "उ",
    "q",
    "a",
    "हां",
    "नहीं",
    "जी",
];

/// Byline labels followed by a name: "Edited By: Rahul", "लेखक: …". One-word labels
/// need a separator: "लेखक ने कहा" is a sentence.
static NAME_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^(?:(?:edited by|written by|reported by|posted by|curated by|translated by|compiled by|authored by|written & edited by|एडिटेड बाय)\s*[:\-–—]?|(?:author|लेखक|लेखिका|संपादक|संपादित|एडिटर|रिपोर्टर|रिपोर्ट|संवाददाता|अनुवाद|द्वारा)\s*[:\-–—])\s*(.{1,60})$",
    )
});

/// Timestamp labels: "Updated: 05 May 2025, 10:30 AM IST".
static TIME_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^(?:last updated|first published|updated on|updated at|published on|published at|posted on|updated|published|posted|date|अंतिम अपडेट|अपडेटेड|अपडेट किया गया|प्रकाशित|पब्लिश्ड|दिनांक|तारीख)\s*[:\-–—]?\s*(.+)$",
    )
});

static BY_NAME: LazyLock<Regex> = LazyLock::new(|| compile(r"^by\s*[:\-–—]?\s+(.{1,70})$"));

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the credit patterns are valid constant regexes")
}

/// Why a whole line (already folded) is a credit, byline or picture credit.
pub(super) fn whole_line(folded: &Folded, line: &str) -> Option<RemovalReason> {
    let text = folded.text.as_str();
    if text.chars().count() > MAX_CREDIT_CHARS {
        return None;
    }
    if CREDIT_LINE.is_match(text) {
        return Some(RemovalReason::Credit);
    }
    if PICTURE_CREDIT_LINE.is_match(text) {
        return Some(RemovalReason::PhotoCredit);
    }
    if is_meta_line(folded, line) {
        return Some(RemovalReason::Byline);
    }
    None
}

/// A line of bylines and timestamps: "Edited By: Rahul | Updated: May 5, 2025",
/// "By Lokjeewan Daily - 03-11-2025".
fn is_meta_line(folded: &Folded, line: &str) -> bool {
    let text = folded.text.as_str();
    if text.contains('।') {
        return false;
    }
    let mut parts = 0;
    let mut named = false;
    for part in text.split(['|', '•', '·']) {
        let start = part.as_ptr() as usize - text.as_ptr() as usize;
        let trimmed = part.trim();
        if trimmed.is_empty() {
            continue;
        }
        parts += 1;
        if let Some(name) = NAME_LABEL.captures(trimmed).and_then(|c| c.get(1)) {
            if word_count(name.as_str()) > 6 {
                return false;
            }
        } else if let Some(name) = BY_NAME.captures(trimmed).and_then(|c| c.get(1)) {
            let original = &line[folded.original(start..start + part.len())];
            if !is_capitalized_name(original.trim_start()) || word_count(name.as_str()) > 8 {
                return false;
            }
        } else if let Some(stamp) = TIME_LABEL.captures(trimmed).and_then(|c| c.get(1)) {
            if !is_timestamp(stamp.as_str()) {
                return false;
            }
        } else if is_timestamp(trimmed) && parts > 1 {
            continue;
        } else {
            return false;
        }
        named = true;
    }
    named
}

/// "By Lokjeewan Daily - 03-11-2025" but not "By the end of the day": after "By" every
/// word starts with a capital, a digit or a Devanagari letter.
fn is_capitalized_name(original: &str) -> bool {
    let mut words = original.split_whitespace();
    let starts_by = words.next().is_some_and(|w| w.starts_with('B'));
    starts_by
        && words.all(|word| {
            word.chars().next().is_some_and(|c| {
                c.is_uppercase() || c.is_ascii_digit() || !c.is_ascii() || "-–—:,|".contains(c)
            })
        })
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Dates and times only: "05 May 2025, 10:30 AM IST", "3 नवंबर 2025, 11:05 बजे".
pub(super) fn is_timestamp(text: &str) -> bool {
    static MONTH: LazyLock<Regex> = LazyLock::new(|| compile(&format!("^(?:{MONTHS})$")));
    const TIME_WORDS: &[&str] = &[
        "am",
        "pm",
        "a.m",
        "p.m",
        "ist",
        "gmt",
        "utc",
        "hrs",
        "बजे",
        "on",
        "at",
        "सुबह",
        "शाम",
        "दोपहर",
        "रात",
    ];
    let mut digits = false;
    let all_time = text
        .split(|c: char| c.is_whitespace() || ",:/()|–—-".contains(c))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .all(|word| {
            if word
                .chars()
                .all(|c| c.is_ascii_digit() || ('०'..='९').contains(&c) || c == '.')
            {
                digits = true;
                return true;
            }
            MONTH.is_match(word) || TIME_WORDS.contains(&word) || weekday(word)
        });
    all_time && digits
}

fn weekday(word: &str) -> bool {
    const DAYS: &[&str] = &[
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "सोमवार",
        "मंगलवार",
        "बुधवार",
        "गुरुवार",
        "शुक्रवार",
        "शनिवार",
        "रविवार",
    ];
    DAYS.contains(&word)
}

/// Where a line stands in the article, for rules that only hold near its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinePlace {
    /// How many lines with content came before this one.
    pub(crate) content_lines_before: usize,
}

/// The length (in folded bytes) and reason of junk at the start of `folded` (a suffix of
/// a folded line), if any: a stray danda, a desk credit or a dateline. `after_junk` is
/// true when junk was just removed before it on the same line.
pub(super) fn leading(
    folded: &str,
    original: &str,
    place: LinePlace,
    after_junk: bool,
) -> Option<(usize, RemovalReason)> {
    if let Some(rest) = folded.strip_prefix('।') {
        let len = folded.len() - rest.trim_start_matches([' ', '।']).len();
        return Some((len, RemovalReason::StrayPunctuation));
    }
    if let Some(found) = DESK_CREDIT.find(folded) {
        return Some((found.end(), RemovalReason::Byline));
    }
    if place.content_lines_before > 3 && !after_junk {
        return None;
    }
    if let Some(found) = DATELINE.find(folded) {
        return Some((found.end(), RemovalReason::Dateline));
    }
    bare_dateline(folded, original, place, after_junk).map(|len| (len, RemovalReason::Dateline))
}

/// "जयपुर। " or "NEW DELHI: " before the body's first sentence: only on a paragraph (not
/// a headline), only among the first lines, and only when what follows is long.
fn bare_dateline(
    folded: &str,
    original: &str,
    place: LinePlace,
    after_junk: bool,
) -> Option<usize> {
    let found = BARE_DATELINE.captures(folded)?;
    let name = found.get(1)?.as_str();
    let end = found.get(0)?.end();
    let long_paragraph = folded.chars().count() >= 100 && folded[end..].chars().count() >= 60;
    let near_start = after_junk || (1..=3).contains(&place.content_lines_before);
    let latin_capitalized = original.split_whitespace().take(word_count(name)).all(|w| {
        w.chars()
            .next()
            .is_some_and(|c| !c.is_ascii() || c.is_uppercase())
    });
    (long_paragraph && near_start && latin_capitalized && !NOT_PLACES.contains(&name))
        .then_some(end)
}

/// The start (in folded bytes) and reason of a credit or picture tag ending `folded`.
pub(super) fn trailing(folded: &str) -> Option<(usize, RemovalReason)> {
    if let Some(found) = TRAILING_PICTURE_TAG.find(folded) {
        return Some((found.start(), RemovalReason::PhotoCredit));
    }
    TRAILING_CREDIT
        .find(folded)
        .map(|found| (found.start(), RemovalReason::Credit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_dates_and_times_only() {
        assert!(is_timestamp("05 may 2025, 10:30 am ist"));
        assert!(is_timestamp("3 नवंबर 2025, 11:05 बजे"));
        assert!(!is_timestamp("मई में चुनाव होंगे"));
        assert!(!is_timestamp("may"));
    }
}
