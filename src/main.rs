//! The `saar` binary: a thin shell over [`saar::cli`]-style code in `src/cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
