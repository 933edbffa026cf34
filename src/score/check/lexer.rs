//! Splits text into numerals, words and punctuation with byte spans. Numerals are read
//! in every written form the check supports: ASCII and Devanagari digits, Western
//! (100,000) and Indian (1,00,000) grouping, decimals, clock times (10:30), vulgar
//! fractions (2½) and English suffixes glued to digits (15th, 1990s, 50k, 5bn).

use std::ops::Range;

use super::vocab::fold_key;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawKind {
    Numeral(Numeral),
    /// `h:mm`
    Clock {
        hours: u32,
        minutes: u32,
    },
    Word(Word),
    Punct(char),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Numeral {
    pub value: f64,
    /// 10^-decimals, or 0 when a vulgar fraction makes the value exact.
    pub unit: f64,
    /// Digits before the decimal point, grouping commas not counted.
    pub int_digits: usize,
    pub decimals: usize,
    pub ordinal: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Word {
    /// The word as [`fold_key`] folds it.
    pub key: String,
    pub capitalized: bool,
    pub latin: bool,
    /// Glued to the numeral before it, as in "50k" or "21वीं".
    pub attached: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawToken {
    pub kind: RawKind,
    pub span: Range<usize>,
}

pub(crate) fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{0966}'..='\u{096f}' => Some(c as u32 - 0x0966),
        _ => None,
    }
}

fn vulgar_fraction(c: char) -> Option<f64> {
    Some(match c {
        '½' => 0.5,
        '¼' => 0.25,
        '¾' => 0.75,
        '⅓' => 1.0 / 3.0,
        '⅔' => 2.0 / 3.0,
        '⅕' => 0.2,
        '⅛' => 0.125,
        '⅜' => 0.375,
        '⅝' => 0.625,
        '⅞' => 0.875,
        _ => return None,
    })
}

fn is_word_char(c: char) -> bool {
    match c {
        '\u{0964}' | '\u{0965}' | '\u{0966}'..='\u{0970}' => false,
        '\u{0900}'..='\u{097f}' | '\u{200c}' | '\u{200d}' => true,
        _ => c.is_alphabetic(),
    }
}

/// Text as tokens; whitespace separates and is dropped.
pub(crate) fn lex(text: &str) -> Vec<RawToken> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&(start, c)) = chars.get(i) {
        if digit_value(c).is_some() {
            match lex_numeral(&chars, i) {
                Lexed::Numeral(kind, next) => {
                    tokens.push(RawToken {
                        kind,
                        span: start..byte_at(next),
                    });
                    i = lex_numeral_suffix(text, &chars, next, &mut tokens);
                }
                Lexed::Ungrouped { groups, last_start } => {
                    // "10,20,300" is a list: each group is its own number, and the
                    // last one is lexed afresh so it may still carry decimals or an
                    // ending. Never rescanning the chain keeps lexing linear.
                    for (value, digits) in groups {
                        let numeral = Numeral {
                            value,
                            unit: 1.0,
                            int_digits: digits.len(),
                            decimals: 0,
                            ordinal: false,
                        };
                        let comma = digits.end;
                        tokens.push(RawToken {
                            kind: RawKind::Numeral(numeral),
                            span: byte_at(digits.start)..byte_at(comma),
                        });
                        tokens.push(RawToken {
                            kind: RawKind::Punct(','),
                            span: byte_at(comma)..byte_at(comma + 1),
                        });
                    }
                    i = last_start;
                }
            }
        } else if let Some(value) = vulgar_fraction(c) {
            tokens.push(RawToken {
                kind: RawKind::Numeral(Numeral {
                    value,
                    unit: 0.0,
                    int_digits: 0,
                    decimals: 0,
                    ordinal: false,
                }),
                span: start..byte_at(i + 1),
            });
            i += 1;
        } else if is_word_char(c) {
            let mut end = i;
            while chars.get(end).is_some_and(|&(_, c)| is_word_char(c)) {
                end += 1;
            }
            let raw = &text[start..byte_at(end)];
            tokens.push(RawToken {
                kind: RawKind::Word(Word {
                    key: fold_key(raw),
                    capitalized: c.is_uppercase(),
                    latin: c.is_ascii_alphabetic(),
                    attached: false,
                }),
                span: start..byte_at(end),
            });
            i = end;
        } else {
            if !c.is_whitespace() {
                tokens.push(RawToken {
                    kind: RawKind::Punct(c),
                    span: start..byte_at(i + 1),
                });
            }
            i += 1;
        }
    }
    tokens
}

enum Lexed {
    /// A numeral or clock time and the char index after it.
    Numeral(RawKind, usize),
    /// Comma-joined digit groups that are no valid grouping: every group but the last
    /// (value, char range), and where the last one starts.
    Ungrouped {
        groups: Vec<(f64, Range<usize>)>,
        last_start: usize,
    },
}

