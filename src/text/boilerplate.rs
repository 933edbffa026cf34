//! Recognising the page furniture that scrapers leave in Hindi news text: browser
//! notices, "यह भी पढ़ें" / "Also Read" links, tweet-embed footers, follow and share
//! prompts. Each rule looks at one line and names the span to remove; rules match
//! whole lines or a trailing footer, never words inside an article sentence.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::clean::RemovalReason;

/// Longest line (in chars) that a notice or prompt rule may remove: article paragraphs
/// that merely mention a browser or "follow" are longer.
const MAX_PROMPT_CHARS: usize = 200;

const BROWSER_PHRASES: &[&str] = &[
    "update your browser",
    "upgrade your browser",
    "update to continue",
    "install another browser",
    "browser is out of date",
    "browser is outdated",
    "browser is not supported",
    "unsupported browser",
    "does not support the video tag",
    "does not support html5 video",
    "enable javascript",
    "javascript is disabled",
    "javascript is required",
    "ब्राउजर अपडेट",
    "ब्राउजर को अपडेट",
];

const BROWSER_LINES: &[&str] = &[
    "update google chrome",
    "update chrome",
    "update mozilla firefox",
    "update firefox",
    "update microsoft edge",
    "update edge",
    "update safari",
    "update opera",
    "download google chrome",
    "download chrome",
    "download firefox",
];

/// Folded (see [`fold`]) starts of related-news lines; a separator or the line end must follow.
const RELATED_PREFIXES: &[&str] = &[
    "यह भी पढ",
    "ये भी पढ",
    "इसे भी पढ",
    "इन्हें भी पढ",
    "यह भी देख",
    "ये भी देख",
    "जरूर पढ",
    "और पढ",
    "अन्य सम्बंधित खबर",
    "अन्य संबंधित खबर",
    "सम्बंधित खबर",
    "संबंधित खबर",
    "संबंधित समाचार",
    "सम्बंधित समाचार",
    "अन्य खबर",
    "also read",
    "read also",
    "read more",
    "also see",
    "also watch",
    "must read",
    "related news",
    "related stories",
    "related articles",
    "related posts",
    "related",
    "more news",
    "recommended stories",
];

const FOLLOW_PREFIXES: &[&str] = &[
    "follow us",
    "follow on",
    "follow @",
    "हमें फॉलो",
    "हमसे जुड",
    "हमारे साथ जुड",
    "join our whatsapp",
    "join us on",
    "subscribe to our",
    "a post shared by",
    "view this post on instagram",
];

const FOLLOW_VERBS: &[&str] = &["follow", "फॉलो कर", "जुडें", "जुडे", "subscribe", "सब्सक्राइब"];

const SOCIAL_NETWORKS: &[&str] = &[
    "google news",
    "गूगल न्यूज",
    "twitter",
    "ट्विटर",
    "facebook",
    "फेसबुक",
    "instagram",
    "इंस्टाग्राम",
    "whatsapp",
    "व्हाट्सएप",
    "व्हाट्सऐप",
    "youtube",
    "यूट्यूब",
    "telegram",
    "टेलीग्राम",
    "चैनल",
];

const SHARE_PREFIXES: &[&str] = &[
    "share this",
    "share on",
    "share via",
    "share:",
    "click to share",
    "शेयर करें",
    "इस खबर को शेयर",
    "खबर को शेयर",
    "इसे शेयर",
    "इस लेख को शेयर",
];

const SHARE_WORDS: &[&str] = &[
    "facebook",
    "twitter",
    "x",
    "whatsapp",
    "telegram",
    "linkedin",
    "email",
    "e-mail",
    "mail",
    "print",
    "copy",
    "link",
    "koo",
    "share",
    "pinterest",
    "reddit",
    "tumblr",
    "फेसबुक",
    "ट्विटर",
    "व्हाट्सएप",
    "व्हाट्सऐप",
    "टेलीग्राम",
    "शेयर",
    "ईमेल",
    "प्रिंट",
    "लिंक",
    "कॉपी",
];

const ATTRIBUTION_PREFIXES: &[&str] = &[
    "source",
    "स्रोत",
    "video",
    "वीडियो",
    "photo",
    "फोटो",
    "courtesy",
    "credit",
];

const MONTH: &str = "(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)";

/// "— ANI (@ANI) August 15, 2025" (or "15 August 2025") at the end of a line.
static TWEET_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    let date =
        format!(r"(?:{MONTH}\.?\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{MONTH}\.?,?\s+\d{{4}})");
    let pattern = format!(
        r"(?i)(?:^|\s)(?:[—–]|--?|&mdash;)\s*[^()]{{1,100}}?\s*\(@\w{{1,30}}\)\s*{date}\s*$"
    );
    Regex::new(&pattern).expect("the tweet footer pattern is a valid constant regex")
});

