//! The `saar` binary: two thin doors onto the library, the command line (`src/cli`)
//! and the HTTP server (`src/serve`).

mod cli;
mod serve;

fn main() -> std::process::ExitCode {
    cli::main()
}
