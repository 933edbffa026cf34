//! Builds quantities out of number and scale tokens, the same way for Hindi and English:
//! "58 हजार" = 58,000, "2 लाख 50 हजार" = 250,000, "2.5 लाख करोड़" = 2.5 × 10¹²,
//! "दो हजार पांच सौ" = 2,500, "one hundred and twenty thousand" = 120,000. A range
//! shares its scale ("10 से 15 हजार", "10-15 million": the 10 may mean 10,000), and a
//! fiscal year's short end ("2023-24") may mean 2024. Every result is a [`Mention`].

use std::ops::Range;

use super::tokens::{Num, Tok, TokKind};

/// Something in a text that states a number or a date.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mention {
    pub span: Range<usize>,
    pub kind: MentionKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MentionKind {
    Quantity(Quantity),
    Date { month: u8, day: u8 },
    Month(u8),
    Weekday(u8),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantity {
    pub value: f64,
    /// The precision the text states the value at (1 for "58,000", 1,000 for "58
    /// thousand", 0 for exact forms such as "2 1/2").
    pub unit: f64,
    /// Other readings of the same words (a range's shared scale, a fiscal year's end,
    /// a 24-hour clock read on a 12-hour dial).
    pub alternatives: Vec<f64>,
    /// Numbers that together also account for it ("10:30" = 10 and 30; "15/8").
    pub parts: Vec<f64>,
    /// False for a scale without a numeral ("thousands", bare हजार).
    pub has_number: bool,
    /// The word "one" (or एक) alone, which is often a pronoun or an article.
    pub lone_one: bool,
}

impl Quantity {
    fn of(value: f64, unit: f64) -> Self {
        Quantity {
            value,
            unit,
            alternatives: Vec::new(),
            parts: Vec::new(),
            has_number: true,
            lone_one: false,
        }
    }
}

/// A quantity under construction: committed scaled terms plus a number awaiting a scale.
struct Builder {
    start: usize,
    end: usize,
    /// Where the text stood after the last scale, in case the pending number leaves.
    committed_end: usize,
    total: f64,
    pending: Option<(Num, Range<usize>)>,
    last_scale: Option<f64>,
    unit: f64,
    has_number: bool,
    /// The product of scales while the quantity is one number times scales.
    multiplier: Option<f64>,
    tokens: usize,
    first_is_word_one: bool,
    first_int_digits: usize,
    /// The group a connector closed right before this one started, and whether that
    /// connector was a hyphen.
    linked_from: Option<(usize, bool)>,
}

struct Finished {
    mention: Mention,
    linked_from: Option<(usize, bool)>,
    scaled: bool,
    multiplier: Option<f64>,
    int_digits: usize,
}

/// What range rules need to know about a finished group.
struct Group {
    index: usize,
    scaled: bool,
    value: f64,
    has_number: bool,
    int_digits: usize,
}

impl Builder {
    fn number(n: Num, span: Range<usize>, linked_from: Option<(usize, bool)>) -> Self {
        Builder {
            start: span.start,
            end: span.end,
            committed_end: span.start,
            total: 0.0,
            first_is_word_one: n.word && n.value == 1.0,
            first_int_digits: n.int_digits,
            pending: Some((n, span)),
            last_scale: None,
            unit: f64::INFINITY,
            has_number: true,
            multiplier: Some(1.0),
            tokens: 1,
            linked_from,
        }
    }

    fn bare_scale(scale: f64, span: Range<usize>) -> Self {
        Builder {
            start: span.start,
            end: span.end,
            committed_end: span.end,
            total: scale,
            pending: None,
            last_scale: Some(scale),
            unit: scale,
            has_number: false,
            multiplier: None,
            tokens: 1,
            first_is_word_one: false,
            first_int_digits: 0,
            linked_from: None,
        }
    }

    /// Applies a scale; false (and nothing changed) when it cannot join this quantity.
    fn scale(&mut self, s: f64, span: &Range<usize>) -> bool {
        let pending = self.pending.as_ref().map(|(n, _)| n.clone());
        match (pending, self.last_scale) {
            (Some(n), None) => {
                self.total = n.value * s;
                self.unit = n.unit * s;
                self.multiplier = self.multiplier.map(|m| m * s);
            }
            (Some(n), Some(last)) if s < last => {
                self.total += n.value * s;
                self.unit = self.unit.min(n.unit * s);
                self.multiplier = None;
            }
            (Some(n), Some(last)) if s > last => {
                self.total = (self.total + n.value) * s;
                self.unit = self.unit.min(n.unit) * s;
                self.multiplier = None;
            }
            (None, Some(last)) if s > last => {
                self.total *= s;
                self.unit *= s;
                self.multiplier = self.multiplier.map(|m| m * s);
            }
            _ => return false,
        }
        self.pending = None;
        self.last_scale = Some(s);
        self.tokens += 1;
        self.end = span.end;
        self.committed_end = span.end;
        true
    }

    fn finish(self) -> Finished {
        let (value, unit) = match (&self.pending, self.last_scale) {
            (Some((n, _)), Some(_)) => (self.total + n.value, self.unit.min(n.unit)),
            (Some((n, _)), None) => (n.value, n.unit),
            (None, _) => (self.total, self.unit),
        };
        let scaled = self.last_scale.is_some() && self.has_number;
        let mut quantity = Quantity::of(value, unit);
        quantity.has_number = self.has_number;
        quantity.lone_one = self.first_is_word_one && self.tokens == 1;
        Finished {
            mention: Mention {
                span: self.start..self.end,
                kind: MentionKind::Quantity(quantity),
            },
            linked_from: self.linked_from,
            scaled,
            multiplier: self.multiplier.filter(|_| scaled),
            int_digits: if self.tokens == 1 {
                self.first_int_digits
            } else {
                0
            },
        }
    }
}

/// Collects mentions while walking the tokens.
#[derive(Default)]
struct Walk {
    out: Vec<Mention>,
    groups: Vec<Group>,
    current: Option<Builder>,
    /// (mention index, hyphen, token index) of the group a connector just closed.
    link: Option<(usize, bool, usize)>,
}

impl Walk {
    fn close(&mut self) {
        if let Some(builder) = self.current.take() {
            self.push(builder.finish());
        }
    }

    fn push(&mut self, finished: Finished) {
        let index = self.out.len();
        let (value, has_number) = match &finished.mention.kind {
            MentionKind::Quantity(q) => (q.value, q.has_number),
            _ => (0.0, false),
        };
        self.out.push(finished.mention);
        if let Some((prev, hyphen)) = finished.linked_from {
            self.share_range(
                prev,
                index,
                hyphen,
                finished.multiplier,
                finished.int_digits,
            );
        }
        self.groups.push(Group {
            index,
            scaled: finished.scaled,
            value,
            has_number,
            int_digits: finished.int_digits,
        });
    }

    /// "10 से 15 हजार" and "10-15 million": the bare first end may share the second's
    /// scale. "2023-24": the short end of a fiscal year may mean 2024.
    fn share_range(
        &mut self,
        prev: usize,
        index: usize,
        hyphen: bool,
        multiplier: Option<f64>,
        int_digits: usize,
    ) {
        // Groups are pushed in mention order, so their indices are sorted.
        let Ok(at) = self.groups.binary_search_by_key(&prev, |g| g.index) else {
            return;
        };
        let first = &self.groups[at];
        if first.scaled || !first.has_number {
            return;
        }
        let (first_value, first_digits) = (first.value, first.int_digits);
        if let (Some(m), Some(MentionKind::Quantity(q))) =
            (multiplier, self.out.get_mut(prev).map(|m| &mut m.kind))
        {
            q.alternatives.push(first_value * m);
        }
        let fiscal = hyphen && first_digits == 4 && int_digits == 2;
        if let (true, Some(MentionKind::Quantity(q))) =
            (fiscal, self.out.get_mut(index).map(|m| &mut m.kind))
        {
            let mut year = (first_value / 100.0).floor() * 100.0 + q.value;
            if year < first_value {
                year += 100.0;
            }
            q.alternatives.push(year);
        }
    }

    fn connector(&mut self, hyphen: bool, at: usize) {
        let closed = self.out.len();
        let had = self.current.is_some();
        self.close();
        self.link = had.then_some((closed, hyphen, at));
    }

    fn number(&mut self, n: &Num, span: &Range<usize>, next: Option<&TokKind>, at: usize) {
        let joins = self.current.as_ref().is_some_and(|b| {
            let below_last = b.pending.is_none() && b.last_scale.is_some_and(|s| n.value < s) && b.has_number;
            let smaller_scale_next = matches!((next, b.last_scale), (Some(TokKind::Scale(next)), Some(last)) if *next < last);
            below_last && (n.word || smaller_scale_next)
        });
        match (joins, self.current.as_mut()) {
            (true, Some(b)) => {
                b.pending = Some((n.clone(), span.clone()));
                b.end = span.end;
                b.tokens += 1;
                b.multiplier = None;
            }
            _ => {
                self.close();
                let linked = self
                    .link
                    .filter(|&(_, _, c)| c + 1 == at)
                    .map(|(g, h, _)| (g, h));
                self.current = Some(Builder::number(n.clone(), span.clone(), linked));
            }
        }
    }

    fn scale(&mut self, s: f64, span: &Range<usize>) {
        if self.current.as_mut().is_some_and(|b| b.scale(s, span)) {
            return;
        }
        // "5 हजार 10 हजार": the 10 leaves the first quantity and starts its own.
        let moved = self.current.as_mut().and_then(|b| {
            let pending = b.pending.take();
            b.end = b.committed_end;
            pending
        });
        self.close();
        self.current = Some(match moved {
            Some((n, nspan)) => {
                let mut b = Builder::number(n, nspan, None);
                b.scale(s, span);
                b
            }
            None => Builder::bare_scale(s, span.clone()),
        });
    }
}

/// All mentions in a token stream, in text order.
pub(crate) fn mentions(toks: &[Tok]) -> Vec<Mention> {
    let mut walk = Walk::default();
    for (i, t) in toks.iter().enumerate() {
        let next = toks.get(i + 1).map(|t| &t.kind);
        match &t.kind {
            TokKind::Num(n) => walk.number(n, &t.span, next, i),
            TokKind::Scale(s) => walk.scale(*s, &t.span),
            TokKind::And => {
                // "one hundred and twenty": `and` inside a number written in words.
                let inside = walk.current.as_ref().is_some_and(|b| {
                    b.pending.is_none() && matches!((next, b.last_scale), (Some(TokKind::Num(n)), Some(last)) if n.word && n.value < last)
                });
                if !inside {
                    walk.connector(false, i);
                }
            }
            TokKind::Connector { hyphen } => walk.connector(*hyphen, i),
            TokKind::Skip => {}
            other => {
                walk.close();
                if let Some(kind) = standalone(other) {
                    walk.out.push(Mention {
                        span: t.span.clone(),
                        kind,
                    });
                }
            }
        }
    }
    walk.close();
    walk.out
}

/// Tokens that are mentions on their own.
fn standalone(kind: &TokKind) -> Option<MentionKind> {
    Some(match *kind {
        TokKind::Date { month, day } => MentionKind::Date { month, day },
        TokKind::Month { month, .. } => MentionKind::Month(month),
        TokKind::Weekday(d) => MentionKind::Weekday(d),
        TokKind::Clock { hours, minutes } => {
            let (h, m) = (f64::from(hours), f64::from(minutes));
            let mut q = Quantity::of(h + m / 60.0, 1.0 / 60.0);
            q.alternatives.push(f64::from(hours % 12) + m / 60.0);
            q.parts = if minutes == 0 { vec![h] } else { vec![h, m] };
            MentionKind::Quantity(q)
        }
        TokKind::Fraction {
            numerator,
            denominator,
        } => {
            let mut q = Quantity::of(numerator / denominator, 0.0);
            q.parts = vec![numerator, denominator];
            MentionKind::Quantity(q)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{lexer, tokens};
    use super::*;

    fn values(text: &str) -> Vec<(f64, Vec<f64>)> {
        mentions(&tokens::tokens(&lexer::lex(text)))
            .into_iter()
            .filter_map(|m| match m.kind {
                MentionKind::Quantity(q) if q.has_number => Some((q.value, q.alternatives)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn scales_add_when_falling_and_multiply_when_rising() {
        assert_eq!(values("दो हजार पांच सौ"), [(2_500.0, vec![])]);
        assert_eq!(values("2 लाख 50 हजार"), [(250_000.0, vec![])]);
        assert_eq!(values("2.5 लाख करोड़"), [(2.5e12, vec![])]);
        assert_eq!(
            values("one hundred and twenty thousand"),
            [(120_000.0, vec![])]
        );
        assert_eq!(
            values("5 हजार 10 हजार"),
            [(5_000.0, vec![]), (10_000.0, vec![])]
        );
        assert_eq!(values("5 हजार 10 लोग"), [(5_000.0, vec![]), (10.0, vec![])]);
    }

    #[test]
    fn ranges_share_scales_and_fiscal_years_complete() {
        assert_eq!(
            values("10 से 15 हजार"),
            [(10.0, vec![10_000.0]), (15_000.0, vec![])]
        );
        assert_eq!(values("2023-24"), [(2023.0, vec![]), (24.0, vec![2024.0])]);
        assert_eq!(values("1999-00"), [(1999.0, vec![]), (0.0, vec![2000.0])]);
    }
}
