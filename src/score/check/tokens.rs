//! Turns lexed text into the tokens quantities are built from, and rewrites the small
//! patterns whose meaning spans several tokens: "10.30 am" as a clock time, 15/08/2024
//! as a date, "2 1/2" and "1/2", "twenty-five", साढ़े तीन, "a million", "two and a half",
//! "half a million", and a month next to its day ("15 August", "Aug. 15", "15th of
//! August", "15 अगस्त").

use std::ops::Range;

use super::lexer::{RawKind, RawToken};
use super::phrases::{compound_words, hyphenated_scales, modifiers_articles_halves, month_dates};
use super::vocab::{is_hindi_ordinal_suffix, lookup, ATTACHED_K};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Num {
    pub value: f64,
    /// How precisely the text states the value (1 for "58,000", 0.1 for "2.5"); 0 is exact.
    pub unit: f64,
    /// Written as a word (पच्चीस, "twenty-five") rather than digits.
    pub word: bool,
    /// Integer digits as written; 0 for words.
    pub int_digits: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokKind {
    Num(Num),
    Scale(f64),
    Modifier(f64),
    Article,
    And,
    Half,
    Of,
    /// Range or list joint: "-", "–", "to", "or", से, या.
    Connector {
        hyphen: bool,
    },
    Slash,
    Dot,
    Month {
        month: u8,
        needs_number: bool,
    },
    Weekday(u8),
    Clock {
        hours: u32,
        minutes: u32,
    },
    Fraction {
        numerator: f64,
        denominator: f64,
    },
    Date {
        month: u8,
        day: u8,
    },
    Meridiem,
    /// Transparent: a Hindi ordinal ending glued to digits.
    Skip,
    /// Ends any quantity being built.
    Break,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tok {
    pub kind: TokKind,
    pub span: Range<usize>,
}

/// Classifies lexed tokens and applies every multi-token rewrite.
pub(crate) fn tokens(raw: &[RawToken]) -> Vec<Tok> {
    let toks = classify(raw);
    let toks = clock_times_with_meridiem(toks);
    let toks = numeric_dates(toks);
    let toks = fractions(toks);
    let toks = compound_words(toks);
    let toks = hyphenated_scales(toks);
    let toks = modifiers_articles_halves(toks);
    month_dates(toks)
}

pub(crate) fn tok(kind: TokKind, span: Range<usize>) -> Tok {
    Tok { kind, span }
}

pub(crate) fn joined(first: &Tok, last: &Tok) -> Range<usize> {
    first.span.start..last.span.end
}

fn classify(raw: &[RawToken]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(token) = raw.get(i) {
        let span = token.span.clone();
        i += 1;
        let kind = match &token.kind {
            RawKind::Numeral(n) => TokKind::Num(Num {
                value: n.value,
                unit: n.unit,
                word: false,
                int_digits: n.int_digits,
            }),
            RawKind::Clock { hours, minutes } => TokKind::Clock {
                hours: *hours,
                minutes: *minutes,
            },
            RawKind::Punct('-' | '–' | '—' | '~' | '\u{2011}') => {
                TokKind::Connector { hyphen: true }
            }
            RawKind::Punct('/' | '\u{2044}') => TokKind::Slash,
            RawKind::Punct('.') => TokKind::Dot,
            RawKind::Punct(_) => TokKind::Break,
            RawKind::Word(w) => {
                if let Some(end) = dotted_meridiem(raw, i - 1) {
                    out.push(tok(TokKind::Meridiem, span.start..end.1));
                    i = end.0;
                    continue;
                }
                if w.attached && w.key == "k" {
                    TokKind::Scale(ATTACHED_K)
                } else if w.attached && is_hindi_ordinal_suffix(&w.key) {
                    TokKind::Skip
                } else {
                    match lookup(&w.key) {
                        // "august" and "may" in lower case are ordinary words.
                        Some(TokKind::Month { .. }) if w.latin && !w.capitalized => TokKind::Break,
                        Some(kind) => kind,
                        None => TokKind::Break,
                    }
                }
            }
        };
        out.push(tok(kind, span));
    }
    out
}

/// "a.m." / "p.m." lexed as a . m . — returns (next raw index, byte end).
fn dotted_meridiem(raw: &[RawToken], at: usize) -> Option<(usize, usize)> {
    let word = |i: usize, want: &str| matches!(raw.get(i), Some(RawToken { kind: RawKind::Word(w), .. }) if w.key == want);
    let dot = |i: usize| {
        matches!(
            raw.get(i),
            Some(RawToken {
                kind: RawKind::Punct('.'),
                ..
            })
        )
    };
    if !((word(at, "a") || word(at, "p")) && dot(at + 1) && word(at + 2, "m")) {
        return None;
    }
    let last = if dot(at + 3) { at + 3 } else { at + 2 };
    raw.get(last).map(|t| (last + 1, t.span.end))
}

pub(crate) fn as_num(t: Option<&Tok>) -> Option<&Num> {
    match t {
        Some(Tok {
            kind: TokKind::Num(n),
            ..
        }) => Some(n),
        _ => None,
    }
}

pub(crate) fn is_integer(n: &Num) -> bool {
    n.value.fract() == 0.0 && n.unit >= 1.0
}

/// "10.30 am" is half past ten, not ten point three.
fn clock_times_with_meridiem(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        let next_is_meridiem = matches!(
            toks.get(i + 1),
            Some(Tok {
                kind: TokKind::Meridiem,
                ..
            })
        );
        if let (Some(n), true) = (as_num(Some(t)), next_is_meridiem) {
            let hours = n.value.trunc();
            let minutes = ((n.value - hours) * 100.0).round();
            if !n.word && (n.unit - 0.01).abs() < 1e-12 && hours <= 24.0 && minutes <= 59.0 {
                out.push(tok(
                    TokKind::Clock {
                        hours: hours as u32,
                        minutes: minutes as u32,
                    },
                    t.span.clone(),
                ));
                continue;
            }
        }
        out.push(t.clone());
    }
    out
}

/// dd/mm/yyyy, dd-mm-yyyy and dd.mm.yyyy (the last lexes as "dd.mm" "." "yyyy"), and
/// ISO yyyy-mm-dd (or yyyy/mm/dd), whose year stays a number of its own.
fn numeric_dates(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let day_month = |d: &Num, m: &Num| {
            let ok = !d.word && !m.word && is_integer(d) && is_integer(m);
            (ok && (1.0..=31.0).contains(&d.value) && (1.0..=12.0).contains(&m.value))
                .then_some((m.value as u8, d.value as u8))
        };
        let is_year =
            |n: Option<&Num>| n.is_some_and(|n| !n.word && n.int_digits == 4 && is_integer(n));
        let sep = |j: usize| toks.get(j).map(|t| &t.kind);
        let same_sep = matches!(
            (sep(i + 1), sep(i + 3)),
            (Some(TokKind::Slash), Some(TokKind::Slash))
                | (Some(TokKind::Dot), Some(TokKind::Dot))
                | (
                    Some(TokKind::Connector { hyphen: true }),
                    Some(TokKind::Connector { hyphen: true })
                )
        );
        if let (Some(d), Some(m), true, true) = (
            as_num(toks.get(i)),
            as_num(toks.get(i + 2)),
            same_sep,
            is_year(as_num(toks.get(i + 4))),
        ) {
            if let Some((month, day)) = day_month(d, m) {
                out.push(tok(
                    TokKind::Date { month, day },
                    joined(&toks[i], &toks[i + 2]),
                ));
                i += 4;
                continue;
            }
        }
        if let (true, Some(m), Some(d), true) = (
            is_year(as_num(toks.get(i))),
            as_num(toks.get(i + 2)),
            as_num(toks.get(i + 4)),
            same_sep,
        ) {
            let day_after = !matches!(sep(i + 5), Some(TokKind::Connector { .. } | TokKind::Slash));
            if let Some((month, day)) = day_month(d, m).filter(|_| day_after && d.int_digits == 2) {
                out.push(toks[i].clone());
                out.push(tok(
                    TokKind::Date { month, day },
                    joined(&toks[i + 2], &toks[i + 4]),
                ));
                i += 5;
                continue;
            }
        }
        if let (Some(dm), Some(TokKind::Dot), true) = (
            as_num(toks.get(i)),
            sep(i + 1),
            is_year(as_num(toks.get(i + 2))),
        ) {
            let day = dm.value.trunc();
            let month = ((dm.value - day) * 100.0).round();
            let two_decimals = (dm.unit - 0.01).abs() < 1e-12;
            if !dm.word
                && two_decimals
                && (1.0..=31.0).contains(&day)
                && (1.0..=12.0).contains(&month)
            {
                out.push(tok(
                    TokKind::Date {
                        month: month as u8,
                        day: day as u8,
                    },
                    toks[i].span.clone(),
                ));
                i += 2;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// "1/2" becomes a fraction and "2 1/2" a mixed number; longer slash chains stay apart.
fn fractions(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    let slash = |j: usize| {
        matches!(
            toks.get(j),
            Some(Tok {
                kind: TokKind::Slash,
                ..
            })
        )
    };
    while i < toks.len() {
        let plain_int = |n: Option<&Num>| n.filter(|n| !n.word && is_integer(n)).map(|n| n.value);
        let pair = (
            plain_int(as_num(toks.get(i))),
            plain_int(as_num(toks.get(i + 2))),
        );
        let chain = (i > 0 && slash(i - 1)) || slash(i + 3);
        if let (Some(numerator), Some(denominator), true, false) =
            (pair.0, pair.1, slash(i + 1), chain)
        {
            if denominator != 0.0 {
                let span = joined(&toks[i], &toks[i + 2]);
                let whole = out.last().and_then(|t| {
                    as_num(Some(t))
                        .filter(|n| !n.word && is_integer(n))
                        .map(|n| n.value)
                });
                match whole {
                    Some(whole) if numerator < denominator => {
                        let start = out.pop().map_or(span.start, |t| t.span.start);
                        let value = whole + numerator / denominator;
                        let num = Num {
                            value,
                            unit: 0.0,
                            word: false,
                            int_digits: 0,
                        };
                        out.push(tok(TokKind::Num(num), start..span.end));
                    }
                    _ => out.push(tok(
                        TokKind::Fraction {
                            numerator,
                            denominator,
                        },
                        span,
                    )),
                }
                i += 3;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}