/// What to remove from one line (without its line break), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) span: Range<usize>,
    pub(crate) reason: RemovalReason,
}

/// The boilerplate span in `line`, if any.
pub(crate) fn classify(line: &str) -> Option<Verdict> {
    let whole = |reason| {
        Some(Verdict {
            span: 0..line.len(),
            reason,
        })
    };
    let folded = fold(line);
    let short = folded.chars().count() <= MAX_PROMPT_CHARS;
    if short
        && (BROWSER_PHRASES.iter().any(|p| folded.contains(p))
            || BROWSER_LINES.contains(&folded.as_str()))
    {
        return whole(RemovalReason::BrowserNotice);
    }
    if RELATED_PREFIXES.iter().any(|p| starts_heading(&folded, p)) {
        return whole(RemovalReason::RelatedLink);
    }
    if let Some(verdict) = twitter_picture_link(line).or_else(|| tweet_footer(line)) {
        return Some(verdict);
    }
    if short && is_follow_prompt(&folded) {
        return whole(RemovalReason::SocialEmbed);
    }
    if short && is_share_prompt(&folded) {
        return whole(RemovalReason::SharePrompt);
    }
    None
}

/// `folded` starts with `prefix` as a heading: the word may continue (पढ → पढ़ें) but
/// then only a separator such as ":" "|" "-" or the end of the line may follow.
fn starts_heading(folded: &str, prefix: &str) -> bool {
    let Some(rest) = folded.strip_prefix(prefix) else {
        return false;
    };
    let rest = rest
        .trim_start_matches(|c: char| c.is_alphabetic())
        .trim_start();
    rest.is_empty() || rest.starts_with([':', '-', '–', '—', '|', '>', '»', '→', '…', '.', '/'])
}

fn twitter_picture_link(line: &str) -> Option<Verdict> {
    const LINK: &[u8] = b"pic.twitter.com/";
    let start = line
        .as_bytes()
        .windows(LINK.len())
        .position(|w| w.eq_ignore_ascii_case(LINK))?;
    let end = line[start..]
        .find(char::is_whitespace)
        .map_or(line.len(), |offset| start + offset);
    let rest = &line[end..];
    let before = fold(&line[..start]);
    let attribution_only =
        before.is_empty() || ATTRIBUTION_PREFIXES.iter().any(|p| before.starts_with(p));
    let footer_follows = rest.trim().is_empty()
        || TWEET_FOOTER
            .find(rest)
            .is_some_and(|m| rest[..m.start()].trim().is_empty());
    let span = match (attribution_only, footer_follows) {
        (true, true) => 0..line.len(),
        (false, true) => start..line.len(),
        (_, false) => start..end,
    };
    Some(Verdict {
        span,
        reason: RemovalReason::SocialEmbed,
    })
}

fn tweet_footer(line: &str) -> Option<Verdict> {
    if !line.contains("(@") {
        return None;
    }
    let found = TWEET_FOOTER.find(line)?;
    let start = if line[..found.start()].trim().is_empty() {
        0
    } else {
        found.start()
    };
    Some(Verdict {
        span: start..line.len(),
        reason: RemovalReason::SocialEmbed,
    })
}

fn is_follow_prompt(folded: &str) -> bool {
    FOLLOW_PREFIXES.iter().any(|p| folded.starts_with(p))
        || (FOLLOW_VERBS.iter().any(|v| folded.contains(v))
            && SOCIAL_NETWORKS.iter().any(|n| folded.contains(n)))
}

fn is_share_prompt(folded: &str) -> bool {
    if SHARE_PREFIXES.iter().any(|p| folded.starts_with(p)) || folded == "share" || folded == "शेयर"
    {
        return true;
    }
    let mut words = folded
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | ',' | '·' | '•' | '/'))
        .filter(|w| !w.is_empty());
    let mut count = 0;
    let all_share_words = words.all(|w| {
        count += 1;
        SHARE_WORDS.contains(&w)
    });
    all_share_words && count >= 2
}

/// A matching key for `text`: ASCII lowercase, nukta and joiners dropped, chandrabindu
/// as anusvara, whitespace collapsed, so ब्राउज़र/ब्राउजर and खबरें/ख़बरें compare equal.
pub(crate) fn fold(text: &str) -> String {
    const NUKTA_BASES: [char; 8] = ['क', 'ख', 'ग', 'ज', 'ड', 'ढ', 'फ', 'य'];
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        let c = match c {
            '\u{0958}'..='\u{095F}' => NUKTA_BASES[c as usize - 0x0958],
            '\u{0929}' => 'न',
            '\u{0931}' => 'र',
            '\u{0934}' => 'ळ',
            '\u{0901}' => '\u{0902}',
            '\u{093C}' | '\u{200C}' | '\u{200D}' => continue,
            c if c.is_whitespace() => ' ',
            c => c.to_ascii_lowercase(),
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}
