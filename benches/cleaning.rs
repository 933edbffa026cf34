//! Prints how well `saar::text::clean` removes page furniture from the labelled set in
//! tests/fixtures/cleaning (precision and recall overall and per junk category, and
//! every mistake), then how fast it cleans. `cargo bench --bench cleaning`.

#[path = "../tests/text/labelled.rs"]
mod labelled;

use std::time::Instant;

fn main() {
    let articles = labelled::load_set();
    print!("{}", labelled::score(&articles));
    let bytes: usize = articles.iter().map(|a| a.text.len()).sum();
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for article in &articles {
            std::hint::black_box(saar::text::clean(std::hint::black_box(&article.text)));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "speed: {:.1} MB/s ({} bytes cleaned {rounds} times in {secs:.2} s)",
        (bytes * rounds) as f64 / secs / 1e6,
        bytes
    );
}
