//! Word-level phrases that make one quantity or one date out of several tokens:
//! "twenty-five", "1,200-crore", साढ़े तीन / सवा सौ, "a million", "two and a half", "half a million",
//! and a month beside its day ("15 August", "Aug. 15", "15th of August", "15 अगस्त").

use super::tokens::{as_num, is_integer, joined, tok, Num, Tok, TokKind};

/// "twenty-five", "twenty five".
pub(crate) fn compound_words(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let tens = as_num(toks.get(i))
            .filter(|n| n.word && n.value >= 20.0 && n.value <= 90.0 && n.value % 10.0 == 0.0);
        let hyphen = matches!(
            toks.get(i + 1),
            Some(Tok {
                kind: TokKind::Connector { hyphen: true },
                ..
            })
        );
        let unit_at = if hyphen { i + 2 } else { i + 1 };
        let units = as_num(toks.get(unit_at))
            .filter(|n| n.word && (1.0..=9.0).contains(&n.value) && n.value.fract() == 0.0);
        if let (Some(tens), Some(units)) = (tens, units) {
            let num = Num {
                value: tens.value + units.value,
                unit: 1.0,
                word: true,
                int_digits: 0,
            };
            out.push(tok(TokKind::Num(num), joined(&toks[i], &toks[unit_at])));
            i = unit_at + 1;
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// "Rs 1,200-crore project", "a 5-lakh grant": a hyphen between a number and its scale
/// is not a range.
pub(crate) fn hyphenated_scales(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        let between = matches!(t.kind, TokKind::Connector { hyphen: true })
            && i > 0
            && as_num(toks.get(i - 1)).is_some()
            && matches!(kind_at(&toks, i + 1), Some(TokKind::Scale(_)));
        if !between {
            out.push(t.clone());
        }
    }
    out
}

fn kind_at(toks: &[Tok], i: usize) -> Option<&TokKind> {
    toks.get(i).map(|t| &t.kind)
}

fn exact(value: f64) -> Num {
    Num {
        value,
        unit: 0.0,
        word: true,
        int_digits: 0,
    }
}

/// साढ़े तीन = 3.5, सवा सौ = 125 (सवा before a scale shifts an implied 1), "a million",
/// "two and a half", "half a million". Leftover modifiers, articles and "half" end
/// any quantity: on their own they state no number.
pub(crate) fn modifiers_articles_halves(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match &t.kind {
            TokKind::Modifier(shift) => match kind_at(&toks, i + 1) {
                Some(TokKind::Num(n)) => {
                    let num = Num {
                        value: n.value + shift,
                        ..exact(0.0)
                    };
                    out.push(tok(TokKind::Num(num), joined(t, &toks[i + 1])));
                    i += 2;
                    continue;
                }
                Some(TokKind::Scale(_)) => {
                    out.push(tok(TokKind::Num(exact(1.0 + shift)), t.span.clone()));
                }
                _ => out.push(tok(TokKind::Break, t.span.clone())),
            },
            TokKind::Article => match kind_at(&toks, i + 1) {
                Some(TokKind::Scale(_)) => out.push(tok(
                    TokKind::Num(Num {
                        value: 1.0,
                        unit: 1.0,
                        word: true,
                        int_digits: 0,
                    }),
                    t.span.clone(),
                )),
                _ => out.push(tok(TokKind::Break, t.span.clone())),
            },
            TokKind::Half => {
                let half_a_scale = matches!(kind_at(&toks, i + 1), Some(TokKind::Article))
                    && matches!(kind_at(&toks, i + 2), Some(TokKind::Scale(_)));
                if half_a_scale {
                    out.push(tok(TokKind::Num(exact(0.5)), joined(t, &toks[i + 1])));
                    i += 2;
                    continue;
                }
                out.push(tok(TokKind::Break, t.span.clone()));
            }
            TokKind::Num(n) => {
                let and_a_half = matches!(kind_at(&toks, i + 1), Some(TokKind::And))
                    && matches!(kind_at(&toks, i + 2), Some(TokKind::Article))
                    && matches!(kind_at(&toks, i + 3), Some(TokKind::Half));
                if and_a_half {
                    out.push(tok(
                        TokKind::Num(exact(n.value + 0.5)),
                        joined(t, &toks[i + 3]),
                    ));
                    i += 4;
                    continue;
                }
                out.push(t.clone());
            }
            _ => out.push(t.clone()),
        }
        i += 1;
    }
    out
}

/// A whole number that can be the day of a month.
fn day_of_month(t: Option<&Tok>) -> Option<u8> {
    as_num(t)
        .filter(|n| is_integer(n) && (1.0..=31.0).contains(&n.value))
        .map(|n| n.value as u8)
}

/// Joins a month name with its day on either side. A month that needs a number (May,
/// Aug) and has none beside it is an ordinary word.
pub(crate) fn month_dates(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let TokKind::Month {
            month,
            needs_number,
        } = t.kind
        else {
            out.push(t.clone());
            i += 1;
            continue;
        };
        // "Aug. 15": the abbreviation's period sits between month and day.
        let after = if matches!(kind_at(&toks, i + 1), Some(TokKind::Dot))
            && as_num(toks.get(i + 2)).is_some()
        {
            i + 2
        } else {
            i + 1
        };
        let not_scaled = !matches!(kind_at(&toks, after + 1), Some(TokKind::Scale(_)));
        if let (Some(day), true) = (day_of_month(toks.get(after)), not_scaled) {
            out.push(tok(TokKind::Date { month, day }, joined(t, &toks[after])));
            i = after + 1;
            continue;
        }
        // "15 August", "15th of August": the day is already in `out`.
        let day_before = day_of_month(out.last());
        let of_day_before =
            matches!(out.last().map(|t| &t.kind), Some(TokKind::Of)) && out.len() >= 2;
        if let Some(day) = day_before {
            let start = out.pop().map_or(t.span.start, |d| d.span.start);
            date_range_start(&mut out, month);
            out.push(tok(TokKind::Date { month, day }, start..t.span.end));
        } else if let (true, Some(day)) = (
            of_day_before,
            out.len()
                .checked_sub(2)
                .and_then(|j| day_of_month(out.get(j))),
        ) {
            out.pop();
            let start = out.pop().map_or(t.span.start, |d| d.span.start);
            out.push(tok(TokKind::Date { month, day }, start..t.span.end));
        } else if needs_number && as_num(toks.get(after)).is_none() {
            out.push(tok(TokKind::Break, t.span.clone()));
        } else {
            out.push(t.clone());
        }
        i += 1;
    }
    out
}

/// "15-16 अगस्त", "10 से 12 अगस्त": the first day of a range shares the month.
fn date_range_start(out: &mut [Tok], month: u8) {
    let n = out.len();
    if n < 2 || !matches!(out[n - 1].kind, TokKind::Connector { .. }) {
        return;
    }
    if let Some(day) = day_of_month(out.get(n - 2)) {
        out[n - 2].kind = TokKind::Date { month, day };
    }
}
