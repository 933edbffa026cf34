//! The command line: parsing, validation into typed settings, printing, exit codes.
//! The only place that prints to the terminal.

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
