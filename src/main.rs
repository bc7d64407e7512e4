//! The `markhound` binary: parses arguments and hands them to the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
