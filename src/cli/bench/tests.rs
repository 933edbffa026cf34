//! How `saar bench` turns its lists into rows.

use clap::Parser;

use super::*;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

fn work(args: &[&str]) -> anyhow::Result<Vec<Work>> {
    let cli = Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))?;
    llm_work(&cli.bench, Path::new("model.gguf"), "auto")
}

/// (prompt tokens, sequences) of each row; 0 sequences for a one-sequence row.
fn lengths(rows: &[Work]) -> Vec<(usize, usize)> {
    rows.iter()
        .map(|work| match work {
            Work::Llm { prompt_tokens, .. } => (*prompt_tokens, 0),
            Work::Sequences {
                prompt_tokens,
                sequences,
                ..
            } => (*prompt_tokens, *sequences),
            Work::Marian { .. } => (0, 0),
        })
        .collect()
}

#[test]
fn a_prompt_list_gives_a_row_per_length_and_sequence_count() {
    assert_eq!(lengths(&work(&[]).unwrap()), [(512, 0)]);
    let rows = work(&["--prompt-tokens", "512,2048,4096"]).unwrap();
    assert_eq!(lengths(&rows), [(512, 0), (2048, 0), (4096, 0)]);
    let rows = work(&["--prompt-tokens", "128,256", "--sequences", "1,4"]).unwrap();
    assert_eq!(lengths(&rows), [(128, 1), (128, 4), (256, 1), (256, 4)]);
    let refused = work(&["--prompt-tokens", "512,0"]).unwrap_err();
    assert!(refused.to_string().contains("at least 1"), "{refused}");
}
