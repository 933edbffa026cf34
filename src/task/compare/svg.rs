//! Grouped bar charts as inline SVG, written by hand: two small charts do not justify
//! plotters and its font stack (a long compile on every build machine), and hand-written
//! SVG stays text the HTML report can embed and a test can read.

use std::fmt::Write;

use super::html::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 36.0;
const TICKS: usize = 5;

/// Colours that stay apart for the colour-blind (Okabe–Ito).
pub(super) const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// One bar per series in each group; `series` are (name, one value per group).
pub(super) fn grouped_bars(
    title: &str,
    groups: &[&str],
    series: &[(String, Vec<f64>)],
    unit: &str,
) -> String {
    let top_value = series
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let axis_max = nice_ceiling(top_value);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y_of = |v: f64| TOP + plot_h - (v.clamp(0.0, axis_max) / axis_max) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{label}">"#,
        label = escape(title)
    );
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="16" class="chart-title">{}</text>"#,
        escape(title)
    );
    for tick in 0..=TICKS {
        let v = axis_max * tick as f64 / TICKS as f64;
        let y = y_of(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" class="tick">{v}</text>"##,
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            v = format_tick(v)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="12" y="{y:.1}" transform="rotate(-90 12 {y:.1})" text-anchor="middle" class="tick">{}</text>"#,
        escape(unit),
        y = TOP + plot_h / 2.0
    );
    let group_w = plot_w / groups.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / series.len().max(1) as f64;
    for (g, group) in groups.iter().enumerate() {
        let group_x = LEFT + g as f64 * group_w + group_w * 0.1;
        for (s, (name, values)) in series.iter().enumerate() {
            let value = values.get(g).copied().unwrap_or(0.0);
            let value = if value.is_finite() { value } else { 0.0 };
            let x = group_x + s as f64 * bar_w;
            let y = y_of(value);
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{t}</title></rect>"#,
                w = (bar_w - 2.0).max(1.0),
                h = TOP + plot_h - y,
                c = PALETTE[s % PALETTE.len()],
                t = escape(&format!("{name}, {group}: {}", format_tick(value)))
            );
            let _ = write!(
                svg,
                r#"<text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" class="value">{v}</text>"#,
                cx = x + bar_w / 2.0 - 1.0,
                ty = y - 3.0,
                v = format_tick(value)
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" class="group">{}</text>"#,
            escape(group),
            cx = LEFT + g as f64 * group_w + group_w / 2.0,
            ty = HEIGHT - BOTTOM + 18.0
        );
    }
    svg.push_str(&legend(series));
    svg.push_str("</svg>");
    svg
}

fn legend(series: &[(String, Vec<f64>)]) -> String {
    let mut out = String::new();
    let mut x = LEFT;
    for (s, (name, _)) in series.iter().enumerate() {
        let shown: String = name.chars().take(40).collect();
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="24" width="10" height="10" fill="{c}"/><text x="{tx:.1}" y="33" class="legend">{n}</text>"#,
            c = PALETTE[s % PALETTE.len()],
            tx = x + 14.0,
            n = escape(&shown)
        );
        x += 24.0 + 7.0 * shown.chars().count() as f64;
    }
    out
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value` (1 for nothing).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * power)
}

fn format_tick(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_rounds_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(17.0), 20.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
    }

    #[test]
    fn taller_values_draw_taller_bars() {
        let svg = grouped_bars(
            "t",
            &["g"],
            &[("a".into(), vec![10.0]), ("b".into(), vec![20.0])],
            "u",
        );
        let heights: Vec<f64> = svg
            .split("<rect ")
            .filter(|r| r.contains("<title>"))
            .map(|r| {
                let h = r.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(heights.len(), 2);
        assert!((heights[1] - 2.0 * heights[0]).abs() < 0.2, "{heights:?}");
    }
}