/// Reads digits with grouping commas, an optional decimal part, a clock time or a
/// glued vulgar fraction, starting at a digit.
fn lex_numeral(chars: &[(usize, char)], start: usize) -> Lexed {
    let is_digit = |i: usize| chars.get(i).is_some_and(|&(_, c)| digit_value(c).is_some());
    let is_char = |i: usize, want: char| chars.get(i).is_some_and(|&(_, c)| c == want);
    let digits_from = |mut i: usize| {
        let mut digits = String::new();
        while let Some(d) = chars.get(i).and_then(|&(_, c)| digit_value(c)) {
            digits.push(char::from_digit(d, 10).unwrap_or('0'));
            i += 1;
        }
        (digits, i)
    };

    let (first, mut i) = digits_from(start);
    let mut groups = vec![first];
    let mut starts = vec![start];
    while is_char(i, ',') && is_digit(i + 1) {
        let (group, next) = digits_from(i + 1);
        groups.push(group);
        starts.push(i + 1);
        i = next;
    }
    if groups.len() > 1 && !valid_grouping(&groups) {
        let last_start = starts.last().copied().unwrap_or(start);
        let listed = groups
            .iter()
            .zip(&starts)
            .take(groups.len() - 1)
            .map(|(g, &at)| (g.parse().unwrap_or(f64::NAN), at..at + g.chars().count()))
            .collect();
        return Lexed::Ungrouped {
            groups: listed,
            last_start,
        };
    }
    let integer: String = groups.concat();

    if groups.len() == 1 && is_char(i, ':') {
        let (minutes, next) = digits_from(i + 1);
        let hours: u32 = integer.parse().unwrap_or(u32::MAX);
        let mins: u32 = minutes.parse().unwrap_or(u32::MAX);
        if minutes.len() == 2 && hours <= 24 && mins <= 59 {
            return Lexed::Numeral(
                RawKind::Clock {
                    hours,
                    minutes: mins,
                },
                next,
            );
        }
    }

    let mut decimals = String::new();
    if is_char(i, '.') && is_digit(i + 1) {
        let (fraction, next) = digits_from(i + 1);
        decimals = fraction;
        i = next;
    }
    let text = if decimals.is_empty() {
        integer.clone()
    } else {
        format!("{integer}.{decimals}")
    };
    let mut value: f64 = text.parse().unwrap_or(f64::NAN);
    let mut unit = 10f64.powi(-(decimals.len().min(300) as i32));
    if decimals.is_empty() {
        if let Some(fraction) = chars.get(i).and_then(|&(_, c)| vulgar_fraction(c)) {
            value += fraction;
            unit = 0.0;
            i += 1;
        }
    }
    let numeral = Numeral {
        value,
        unit,
        int_digits: integer.len(),
        decimals: decimals.len(),
        ordinal: false,
    };
    Lexed::Numeral(RawKind::Numeral(numeral), i)
}

/// Western groups are all three digits; Indian groups are two, with three at the end.
fn valid_grouping(groups: &[String]) -> bool {
    let Some((first, rest)) = groups.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    let western = (1..=3).contains(&first.len()) && rest.iter().all(|g| g.len() == 3);
    let indian =
        (1..=2).contains(&first.len()) && last.len() == 3 && middle.iter().all(|g| g.len() == 2);
    western || indian
}

/// Letters glued to a numeral. An ordinal or plural ending ("15th", "1990s") is absorbed
/// into it; anything else ("50k", "5bn", "10am", "21वीं") becomes a word marked
/// `attached`. Returns where lexing goes on.
fn lex_numeral_suffix(
    text: &str,
    chars: &[(usize, char)],
    at: usize,
    tokens: &mut Vec<RawToken>,
) -> usize {
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let run = latin_run(chars, at);
    if is_ordinal_or_plural(&run) {
        if let Some(RawToken {
            kind: RawKind::Numeral(numeral),
            span,
        }) = tokens.last_mut()
        {
            numeral.ordinal = run.len() == 2;
            span.end = byte_at(at + run.len());
        }
        return at + run.len();
    }
    let mut end = at;
    while chars.get(end).is_some_and(|&(_, c)| is_word_char(c)) {
        end += 1;
    }
    if end == at {
        return at;
    }
    let raw = &text[byte_at(at)..byte_at(end)];
    tokens.push(RawToken {
        kind: RawKind::Word(Word {
            key: fold_key(raw),
            capitalized: false,
            latin: raw.starts_with(|c: char| c.is_ascii_alphabetic()),
            attached: true,
        }),
        span: byte_at(at)..byte_at(end),
    });
    end
}

fn latin_run(chars: &[(usize, char)], at: usize) -> String {
    chars[at.min(chars.len())..]
        .iter()
        .map(|&(_, c)| c)
        .take_while(char::is_ascii_alphabetic)
        .collect()
}

fn is_ordinal_or_plural(run: &str) -> bool {
    matches!(
        run.to_ascii_lowercase().as_str(),
        "st" | "nd" | "rd" | "th" | "s"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numerals(text: &str) -> Vec<f64> {
        lex(text)
            .into_iter()
            .filter_map(|t| match t.kind {
                RawKind::Numeral(n) => Some(n.value),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn grouping_is_kept_only_when_it_is_western_or_indian() {
        assert_eq!(
            numerals("1,00,000 and 100,000 and १२,३४,५६७.५"),
            [100_000.0, 100_000.0, 1_234_567.5]
        );
        assert_eq!(numerals("10,20 and 1,0000"), [10.0, 20.0, 1.0, 0.0]);
        assert_eq!(numerals("Year 2019. Next"), [2019.0]);
    }

    #[test]
    fn endings_glued_to_digits() {
        let tokens = lex("15th 1990s 50k 21वीं 10:30am");
        let kinds: Vec<&RawKind> = tokens.iter().map(|t| &t.kind).collect();
        assert!(matches!(kinds[0], RawKind::Numeral(n) if n.ordinal && n.value == 15.0));
        assert!(matches!(kinds[1], RawKind::Numeral(n) if !n.ordinal && n.value == 1990.0));
        assert!(matches!(kinds[3], RawKind::Word(w) if w.attached && w.key == "k"));
        assert!(matches!(kinds[5], RawKind::Word(w) if w.attached && !w.latin));
        assert!(matches!(
            kinds[6],
            RawKind::Clock {
                hours: 10,
                minutes: 30
            }
        ));
        assert_eq!(tokens[0].span, 0..4);
    }
}
