//! The labelled cleaning set in `tests/fixtures/cleaning` (its README gives the format):
//! reading it, and scoring `saar::text::clean` against its labels. Shared by the
//! cleaning test and `cargo bench --bench cleaning`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use saar::text::{clean, normalize};

/// A labelled span of an article: junk of a category, or content (`None`).
#[derive(Debug, Clone)]
pub struct Segment {
    pub range: Range<usize>,
    pub junk: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Article {
    pub name: String,
    pub text: String,
    pub segments: Vec<Segment>,
}

pub fn set_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cleaning")
}

/// Every article of the set, in file-name order.
pub fn load_set() -> Vec<Article> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(set_dir())
        .expect("the cleaning set exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let source = std::fs::read_to_string(path).expect("a UTF-8 article");
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            parse(&name, &source)
        })
        .collect()
}

/// Builds the article text (normalized as `prepare` would) and its labelled spans.
pub fn parse(name: &str, source: &str) -> Article {
    let mut article = Article {
        name: name.to_string(),
        text: String::new(),
        segments: Vec::new(),
    };
    for (number, line) in source.lines().enumerate() {
        let at = |what: &str| format!("{name}:{}: {what}: {line:?}", number + 1);
        if line.starts_with('#') {
            continue;
        }
        if let Some(content) = line.strip_prefix("+ ") {
            article.push(content, None);
        } else if let Some(junk) = line.strip_prefix("- [") {
            let (category, text) = junk
                .split_once("] ")
                .unwrap_or_else(|| panic!("{}", at("no `] `")));
            article.push(text, Some(category));
        } else if let Some(mixed) = line.strip_prefix("~ ") {
            let mut rest = mixed;
            while let Some(open) = rest.find('⟦') {
                article.push(&rest[..open], None);
                let close = rest
                    .find('⟧')
                    .unwrap_or_else(|| panic!("{}", at("unclosed ⟦")));
                let (category, text) = rest[open + '⟦'.len_utf8()..close]
                    .split_once('|')
                    .unwrap_or_else(|| panic!("{}", at("no `|` in ⟦…⟧")));
                article.push(text, Some(category));
                rest = &rest[close + '⟧'.len_utf8()..];
            }
            article.push(rest, None);
        } else if !line.is_empty() {
            panic!("{}", at("a line must start with `+ `, `- [`, `~ ` or `#`"));
        }
        article.text.push('\n');
    }
    article
}

impl Article {
    fn push(&mut self, text: &str, junk: Option<&str>) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(&normalize(text));
        self.segments.push(Segment {
            range: start..self.text.len(),
            junk: junk.map(str::to_string),
        });
    }
}

/// Counts of labelled spans and what the cleaner did to them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub junk: usize,
    pub junk_removed: usize,
    pub content: usize,
    /// Content spans that lost any letter.
    pub content_damaged: usize,
}

impl Tally {
    /// Of the spans the cleaner touched, the share that were junk.
    pub fn precision(&self) -> f64 {
        ratio(self.junk_removed, self.junk_removed + self.content_damaged)
    }

    /// Of the junk spans, the share removed completely.
    pub fn recall(&self) -> f64 {
        ratio(self.junk_removed, self.junk)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// The set's figures overall and per junk category, and every mistake, described.
#[derive(Debug, Default)]
pub struct Score {
    pub articles: usize,
    pub overall: Tally,
    pub by_category: BTreeMap<String, Tally>,
    pub mistakes: Vec<String>,
}

pub fn score(articles: &[Article]) -> Score {
    let mut score = Score {
        articles: articles.len(),
        ..Score::default()
    };
    for article in articles {
        let mut removed = vec![false; article.text.len()];
        for removal in clean(&article.text).removed {
            removed[removal.range]
                .iter_mut()
                .for_each(|byte| *byte = true);
        }
        for segment in &article.segments {
            let text = &article.text[segment.range.clone()];
            let letters: Vec<bool> = text
                .char_indices()
                .filter(|(_, c)| !c.is_whitespace())
                .map(|(offset, _)| removed[segment.range.start + offset])
                .collect();
            let all_gone = letters.iter().all(|&gone| gone);
            let any_gone = letters.iter().any(|&gone| gone);
            match &segment.junk {
                Some(category) => {
                    let tally = score.by_category.entry(category.clone()).or_default();
                    for tally in [tally, &mut score.overall] {
                        tally.junk += 1;
                        tally.junk_removed += usize::from(all_gone);
                    }
                    if !all_gone {
                        score
                            .mistakes
                            .push(format!("{}: kept {category}: {text:?}", article.name));
                    }
                }
                None => {
                    score.overall.content += 1;
                    score.overall.content_damaged += usize::from(any_gone);
                    if any_gone {
                        score
                            .mistakes
                            .push(format!("{}: removed content: {text:?}", article.name));
                    }
                }
            }
        }
    }
    score
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = self.overall;
        writeln!(
            f,
            "{} articles, {} junk spans, {} content spans: precision {:.3} ({} content spans damaged), recall {:.3} ({} of {} junk spans removed)",
            self.articles, o.junk, o.content, o.precision(), o.content_damaged, o.recall(), o.junk_removed, o.junk
        )?;
        for (category, tally) in &self.by_category {
            writeln!(
                f,
                "  {category:<13} recall {:.3} ({}/{})",
                tally.recall(),
                tally.junk_removed,
                tally.junk
            )?;
        }
        for mistake in &self.mistakes {
            writeln!(f, "  mistake: {mistake}")?;
        }
        Ok(())
    }
}
