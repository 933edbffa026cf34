//! Recognising the page furniture that scrapers leave in Hindi news text: browser
//! notices, "यह भी पढ़ें" / "Also Read" links, tweet-embed footers, follow and share
//! prompts. Each rule looks at one line and names the span to remove; rules match
//! whole lines or a trailing footer, never words inside an article sentence.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::clean::RemovalReason;
use super::credits::{self, LinePlace};
use super::fold::{fold, Folded};
use super::notices;

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

/// "— ANI (@ANI) August 15, 2025" (or "15 August 2025"), at the end of a line or
/// before more text: the end of the match is where the footer stops.
static TWEET_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    let date =
        format!(r"(?:{MONTH}\.?\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{MONTH}\.?,?\s+\d{{4}})");
    let pattern = format!(
        r"(?i)(?:^|\s)(?:[—–]|--?|&mdash;)\s*[^()]{{1,100}}?\s*\(@\w{{1,30}}\)\s*{date}(?:\s|$)"
    );
    Regex::new(&pattern).expect("the tweet footer pattern is a valid constant regex")
});

/// What to remove from one line (without its line break), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) span: Range<usize>,
    pub(crate) reason: RemovalReason,
}

/// The boilerplate spans in `line`, in order and without overlap: the whole line, or
/// junk at its start (stray danda, desk credit, dateline), inside it (a tweet footer
/// before more text) and at its end (footers, credits, picture tags).
pub(crate) fn classify(line: &str, place: LinePlace) -> Vec<Verdict> {
    let folded = Folded::new(line);
    if let Some(reason) = whole_line_reason(&folded, line) {
        return vec![Verdict {
            span: 0..line.len(),
            reason,
        }];
    }
    let mut verdicts = Vec::new();
    let mut at = 0;
    while let Some((len, reason)) = credits::leading(
        &folded.text[at..],
        &line[folded.original(at..at).start..],
        place,
        at > 0,
    ) {
        verdicts.push(Verdict {
            span: folded.original(at..at + len),
            reason,
        });
        at += len;
        if at >= folded.text.len() {
            return merge(verdicts, line);
        }
    }
    let body_start = folded.original(at..at).start;
    let mut body_end = line.len();
    if let Some((start, reason)) = credits::trailing(&folded.text[at..]) {
        let span = folded.original(at + start..folded.text.len());
        body_end = span.start;
        verdicts.push(Verdict { span, reason });
    }
    let body = &line[body_start..body_end];
    if let Some(verdict) = twitter_picture_link(body).or_else(|| tweet_footer(body)) {
        verdicts.push(Verdict {
            span: body_start + verdict.span.start..body_start + verdict.span.end,
            reason: verdict.reason,
        });
    }
    merge(verdicts, line)
}

/// Why the whole line is boilerplate, if it is.
fn whole_line_reason(folded: &Folded, line: &str) -> Option<RemovalReason> {
    let text = folded.text.as_str();
    let short = text.chars().count() <= MAX_PROMPT_CHARS;
    if short && (BROWSER_PHRASES.iter().any(|p| text.contains(p)) || BROWSER_LINES.contains(&text))
    {
        return Some(RemovalReason::BrowserNotice);
    }
    if RELATED_PREFIXES.iter().any(|p| starts_heading(text, p)) {
        return Some(RemovalReason::RelatedLink);
    }
    if text == "।" {
        return Some(RemovalReason::StrayPunctuation);
    }
    if let Some(reason) = notices::classify(text) {
        return Some(reason);
    }
    // "Source: … pic.twitter.com/…" is a tweet embed's attribution, not a photo credit.
    if !text.contains("pic.twitter.com/") {
        if let Some(reason) = credits::whole_line(folded, line) {
            return Some(reason);
        }
    }
    if short && is_follow_prompt(text) {
        return Some(RemovalReason::SocialEmbed);
    }
    if short && is_share_prompt(text) {
        return Some(RemovalReason::SharePrompt);
    }
    None
}

/// Sorts `verdicts`, joins overlapping ones, and widens them to the whole line when
/// nothing but whitespace and separators would be left.
fn merge(mut verdicts: Vec<Verdict>, line: &str) -> Vec<Verdict> {
    verdicts.sort_by_key(|v| v.span.start);
    let mut merged: Vec<Verdict> = Vec::with_capacity(verdicts.len());
    for verdict in verdicts {
        match merged.last_mut() {
            Some(last) if verdict.span.start < last.span.end => {
                last.span.end = last.span.end.max(verdict.span.end);
            }
            _ => merged.push(verdict),
        }
    }
    let mut kept = 0;
    let mut only_separators = true;
    for verdict in &merged {
        only_separators &= is_separator_only(&line[kept..verdict.span.start]);
        kept = verdict.span.end;
    }
    only_separators &= is_separator_only(&line[kept..]);
    if only_separators {
        // Nothing of the article is left: the spans tile the line, each kind reported.
        let mut start = 0;
        for verdict in &mut merged {
            verdict.span.start = start;
            start = verdict.span.end;
        }
        if let Some(last) = merged.last_mut() {
            last.span.end = line.len();
        }
    }
    merged
}

fn is_separator_only(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || "-–—:|,।.".contains(c))
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
    rest.is_empty()
        || rest.starts_with([':', '-', '–', '—', '|', '>', '»', '→', '…', '.', '/', '='])
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
    let footer_end = if rest.trim().is_empty() {
        Some(line.len())
    } else {
        TWEET_FOOTER
            .find(rest)
            .filter(|m| rest[..m.start()].trim().is_empty())
            .map(|m| match rest[m.end()..].trim().is_empty() {
                true => line.len(),
                false => end + m.end(),
            })
    };
    let span = match (attribution_only, footer_end) {
        (true, Some(footer_end)) => 0..footer_end,
        (false, Some(footer_end)) => start..footer_end,
        (_, None) => start..end,
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
    let end = if line[found.end()..].trim().is_empty() {
        line.len()
    } else {
        found.end()
    };
    Some(Verdict {
        span: start..end,
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
