//! Charts drawn on the server as inline SVG: no script, no inline style
//! (colours come from `style.css` classes), every text escaped. A chart is
//! bars over a time line, one group per bucket, one bar per series.

use super::html::escape;
use std::fmt::Write;

/// The drawing's size in SVG units; the page scales it to its width.
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 150.0;
/// Room on the left for the y axis' label, and below for the time labels.
const LEFT: f64 = 30.0;
const BOTTOM: f64 = 18.0;

/// One series of a chart: its name (in the legend and each bar's tooltip),
/// its CSS class, and one value per bucket.
pub(crate) struct Series<'a> {
    /// Shown in the legend.
    pub(crate) name: &'a str,
    /// The `style.css` class giving its colour (`series-1`, `series-2`).
    pub(crate) class: &'a str,
    /// One value per bucket, oldest first.
    pub(crate) values: Vec<f64>,
}

/// A bar chart titled `title` over buckets labelled `labels` (a few are
/// written under the axis), its y axis in `unit`.
pub(crate) fn bars(title: &str, unit: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let count = labels.len().max(1);
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let scale = if top > 0.0 { top } else { 1.0 };
    let plot = HEIGHT - BOTTOM;
    let slot = (WIDTH - LEFT) / count as f64;
    let bar = slot / series.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure class="chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}"><title>{label}</title>"#,
        label = escape(title)
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{plot}" x2="{WIDTH}" y2="{plot}"/><text class="tick" x="{x}" y="10" text-anchor="end">{top}</text><text class="tick" x="{x}" y="{plot}" text-anchor="end">0</text>"#,
        x = LEFT - 4.0,
        top = escape(&format_value(top)),
    );
    for (index, label) in labels.iter().enumerate() {
        if index % 36 == 0 {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{x:.1}" y="{y}">{text}</text>"#,
                x = LEFT + slot * index as f64,
                y = HEIGHT - 4.0,
                text = escape(label)
            );
        }
    }
    for (position, one) in series.iter().enumerate() {
        for (index, value) in one.values.iter().enumerate() {
            if *value <= 0.0 {
                continue;
            }
            let height = (value / scale * (plot - 12.0)).max(1.0);
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{height:.2}"><title>{label}: {name} {value} {unit}</title></rect>"#,
                class = escape(one.class),
                x = LEFT + slot * index as f64 + bar * position as f64,
                y = plot - height,
                w = bar,
                label = escape(labels.get(index).map(String::as_str).unwrap_or_default()),
                name = escape(one.name),
                value = escape(&format_value(*value)),
                unit = escape(unit),
            );
        }
    }
    svg.push_str("</svg><figcaption>");
    let _ = write!(svg, "{} ({}) ", escape(title), escape(unit));
    for one in series {
        let _ = write!(
            svg,
            r#"<span class="legend {}">{}</span> "#,
            escape(one.class),
            escape(one.name)
        );
    }
    svg.push_str("</figcaption></figure>");
    svg
}

/// A value as written on a chart: whole numbers without decimals.
fn format_value(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_escapes_its_texts_and_draws_one_bar_per_nonzero_value() {
        let labels = vec!["10:00".to_owned(), "<b>".to_owned()];
        let chart = bars(
            "Jobs <script>",
            "jobs",
            &labels,
            &[Series {
                name: "applied & more",
                class: "series-1",
                values: vec![0.0, 3.0],
            }],
        );
        assert_eq!(chart.matches("<rect ").count(), 1);
        assert!(chart.contains("Jobs &lt;script&gt;"));
        assert!(chart.contains("&lt;b&gt;: applied &amp; more 3 jobs"));
        assert!(!chart.contains("<script"));
        assert!(!chart.contains("style="));
    }
}
