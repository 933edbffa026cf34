//! The faithfulness check for numbers: lists every number, date, month and weekday in
//! an English output that the Hindi source cannot account for. It only warns; it never
//! changes the output.
//!
//! Both texts are read by the same rules (see [`quantity`]): digits in ASCII or
//! Devanagari, Western or Indian grouping, decimals, fractions, Hindi and English number
//! words, and scales (हजार/लाख/करोड़/अरब, thousand/lakh/million/crore/billion), so
//! "58 हजार" supports "58,000" and "58 thousand", "2 लाख" supports "200,000",
//! "0.2 million" and "2 lakh", and "15 अगस्त" supports "August 15" and "15th August".
//!
//! The rules that decide what counts as traced:
//! - A number is traced when some source quantity equals it at the precision the output
//!   writes it: "58,000" needs exactly 58,000; "58 thousand" accepts 57,500..58,500;
//!   "2.5" accepts 2.45..2.55. Units and currencies are not compared.
//! - A date (month and day) is traced only when the source has that same date
//!   ("15 अगस्त", "अगस्त 15", "15-16 अगस्त", "15/08/2024", "15-08-2024", "2024-08-15").
//!   Its day alone ("the 15th") is a number, traced by the source's day.
//! - A month or weekday on its own is traced when the source names it.
//! - The word "one" alone is never flagged: it is as often a pronoun ("one of them")
//!   or an article as a count. "one million", "1" and "one hundred" are checked.
//! - Numbers too long for an f64 (hundreds of digits) are not checked.
//! - Not read as numbers: ordinal words ("first", "second"), "half" alone, "both",
//!   "dozens of"/"thousands of" without a numeral, May/March/Aug without a number
//!   beside them, and lower-case month names.

mod lexer;
mod phrases;
mod quantity;
mod tokens;
mod vocab;
mod words;

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::calendar::{MONTH_NAMES, WEEKDAY_NAMES};
use quantity::{Mention, MentionKind, Quantity};

/// One number or date in the output that the source does not support.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The mention as the output writes it.
    pub text: String,
    /// Byte range of `text` in the output.
    pub span: Range<usize>,
    pub kind: FindingKind,
    /// Why it is untraced, in one line.
    pub reason: String,
}

/// What kind of mention a [`Finding`] is, with the value the check read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FindingKind {
    Number {
        value: f64,
    },
    Date {
        month: u8,
        day: u8,
    },
    Month {
        month: u8,
    },
    /// 1 is Monday.
    Weekday {
        weekday: u8,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} (bytes {}..{}): {}",
            self.text, self.span.start, self.span.end, self.reason
        )
    }
}

/// Lists numbers, dates, months and weekdays in `output_english` that cannot be traced
/// to `source_hindi`, in output order.
pub fn check_numbers(source_hindi: &str, output_english: &str) -> Vec<Finding> {
    SourceQuantities::from_source(source_hindi).check(output_english)
}

/// Everything a source states: quantities, dates, months and weekdays. Build it once to
/// check several outputs of the same source.
#[derive(Debug, Clone, Default)]
pub struct SourceQuantities {
    values: Vec<f64>,
    dates: HashSet<(u8, u8)>,
    months: HashSet<u8>,
    weekdays: HashSet<u8>,
}

fn read_mentions(text: &str) -> Vec<Mention> {
    quantity::mentions(&tokens::tokens(&lexer::lex(text)))
}

impl SourceQuantities {
    pub fn from_source(source: &str) -> Self {
        let mut facts = SourceQuantities::default();
        for mention in read_mentions(source) {
            match mention.kind {
                MentionKind::Quantity(q) => {
                    facts.values.push(q.value);
                    facts.values.extend(q.alternatives);
                    facts.values.extend(q.parts);
                }
                MentionKind::Date { month, day } => {
                    facts.dates.insert((month, day));
                    facts.months.insert(month);
                    facts.values.push(f64::from(day));
                }
                MentionKind::Month(month) => {
                    facts.months.insert(month);
                }
                MentionKind::Weekday(day) => {
                    facts.weekdays.insert(day);
                }
            }
        }
        facts.values.retain(|v| v.is_finite());
        facts.values.sort_by(f64::total_cmp);
        facts
    }

    /// The findings for one output.
    pub fn check(&self, output: &str) -> Vec<Finding> {
        read_mentions(output)
            .into_iter()
            .filter_map(|mention| self.finding(output, mention))
            .collect()
    }

    /// Whether some source value equals `written` once rounded to precision `unit`.
    fn has_value(&self, written: f64, unit: f64) -> bool {
        let slack = tolerance(written, unit);
        if !written.is_finite() || !slack.is_finite() {
            return false;
        }
        // `values` is sorted: the first one not below the window decides.
        let first = self.values.partition_point(|&v| v < written - slack);
        self.values
            .get(first)
            .is_some_and(|&v| v <= written + slack)
    }

    fn finding(&self, output: &str, mention: Mention) -> Option<Finding> {
        let (kind, reason) = match mention.kind {
            MentionKind::Quantity(q) => {
                // A value beyond f64 (hundreds of digits) states no checkable quantity.
                if !q.has_number || q.lone_one || !q.value.is_finite() || self.quantity_traced(&q) {
                    return None;
                }
                let mut reason = format!("no quantity in the source is {}", show(q.value));
                if q.unit > 1.0 {
                    reason += &format!(" to the nearest {}", show(q.unit));
                }
                if !q.parts.is_empty() {
                    let parts: Vec<String> = q.parts.iter().map(|&p| show(p)).collect();
                    reason += &format!(", nor does it have all of {}", parts.join(" and "));
                }
                (FindingKind::Number { value: q.value }, reason)
            }
            MentionKind::Date { month, day } => {
                let traced = self.dates.contains(&(month, day));
                if traced {
                    return None;
                }
                let reason = format!("the source has no date {} {day}", month_name(month));
                (FindingKind::Date { month, day }, reason)
            }
            MentionKind::Month(month) => {
                if self.months.contains(&month) {
                    return None;
                }
                (
                    FindingKind::Month { month },
                    format!("the source never names {}", month_name(month)),
                )
            }
            MentionKind::Weekday(weekday) => {
                if self.weekdays.contains(&weekday) {
                    return None;
                }
                let name = WEEKDAY_NAMES
                    .get(usize::from(weekday).wrapping_sub(1))
                    .copied()
                    .unwrap_or("that weekday");
                (
                    FindingKind::Weekday { weekday },
                    format!("the source never names {name}"),
                )
            }
        };
        Some(Finding {
            text: output
                .get(mention.span.clone())
                .unwrap_or_default()
                .to_owned(),
            span: mention.span,
            kind,
            reason,
        })
    }

    fn quantity_traced(&self, q: &Quantity) -> bool {
        std::iter::once(q.value)
            .chain(q.alternatives.iter().copied())
            .any(|v| self.has_value(v, q.unit))
            || (!q.parts.is_empty() && q.parts.iter().all(|&p| self.has_value(p, 0.0)))
    }
}

/// How far a source value may sit from the written one: half the written precision,
/// plus a hair for floating point.
fn tolerance(written: f64, unit: f64) -> f64 {
    let unit = if unit.is_finite() { unit.abs() } else { 0.0 };
    unit / 2.0 + 1e-9 * written.abs().max(1.0)
}

fn month_name(month: u8) -> &'static str {
    MONTH_NAMES
        .get(usize::from(month).wrapping_sub(1))
        .copied()
        .unwrap_or("that month")
}

/// A number for a message: integers without decimals, others with up to four.
fn show(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}
